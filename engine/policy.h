#pragma once
// Liquidation rules: how much of a liquidatable account a liquidation may
// close. SPEC §5.3's three policies (partial, full, close_factor) are what
// enforce and observe mode judge against; the what-if lab (docs/WHATIF.md)
// pins any rule, including rules of other venues that the protocol cannot
// choose. Every rule is one small object behind this interface, in its own
// file under engine/rules/; a new venue's rule is a new file there and one
// line in make_rule(), never an edit of the state machine.
//
// A rule only sizes. What is required (s*, r*), the cap of a seizure, the
// transfers, the penalty split and the close-out stay in engine/liquidation
// and the machine, the same for every rule.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/health.h"

namespace liql {

// A perp liquidation to be sized (SPEC §5.1).
struct PerpCase {
  const State& state;
  const Account& account;
  MarketId market;
  const Int& abs_base;  // |base| of the position
  const Health& maint;  // the account's H_maint and its parts (for HF_maint)
  const Int& required;  // s*
};

// A token liquidation to be sized (SPEC §5.2).
struct TokenCase {
  const State& state;
  const Account& account;
  AssetId liability;
  AssetId collateral;
  const Int& abs_debt;  // |b_L|
  const Health& maint;
  const Int& required;  // r*
  const Int& cap;       // min(|b_L|, r_max_C) ≥ 1
};

class LiquidationRule {
 public:
  virtual ~LiquidationRule() = default;
  // The canonical spelling, as make_rule() reads it back ("close_factor:0.5:0.95").
  virtual std::string name() const = 0;
  // The allowed size: perp in base units of the market, in [1, |base|];
  // token in base units of the liability, in [1, cap].
  virtual Int perp_allowed(const PerpCase& c) const = 0;
  virtual Int token_allowed(const TokenCase& c) const = 0;
  // Rules with a memory (a cooldown per account). The what-if keeper asks
  // before it liquidates an account at `ts` and tells the rule afterwards;
  // `closed`: the liquidated position (or debt) is gone.
  virtual bool ready(AccountId /*account*/, uint64_t /*ts*/) const { return true; }
  virtual void liquidated(AccountId /*account*/, uint64_t /*ts*/, bool /*closed*/) {}
  // A fresh copy with an empty memory (one per what-if variant).
  virtual std::unique_ptr<LiquidationRule> clone() const = 0;
};

// The protocol's policy in force (SPEC §5.3) as a rule.
std::unique_ptr<LiquidationRule> rule_for(const Policy& policy);

// Reads a rule's spelling: partial, full, close_factor:CF:HF, aave-v3.3[:T:M],
// chunked:F:COOLDOWN_S[:THRESHOLD] (docs/WHATIF.md). nullptr with *error
// naming what is wrong for anything else.
std::unique_ptr<LiquidationRule> make_rule(std::string_view spec, std::string* error);

// roundup_lot(cdiv(|base| · fraction, WAD)) capped at |base| (SPEC §5.1's close-factor size).
Int perp_fraction(const State& state, MarketId market, const Int& abs_base, const Int& fraction);
// cdiv(|b_L| · fraction, WAD) capped at `cap` (SPEC §5.2's close-factor size).
Int token_fraction(const Int& abs_debt, const Int& fraction, const Int& cap);

}  // namespace liql
