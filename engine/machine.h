#pragma once
// The deterministic state machine (SPEC §4, §5): applies one event at a time.
// It never reads a clock (time arrives in the events), never uses floating
// point, and iterates only ordered containers where order reaches the state.

#include "engine/commitment.h"
#include "engine/outcome.h"
#include "liqledger_generated.h"

namespace liql {

class Machine {
 public:
  Machine() = default;
  explicit Machine(State state) : state_(std::move(state)) {}

  // Applies `event` as the event with sequence number `seq`. A rejected event
  // leaves the state as it was except seq and ts; so does one whose arithmetic
  // overflows (ARITHMETIC_OVERFLOW).
  // REQUIRES seq == state().seq + 1, and event 1 is genesis and only event 1
  // (the input boundary and the log reader guarantee both).
  Outcome apply(const fb::Event& event, uint64_t seq);

  const State& state() const { return state_; }

 private:
  State state_;
};

}  // namespace liql
