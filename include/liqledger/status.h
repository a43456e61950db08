#pragma once
// liqledger public API: errors.
//
// Every library call that can fail returns a liql::Status (never an
// exception): `is_ok()`, `code()` (InvalidArgument, Corruption, IOError,
// NotFound, Internal), `message()` and `to_string()`. A corrupt record's
// status names its seq; so does an Internal one from a replay (an event the
// state machine could not process: the state is that of the event before).

#include "schemas/status.h"  // liql::Status
