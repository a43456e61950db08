#pragma once
// The base layer's error types, used by every layer above (engine/, ledger/,
// replay/, the CLI and the Python module). Errors cross a library boundary as
// a Status or a Result<T>, never as an exception; both are [[nodiscard]], so a
// dropped error is a compiler warning.

#include <optional>
#include <string>
#include <utility>

#include "schemas/assert.h"

namespace liql {

class [[nodiscard]] Status {
 public:
  // Internal: the library failed where no input is at fault (an exception a
  // step of the state machine did not expect, memory exhausted); the data is
  // intact and the operation may be retried, but not silently skipped.
  enum class Code { Ok, InvalidArgument, Corruption, IOError, NotFound, Internal };

  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string message) { return Status(Code::InvalidArgument, std::move(message)); }
  static Status corruption(std::string message) { return Status(Code::Corruption, std::move(message)); }
  static Status io_error(std::string message) { return Status(Code::IOError, std::move(message)); }
  static Status not_found(std::string message) { return Status(Code::NotFound, std::move(message)); }
  static Status internal(std::string message) { return Status(Code::Internal, std::move(message)); }

  bool is_ok() const { return code_ == Code::Ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::Ok;
  std::string message_;
};

inline std::string Status::to_string() const {
  switch (code_) {
    case Code::Ok: return "OK";
    case Code::InvalidArgument: return "invalid argument: " + message_;
    case Code::Corruption: return "corruption: " + message_;
    case Code::IOError: return "I/O error: " + message_;
    case Code::NotFound: return "not found: " + message_;
    case Code::Internal: return "internal error: " + message_;
  }
  return message_;
}

// A value or the Status that explains why there is none. `value()` on an
// error is a broken invariant (LIQL_ASSERT), not undefined behaviour.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(Status status) : status_(std::move(status)) { LIQL_ASSERT(!status_.is_ok(), "a Result made of an ok Status"); }

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { LIQL_ASSERT(is_ok(), "value() of an error Result"); return *value_; }
  const T& value() const& { LIQL_ASSERT(is_ok(), "value() of an error Result"); return *value_; }
  T&& value() && { LIQL_ASSERT(is_ok(), "value() of an error Result"); return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace liql
