#pragma once
// LIQL_ASSERT: an invariant the code relies on, checked in every build
// (Release included). A broken one is a bug, not bad input: the process stops
// with the condition, the file and the line, before a wrong state is written
// or hashed. Input from outside (a log line, a record on disk, a snapshot)
// never reaches one unchecked: it is refused or rejected with a reason first.

namespace liql {

[[noreturn]] void assertion_failed(const char* condition, const char* what, const char* file, int line);

}  // namespace liql

#define LIQL_ASSERT(condition, what) \
  ((condition) ? static_cast<void>(0) : ::liql::assertion_failed(#condition, what, __FILE__, __LINE__))
