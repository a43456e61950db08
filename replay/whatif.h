#pragma once
// The policy lab (docs/WHATIF.md): the log's exogenous events replayed under
// other liquidation rules, each variant with a backstop keeper that
// liquidates through the engine's own liquidation code, price impact of what
// the keeper sells, and the cascades that impact sets off. Deterministic:
// exact integers, ordered containers, one fixed order of every action.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/keeper.h"
#include "engine/policy.h"
#include "ledger/ledger.h"
#include "schemas/sha256.h"

namespace liql {

// The keeper's reserved account id; a log that uses it cannot be replayed with a keeper.
inline constexpr AccountId kKeeperAccount = ~AccountId{0};

// ---- price impact ------------------------------------------------------------

struct ImpactParams {
  Int depth;     // whole quote units (WAD-scaled) of notional that move the price by 1 % (> 0)
  Int recovery;  // percentage points (WAD-scaled) of outstanding impact that recover per second (≥ 0)
};

struct ImpactConfig {
  std::optional<ImpactParams> fallback;             // "default": every instrument not named
  std::map<Instrument, ImpactParams> instruments;   // "instruments": {"market:M"|"asset:X": …}
  uint32_t max_rounds = 16;                         // keeper rounds per event, the first included
  const ImpactParams* params(Instrument instrument) const;
};

// Parses an impact file (docs/WHATIF.md). false with *error naming the field.
bool parse_impact(std::string_view json, ImpactConfig* config, std::string* error);


// ---- results -----------------------------------------------------------------

struct InstrumentStats {
  Instrument instrument;
  std::string symbol;
  Int max_impact;        // largest |impact| reached, WAD-scaled fraction (0.03·WAD = 3 %)
  Int lowest_oracle;     // lowest oracle price of the log, WAD-scaled (0: never priced)
  Int lowest_effective;  // lowest effective price the variant applied
  Int highest_effective;
};

// One change of an instrument's price in a variant (an oracle update of the
// log or the keeper's impact), with the variant's running totals at that point.
struct SeriesPoint {
  uint64_t seq = 0;
  uint64_t ts = 0;
  Instrument instrument;
  Int oracle, effective;  // WAD-scaled prices
  Int closed_notional;    // cumulative, quote base units
  Int insurance_value;    // Σ insurance, valued in quote base units at the variant's prices
  Int bad_debt_value;     // Σ bad debt, likewise
  uint64_t liquidations = 0;  // cumulative
};

// One keeper liquidation, for the report's marks.
struct LiquidationMark {
  uint64_t seq = 0;
  uint64_t ts = 0;
  Instrument instrument;  // the market, or the collateral asset
  AccountId account = 0;
  Int closed_value;       // quote base units
  uint32_t round = 0;     // 0: set off by the log's event; ≥ 1: a cascade round
};

struct VariantResult {
  std::string policy;  // the rule's canonical spelling
  uint64_t liquidations = 0;
  uint64_t accounts_liquidated = 0;
  uint64_t accounts_kept_position = 0;
  uint64_t accounts_closed = 0;
  Int closed_notional;  // quote base units
  Int penalties;        // quote base units
  uint64_t bankruptcies = 0;  // accounts the keeper found BANKRUPT
  uint64_t close_outs = 0;    // SPEC §5.4 close-outs, after a liquidation or by absorb
  uint64_t absorbed = 0;
  std::map<AssetId, Int> bad_debt, insurance;  // base units of the asset, every listed asset
  Int bad_debt_value;                          // quote base units at the final prices
  std::vector<InstrumentStats> instruments;
  uint32_t max_cascade_depth = 0;
  uint64_t cascade_rounds = 0;      // rounds after the first, over all events
  uint64_t truncated_cascades = 0;  // events whose rounds hit max_rounds with work left
  Int user_equity;                  // Σ equity of every account but the keeper, final prices
  uint64_t exogenous_applied = 0, exogenous_rejected = 0, keeper_rejected = 0;
  Hash state_hash{};                // of the variant's final state
  std::vector<SeriesPoint> series;  // when WhatIfOptions::series
  std::vector<LiquidationMark> marks;
};

struct WhatIfResult {
  uint64_t seq = 0;  // the last log event replayed
  uint64_t ts = 0;
  std::map<AssetId, std::string> assets;  // symbols
  std::map<AssetId, unsigned> decimals;
  unsigned quote_decimals = 0;
  std::vector<VariantResult> variants;
};

struct WhatIfOptions {
  std::vector<std::string> policies;  // make_rule() spellings, in output order
  ImpactConfig impact;                // no instruments and no fallback: no impact
  uint64_t to_seq = ~uint64_t{0};
  bool series = false;
  bool progress = false;  // a line on stderr every ~10 % of the log
  // Called after every event a variant applied, the log's (keeper = false) and
  // the keeper's own (keeper = true), with the variant's state after it: for
  // tests that check invariants step by step.
  std::function<void(size_t variant, const fb::Event& event, const Outcome& outcome, const State& state, bool keeper)>
      observer;
};

// Runs every variant over one read of the log. InvalidArgument, before any
// variant runs, for no policy, an unknown policy, an empty ledger or an impact
// file naming an instrument the log never lists; InvalidArgument naming the
// seq for a log that uses the keeper's reserved account id, and for final
// figures that do not fit 256 bits; Corruption naming the seq as replay does;
// Internal (the seq and the event) when the engine faults, the variant's state
// that of the event before. *result is complete only when OK.
Status run_whatif(Ledger& ledger, const WhatIfOptions& options, WhatIfResult* result);

// `--format json`: {"variants":[{…}]}, amounts as integer strings in base units.
std::string whatif_json(const WhatIfResult& result);
// `--format csv`: a header and one row per variant.
std::string whatif_csv(const WhatIfResult& result);
// `--format table`: the side-by-side table, a column per variant.
std::string whatif_table(const WhatIfResult& result);
// `--series DIR`: one CSV per variant.
std::string series_csv(const VariantResult& variant);
// A file name for a variant's series: the policy with ':' → '_'.
std::string series_file_name(const VariantResult& variant);

}  // namespace liql
