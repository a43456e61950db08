// aave-v3.3[:THRESHOLD:LEFTOVER] (what-if only): Aave v3.3's liquidation size.
//
// Token liquidation of (L, C), values in quote base units at the stored prices
// (SPEC §1.1 value, rounded down), T = THRESHOLD (default 2,000 quote units),
// M = LEFTOVER (default 1,000):
//   debt_L = value(|b_L|, L), coll_C = value(b_C, C), debt_all = Σ value(|b|) over
//   the account's negative balances;
//   max = |b_L|; if coll_C ≥ T and debt_L ≥ T and HF_maint > 0.95 and
//   debt_L > ⌊debt_all / 2⌋, then max = the L units worth ⌊debt_all / 2⌋
//   (⌊⌊debt_all/2⌋ · 10^d_L · WAD / (P_L · 10^qd)⌋): the 50 % close factor
//   applies to the account's whole debt, as Aave's does;
//   allowed = min(max, cap); then the dust rule: when allowed < |b_L| and the
//   seizure ⌈seize_exact(allowed)⌉ < b_C, and what would be left is worth less
//   than M in debt (value(|b_L| − allowed, L)) or in collateral
//   (value(b_C − ⌈seize_exact(allowed)⌉, C)), the liquidation takes all: cap.
// Aave has no perps; a perp position gets the same rule on its notional N =
// |notional(base)|: half (lot-rounded up) when N ≥ T and HF_maint > 0.95, else
// all; all when what is left would be worth less than M.
#include "engine/liquidation.h"
#include "engine/rules/rules.h"

namespace liql {
namespace {

const Int& half() {
  static const Int value = wad() / 2;
  return value;
}

const Int& aave_hf() {  // CLOSE_FACTOR_HF_THRESHOLD = 0.95
  static const Int value = *parse_units("0.95", 18);
  return value;
}

class AaveV33 final : public LiquidationRule {
 public:
  AaveV33(const Int& threshold, const Int& leftover) : threshold_(threshold), leftover_(leftover) {}
  std::string name() const override {
    return "aave-v3.3:" + format_units(threshold_, 18) + ":" + format_units(leftover_, 18);
  }

  Int perp_allowed(const PerpCase& c) const override {
    const Int t = quote_threshold(c.state, threshold_);
    const Int m = quote_threshold(c.state, leftover_);
    if (abs(notional(c.state, c.market, c.abs_base)) < t || !health_factor_above(c.maint, aave_hf())) {
      return c.abs_base;
    }
    const Int allowed = perp_fraction(c.state, c.market, c.abs_base, half());
    if (allowed < c.abs_base && abs(notional(c.state, c.market, c.abs_base - allowed)) < m) return c.abs_base;
    return allowed;
  }

  Int token_allowed(const TokenCase& c) const override {
    const State& s = c.state;
    const Int t = quote_threshold(s, threshold_);
    const Int m = quote_threshold(s, leftover_);
    const Int held = c.account.balance(c.collateral);
    const Int debt_l = value(s, c.liability, c.abs_debt);
    const Int coll_c = value(s, c.collateral, held);
    Int debt_all = 0;
    for (const auto& [asset, balance] : c.account.balances) {
      if (balance.sign() < 0) debt_all += value(s, asset, abs(balance));
    }
    Int max = c.abs_debt;
    const Int half_debt = fdiv(debt_all, Int(2));
    if (coll_c >= t && debt_l >= t && health_factor_above(c.maint, aave_hf()) && debt_l > half_debt) {
      const unsigned d_l = s.assets.at(c.liability).params.decimals;
      max = narrow(fdiv(Wide(half_debt) * Wide(wad()) * pow10_wide(d_l),
                        Wide(asset_price(s, c.liability)) * pow10_wide(s.quote_decimals())));
    }
    Int allowed = max < c.cap ? max : c.cap;
    if (allowed.sign() < 1) allowed = Int(1);
    const Int seized = token_seizure(s, c.liability, c.collateral, allowed).ceil;
    if (allowed < c.abs_debt && seized < held &&
        (value(s, c.liability, c.abs_debt - allowed) < m || value(s, c.collateral, held - seized) < m)) {
      return c.cap;
    }
    return allowed;
  }

  std::unique_ptr<LiquidationRule> clone() const override { return std::make_unique<AaveV33>(*this); }

 private:
  Int threshold_;
  Int leftover_;
};

}  // namespace

std::unique_ptr<LiquidationRule> aave_v33_rule(const Int& threshold, const Int& leftover) {
  return std::make_unique<AaveV33>(threshold, leftover);
}

}  // namespace liql
