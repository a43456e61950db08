#pragma once
// Real history in (docs/IMPORT.md): an Aave v2/v3 Pool's decoded events and
// Chainlink rounds → a SPEC §8 observe-mode log that `liqledger append` reads.
//
// The model, in short (docs/IMPORT.md has every line of the mapping):
// * reserve i of MARKET.json becomes two assets: 2i+1 its supply (aToken,
//   weights = the liquidation threshold, bonus = Aave's bonus − 1) and 2i+2 its
//   variable debt (borrowable, liability weight 1), both priced by the
//   reserve's feed. With supply and debt apart, H_maint = Σ supply·P·LT −
//   Σ debt·P, which is < 0 exactly when Aave's health factor is < 1;
// * balances are scaled by the reserve indices with Aave's ray arithmetic;
//   before an event touches an account its balances are brought to the
//   current index with sync_balance (lazy accrual);
// * LiquidationCall is a recorded liquidate_token; DeficitCreated (v3.3) an
//   absorb when the engine would not close the account out by itself.
// Nothing is written on a refusal: the whole output is built first.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/int.h"
#include "replay/evm_input.h"

namespace liql {

enum class AaveRounding : uint8_t {
  HalfUp,       // v2, v3.0–v3.4: rayMul / rayDiv round half up
  Directional,  // v3.5+: TokenMath, each rounding in the protocol's favour
};

struct AaveReserve {
  std::string address, symbol;
  uint32_t decimals = 0;
  uint32_t ltv_bps = 0, liquidation_threshold_bps = 0, liquidation_bonus_bps = 10000, protocol_fee_bps = 0;
  std::string a_token;  // optional: its Transfer events to the treasury are protocol fees
  uint64_t max_oracle_age_s = 90000;
};

struct AaveFeed {
  std::string address;  // the aggregator (or proxy) whose rounds price the reserve
  size_t reserve = 0;   // index into reserves
  uint32_t decimals = 8;
};

struct AaveMarket {
  std::string quote_symbol = "USD";
  uint32_t quote_decimals = 8;
  std::string policy = "close_factor";  // the rule in force (SPEC §5.3)
  std::string close_factor = "0.5", full_liquidation_hf = "0.95";
  uint64_t seize_tolerance = 2;
  AaveRounding rounding = AaveRounding::HalfUp;
  std::string pool;      // optional: Pool events from another address are refused
  std::string treasury;  // optional: the aTokens' treasury (protocol fees)
  std::vector<AaveReserve> reserves;
  std::vector<AaveFeed> feeds;

  uint32_t supply_asset(size_t reserve) const { return static_cast<uint32_t>(2 * reserve + 1); }
  uint32_t debt_asset(size_t reserve) const { return static_cast<uint32_t>(2 * reserve + 2); }
};

// MARKET.json → AaveMarket; false with a message naming the field.
bool parse_aave_market(std::string_view json, AaveMarket* market, std::string* error);

struct ImportResult {
  std::string jsonl;                   // the log, one SPEC §8 line per '\n'
  uint64_t lines = 0;                  // lines in jsonl
  uint64_t events = 0;                 // input events converted
  std::vector<std::string> addresses;  // account id − 1 → address
  std::map<std::string, uint64_t> skipped;  // event name → count (known but not modelled, or --skip-unknown)
};

struct AaveImportOptions {
  bool skip_unknown = false;   // unknown event names become a count instead of an error
  const ImportInput* prices = nullptr;  // optional: price lines (import chainlink's output) merged by ts
};

// The whole log: genesis, the listings, then the converted events.
bool import_aave(const AaveMarket& market, const std::vector<ImportInput>& inputs, const AaveImportOptions& options,
                 ImportResult* result, ImportError* error);

// Price lines only (for the assets the config gives each feed's reserve),
// from AnswerUpdated logs or getRoundData dumps.
bool import_chainlink(const AaveMarket& market, const std::vector<ImportInput>& inputs, ImportResult* result,
                      ImportError* error);

// ---- Aave's ray arithmetic, exact (public for the tests) -------------------------

struct Ray {
  static const Int& one();  // 10^27
  static Int mul(const Int& a, const Int& b, Rounding rounding);  // a·b / RAY
  static Int div(const Int& a, const Int& b, Rounding rounding);  // a·RAY / b
  // Half up: ⌊(a·b + RAY/2) / RAY⌋ and ⌊(a·RAY + b/2) / b⌋.
  static Int mul_half_up(const Int& a, const Int& b);
  static Int div_half_up(const Int& a, const Int& b);
  // MathUtils: RAY + rate·Δt / year, and the three-term compounded interest.
  static Int linear_interest(const Int& rate, uint64_t seconds);
  static Int compounded_interest(const Int& rate, uint64_t seconds);
};

// A reserve's indices and rates as its last ReserveDataUpdated left them
// (`updated`: unix seconds), and Aave's getNormalizedIncome and
// getNormalizedDebt at a later time `now` (exactly the stored index when
// now ≤ updated).
struct AaveReserveIndex {
  Int liquidity_index = Ray::one(), borrow_index = Ray::one();
  Int liquidity_rate = 0, borrow_rate = 0;
  uint64_t updated = 0;

  Int income(uint64_t now) const;
  Int debt(uint64_t now) const;
};

}  // namespace liql
