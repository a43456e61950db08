// chunked:F:COOLDOWN_S[:THRESHOLD] (what-if only, Hyperliquid-style): a
// position whose notional |notional(base)| is above THRESHOLD (default 100,000
// quote units) is liquidated at most F of it at a time (lot-rounded up), and
// the account then waits COOLDOWN_S seconds before the next liquidation; at or
// below the threshold it is liquidated whole. A token liquidation likewise on
// the debt's value value(|b_L|, L): cdiv(|b_L| · F, WAD) capped, else the cap.
// A liquidation that leaves the position (or debt) open starts the cooldown.
#include <map>

#include "engine/rules/rules.h"

namespace liql {
namespace {

class Chunked final : public LiquidationRule {
 public:
  Chunked(const Int& fraction, uint64_t cooldown_s, const Int& threshold)
      : fraction_(fraction), cooldown_s_(cooldown_s), threshold_(threshold) {}
  std::string name() const override {
    return "chunked:" + format_units(fraction_, 18) + ":" + std::to_string(cooldown_s_) + ":" +
           format_units(threshold_, 18);
  }
  Int perp_allowed(const PerpCase& c) const override {
    if (abs(notional(c.state, c.market, c.abs_base)) <= quote_threshold(c.state, threshold_)) return c.abs_base;
    return perp_fraction(c.state, c.market, c.abs_base, fraction_);
  }
  Int token_allowed(const TokenCase& c) const override {
    if (value(c.state, c.liability, c.abs_debt) <= quote_threshold(c.state, threshold_)) return c.cap;
    return token_fraction(c.abs_debt, fraction_, c.cap);
  }
  bool ready(AccountId account, uint64_t ts) const override {
    auto it = until_.find(account);
    return it == until_.end() || ts >= it->second;
  }
  void liquidated(AccountId account, uint64_t ts, bool closed) override {
    if (closed) {
      until_.erase(account);
    } else {
      until_[account] = ts + cooldown_s_ * 1'000'000;
    }
  }
  std::unique_ptr<LiquidationRule> clone() const override {
    return std::make_unique<Chunked>(fraction_, cooldown_s_, threshold_);
  }

 private:
  Int fraction_;
  uint64_t cooldown_s_;
  Int threshold_;
  std::map<AccountId, uint64_t> until_;  // ts (µs) from which the account may be liquidated again
};

}  // namespace

std::unique_ptr<LiquidationRule> chunked_rule(const Int& fraction, uint64_t cooldown_s, const Int& threshold) {
  return std::make_unique<Chunked>(fraction, cooldown_s, threshold);
}

}  // namespace liql
