#pragma once
// The deterministic state machine (SPEC §4, §5): applies one event at a time.
// It never reads a clock (time arrives in the events), never uses floating
// point, and iterates only ordered containers where order reaches the state.

#include <memory>

#include "engine/commitment.h"
#include "engine/outcome.h"
#include "engine/policy.h"
#include "liqledger_generated.h"

namespace liql {

class Machine {
 public:
  Machine() = default;
  explicit Machine(State state) : state_(std::move(state)) {}

  // Applies `event` as the event with sequence number `seq`. A rejected event
  // leaves the state as it was except seq and ts; so does one whose arithmetic
  // overflows (ARITHMETIC_OVERFLOW).
  // REQUIRES seq > state().seq (checked: LIQL_ASSERT): seq + 1 when replaying
  // a log, larger when the what-if lab skips the log's liquidations. Event 1
  // is genesis and only event 1 (the input boundary and the log reader
  // guarantee it; a machine without genesis rejects anything else).
  Outcome apply(const fb::Event& event, uint64_t seq);

  const State& state() const { return state_; }

  // ---- the what-if lab (docs/WHATIF.md) ----
  // From now on every liquidation is sized by `rule` instead of the
  // protocol's policy in force (set_protocol still changes the state's policy).
  void pin_rule(std::shared_ptr<const LiquidationRule> rule) { pinned_ = std::move(rule); }
  // Applies an action of the backstop keeper (liquidate_perp, liquidate_token,
  // absorb, or a price that moves an instrument's effective price) at the
  // current seq: sized and checked as in enforce mode whatever the mode, except
  // that the liquidator's health and its balance going negative are not
  // checked. REQUIRES event.ts() == state().ts.
  Outcome apply_keeper(const fb::Event& event);

 private:
  Outcome run(const fb::Event& event, bool keeper);

  State state_;
  std::shared_ptr<const LiquidationRule> pinned_;
};

}  // namespace liql
