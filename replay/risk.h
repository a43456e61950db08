#pragma once
// `liqledger risk`: for every account and every instrument it holds, the exact
// price at which its maintenance health crosses 0, all other prices fixed
// (docs/WHATIF.md, "risk", is the normative description of every figure).
//
// Why it is exact, without a search. Taken before its single rounding (SPEC
// §3), H_maint is linear in each price (engine/keeper.h): over the common
// denominator D = 10^dmax · WAD² (dmax the largest decimals / base_decimals of
// the account's instruments) every term has an integer numerator,
//   token  (b of asset a ≠ 0, decimals d, maint weight w):  b·P·10^qd·w·10^(dmax−d)
//   quote  (b of asset 0):                                  b·D
//   perp   ((B, Q) in market m, base decimals bd, maint margin mm):
//          (B·WAD − |B|·mm)·P·10^qd·10^(dmax−bd) + Q·D
// so with N = Σ numerators at the current prices (N = D · the unrounded
// H_maint) and S_j the coefficient of P_j, instrument j crosses at
// P*_j = P_j − N / S_j, a move of (P*_j − P_j) / P_j = −N / (S_j · P_j).
// One evaluation of N per account, one division per instrument.
//
// Integers only (Wide, checked 512-bit); accounts in ascending id order.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/int.h"
#include "engine/keeper.h"
#include "engine/state.h"
#include "replay/labels.h"

namespace liql {

// "2.5" → 2.5·10^18: a positive decimal with at most 18 fractional digits,
// parsed exactly; nullopt for anything else.
std::optional<Int> parse_percent(std::string_view text);

// ---- the pass -------------------------------------------------------------------------

// One account and one instrument it holds.
struct RiskLine {
  AccountId account = 0;
  Instrument instrument;
  std::optional<Int> price;  // WAD-scaled; null when the instrument never had one
  // WAD-scaled, rounded toward `price`. Null when no positive price crosses
  // (S = 0 or P* ≤ 0), when the account holds an unpriced instrument, or on
  // overflow.
  std::optional<Wide> crossing;
  // With a crossing: the exact move in percent, 100·(P* − P)/P =
  // move_num / move_den (move_den > 0), and its text (4 digits toward 0).
  Wide move_num = 0, move_den = 1;
  std::string move_pct;
  std::optional<AccountStatus> status;  // the engine's (rounded H); null when unpriced or when it overflows
  bool overflow = false;                // a figure exceeded 512 bits (Int for the status): crossing null
};

struct AccountRisk {
  AccountId id = 0;
  std::vector<RiskLine> lines;  // assets other than the quote asset ascending, then markets ascending
  // The line with the smallest |move| among those with a crossing (ties: the
  // first in line order); nullopt when none has one.
  std::optional<size_t> nearest;
  bool liquidatable = false;  // the engine's H_maint < 0 (LIQUIDATABLE or BANKRUPT)
};

// REQUIRES state.account(id) != nullptr and a genesis.
AccountRisk account_risk(const State& state, AccountId id);

// The liquidation map: per instrument, bucket k ∈ [−50, 49] (a move in
// [k %, (k+1) %)) → the current |value| / |notional| in quote base units of
// the holdings, in that instrument, of the accounts not liquidatable now whose
// crossing for it falls there. Buckets[k + 50].
inline constexpr int kMapLowestBucket = -50;
inline constexpr size_t kMapBuckets = 100;
using LiquidationMap = std::map<Instrument, std::array<Wide, kMapBuckets>>;

struct RiskOptions {
  std::optional<Int> within;  // percent, WAD-scaled (parse_percent)
  size_t nearest_count = 20;  // how many of the nearest accounts the summary keeps
  uint64_t progress = 0;      // a line on stderr every `progress` accounts (0: none)
};

struct RiskSummary {
  uint64_t seq = 0, ts = 0;
  uint64_t accounts = 0;      // every account of the state
  uint64_t with_lines = 0;    // holding at least one instrument
  uint64_t unpriced = 0;      // holding an instrument that never had a price
  uint64_t liquidatable = 0;  // H_maint < 0 now
  // The nearest line of each account not liquidatable now, by |move| then
  // account id: the first nearest_count of them, and with `within` every one
  // with |move| ≤ within.
  std::vector<RiskLine> nearest;
  std::vector<RiskLine> within;
  LiquidationMap map;
};

// One pass over the accounts in ascending id order; `visit` (if set) gets
// each account holding at least one instrument, in that order. Nothing fails:
// a line whose crossing is beyond the integers is marked `overflow`.
RiskSummary risk_pass(const State& state, const RiskOptions& options,
                      const std::function<void(const AccountRisk&)>& visit = {});

// {"account","instrument","price","crossing_price","move_pct","status"} and
// "overflow":true when it applies.
std::string risk_json_line(const RiskLine& line, const AccountLabels& labels = {});
// The same columns and "overflow" (true/false); null is an empty field.
std::string risk_csv_header(const AccountLabels& labels = {});
std::string risk_csv_line(const RiskLine& line, const AccountLabels& labels = {});
// `liqledger risk --format table`.
// With labels, the account is shown by its label (table) or gains an
// "address" (JSON) / a last "address" column (CSV).
std::string risk_table(const State& state, const RiskSummary& summary, const RiskOptions& options,
                       const AccountLabels& labels = {});

}  // namespace liql
