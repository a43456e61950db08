// full (SPEC §5.3, binary liquidation): the whole position, or the whole cap
// of a seizure, whatever the account needed.
#include "engine/rules/rules.h"

namespace liql {
namespace {

class Full final : public LiquidationRule {
 public:
  std::string name() const override { return "full"; }
  Int perp_allowed(const PerpCase& c) const override { return c.abs_base; }
  Int token_allowed(const TokenCase& c) const override { return c.cap; }
  std::unique_ptr<LiquidationRule> clone() const override { return std::make_unique<Full>(); }
};

}  // namespace

std::unique_ptr<LiquidationRule> full_rule() { return std::make_unique<Full>(); }

}  // namespace liql
