#pragma once
// liqledger public API: the deterministic state machine and its state.
//
//   liql::Machine machine;                       // a fresh state
//   liql::Outcome out;
//   liql::Status status = machine.apply(event, seq, &out);
//   const liql::State& state = machine.state();  // accounts, markets, assets, globals
//
// An event the rules refuse is not an error: out.reason says why
// (out.applied() is false). A non-OK status is: an event no log can hold
// (InvalidArgument) or one the machine could not process (Internal: a bug,
// memory exhausted); the state is then exactly as before the event. A liquidation's audit facts are in out.audit
// (<liqledger/audit.h>). Amounts are liql::Int (256-bit fixed point, base
// units); liql::to_string(Int) prints one exactly.

#include "engine/int.h"      // liql::Int, to_string, format_units
#include "engine/machine.h"  // liql::Machine
#include "engine/outcome.h"  // liql::Outcome, LiquidationAudit
#include "engine/state.h"    // liql::State
#include "engine/types.h"    // ids, liql::Verdict, verdict_name, Reason
