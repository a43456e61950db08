#pragma once
// Errors cross the library boundary as a Status, never as exceptions.

#include <string>
#include <utility>

namespace liql {

class Status {
 public:
  enum class Code { Ok, InvalidArgument, Corruption, IOError, NotFound };

  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string message) { return Status(Code::InvalidArgument, std::move(message)); }
  static Status corruption(std::string message) { return Status(Code::Corruption, std::move(message)); }
  static Status io_error(std::string message) { return Status(Code::IOError, std::move(message)); }
  static Status not_found(std::string message) { return Status(Code::NotFound, std::move(message)); }

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
  }
  return message_;
}

}  // namespace liql
