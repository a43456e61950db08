#pragma once
// The deterministic state machine (SPEC §4, §5): applies one event at a time.
// It never reads a clock (time arrives in the events), never uses floating
// point, and iterates only ordered containers where order reaches the state.

#include <memory>

#include "engine/commitment.h"
#include "engine/outcome.h"
#include "engine/policy.h"
#include "liqledger_generated.h"
#include "schemas/status.h"

namespace liql {

class Machine {
 public:
  Machine() = default;
  explicit Machine(State state) : state_(std::move(state)) {}

  // Applies `event` as the event with sequence number `seq`, into *outcome.
  // OK: the event was applied, or rejected by the rules (outcome->reason says
  // which). A rejected event leaves the state as it was except seq and ts; so
  // does one whose arithmetic overflows (ARITHMETIC_OVERFLOW).
  // Not OK: nothing happened, the state is exactly as it was (seq and ts
  // included) and *outcome is untouched:
  //   InvalidArgument: an event no log can hold, given through this API: a
  //     ts before state().ts, or a price whose publish_ts is after its ts
  //     (the input boundary and the ledger refuse both).
  //   Internal: a step threw what no rule expects (a bug such as a
  //     std::out_of_range, std::bad_alloc); the message names seq, the event
  //     type and the exception. The machine may be used on, from that state.
  // REQUIRES seq > state().seq (checked: LIQL_ASSERT): seq + 1 when replaying
  // a log, larger when the what-if lab skips the log's liquidations. Event 1
  // is genesis and only event 1 (the input boundary and the log reader
  // guarantee it; a machine without genesis rejects anything else).
  Status apply(const fb::Event& event, uint64_t seq, Outcome* outcome);
  // The same for callers that build every event they apply (tests, benches,
  // the market generator), to whom a non-OK status is a broken invariant: it
  // is printed and LIQL_ASSERTed. Anything that applies events from outside
  // (a log, a file, a user) uses the Status form.
  Outcome apply(const fb::Event& event, uint64_t seq);

  const State& state() const { return state_; }

  // A hint for a replay loop: given the event after the one it is about to
  // apply, starts loading the accounts that event names into the cache.
  // Reads the state, changes nothing.
  void prefetch(const fb::Event& event) const;

  // Conservation and the perp zero-sum (SPEC §7.4) checked around every
  // event, a broken one a LIQL_ASSERT: on from the start in Debug builds
  // (LIQL_CHECK_INVARIANTS), and turned on by the fuzz targets. For the whole
  // process; the checks cost O(accounts) per event, so Release leaves them off.
  static void set_invariant_checks(bool on);
  static bool invariant_checks();

  // ---- the what-if lab (docs/WHATIF.md) ----
  // From now on every liquidation is sized by `rule` instead of the
  // protocol's policy in force (set_protocol still changes the state's policy).
  void pin_rule(std::shared_ptr<const LiquidationRule> rule) { pinned_ = std::move(rule); }
  // Applies an action of the backstop keeper (liquidate_perp, liquidate_token,
  // absorb, or a price that moves an instrument's effective price) at the
  // current seq: sized and checked as in enforce mode whatever the mode, except
  // that the liquidator's health and its balance going negative are not
  // checked. REQUIRES event.ts() == state().ts. Fails as apply() does.
  Status apply_keeper(const fb::Event& event, Outcome* outcome);

 private:
  Status run(const fb::Event& event, uint64_t seq, bool keeper, Outcome* outcome);

  State state_;
  std::shared_ptr<const LiquidationRule> pinned_;
};

}  // namespace liql
