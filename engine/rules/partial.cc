// partial (SPEC §5.3, the default): close exactly what brings the account back
// to H_target ≥ 0 (s*, r*), nothing more.
#include "engine/rules/rules.h"

namespace liql {
namespace {

class Partial final : public LiquidationRule {
 public:
  std::string name() const override { return "partial"; }
  Int perp_allowed(const PerpCase& c) const override { return c.required; }
  Int token_allowed(const TokenCase& c) const override { return c.required; }
  std::unique_ptr<LiquidationRule> clone() const override { return std::make_unique<Partial>(); }
};

}  // namespace

std::unique_ptr<LiquidationRule> partial_rule() { return std::make_unique<Partial>(); }

}  // namespace liql
