#pragma once
// The rules make_rule() knows, one file each (engine/policy.h).
//   partial.cc, full.cc, close_factor.cc  SPEC §5.3, what the protocol may choose
//   aave_v33.cc, chunked.cc               other venues' rules, what-if only
// Ratios and thresholds are WAD-scaled (thresholds in whole quote units · WAD).

#include "engine/policy.h"

namespace liql {

std::unique_ptr<LiquidationRule> partial_rule();
std::unique_ptr<LiquidationRule> full_rule();
std::unique_ptr<LiquidationRule> close_factor_rule(const Int& close_factor, const Int& full_liquidation_hf);
std::unique_ptr<LiquidationRule> aave_v33_rule(const Int& threshold, const Int& leftover);
std::unique_ptr<LiquidationRule> chunked_rule(const Int& fraction, uint64_t cooldown_s, const Int& threshold);

// A whole-quote-unit threshold (WAD-scaled) in quote base units of `state`, rounded down.
Int quote_threshold(const State& state, const Int& threshold_wad);
// HF_maint > x, exactly: WAD · A > x · L (true when L = 0, HF = ∞).
bool health_factor_above(const Health& health, const Int& x);

}  // namespace liql
