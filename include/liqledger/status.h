#pragma once
// liqledger public API: errors.
//
// Every library call that can fail returns a liql::Status (never an
// exception): `is_ok()`, `code()` (InvalidArgument, Corruption, IOError,
// NotFound), `message()` and `to_string()`. A corrupt record's status names
// its seq.

#include "schemas/status.h"  // liql::Status
