// close_factor:CF:HF (SPEC §5.3, Aave before v3.3): everything when
// HF_maint < HF, else the close factor CF of the position (lot-rounded up) or
// of the debt, capped.
#include "engine/rules/rules.h"

namespace liql {
namespace {

class CloseFactor final : public LiquidationRule {
 public:
  CloseFactor(const Int& close_factor, const Int& full_hf) : close_factor_(close_factor), full_hf_(full_hf) {}
  std::string name() const override {
    return "close_factor:" + format_units(close_factor_, 18) + ":" + format_units(full_hf_, 18);
  }
  Int perp_allowed(const PerpCase& c) const override {
    if (health_factor_below(c.maint, full_hf_)) return c.abs_base;
    return perp_fraction(c.state, c.market, c.abs_base, close_factor_);
  }
  Int token_allowed(const TokenCase& c) const override {
    if (health_factor_below(c.maint, full_hf_)) return c.cap;
    return token_fraction(c.abs_debt, close_factor_, c.cap);
  }
  std::unique_ptr<LiquidationRule> clone() const override { return std::make_unique<CloseFactor>(*this); }

 private:
  Int close_factor_;
  Int full_hf_;
};

}  // namespace

std::unique_ptr<LiquidationRule> close_factor_rule(const Int& close_factor, const Int& full_liquidation_hf) {
  return std::make_unique<CloseFactor>(close_factor, full_liquidation_hf);
}

}  // namespace liql
