#pragma once
// The command line of a whole-program benchmark (liqledger_bench_run,
// liqledger_bench_import): bare switches (--keep) and --NAME VALUE pairs, each
// bound to a variable, read by hand. A bad flag or value ends the program
// (exit 1) with "PROGRAM: message" on stderr, naming it.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace liql::bench {

class FlagParser {
 public:
  // `usage` lists the flags, for the message about an unknown one.
  FlagParser(std::string program, std::string usage) : program_(std::move(program)), usage_(std::move(usage)) {}
  FlagParser(const FlagParser&) = delete;
  FlagParser& operator=(const FlagParser&) = delete;

  FlagParser& toggle(std::string name, bool* on) {
    flags_.push_back(Flag{std::move(name), on, nullptr});
    return *this;
  }
  FlagParser& number(std::string name, uint64_t* out) {
    return value(std::move(name), [this, out](const std::string& flag, const std::string& text) {
      *out = to_number(flag, text);
    });
  }
  FlagParser& number(std::string name, uint32_t* out) {
    return value(std::move(name), [this, out](const std::string& flag, const std::string& text) {
      *out = static_cast<uint32_t>(to_number(flag, text));
    });
  }
  FlagParser& text(std::string name, std::string* out) {
    return value(std::move(name), [out](const std::string&, const std::string& text) { *out = text; });
  }

  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string name = argv[i];
      const Flag* flag = find(name);
      if (flag != nullptr && flag->on != nullptr) {
        *flag->on = true;
        continue;
      }
      if (i + 1 >= argc) fail("missing value after " + name);
      const std::string text = argv[++i];
      if (flag == nullptr) fail("unknown flag " + name + " (expected " + usage_ + ")");
      flag->set(name, text);
    }
  }

  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
    std::exit(1);
  }

 private:
  using Setter = std::function<void(const std::string& flag, const std::string& text)>;
  struct Flag {
    std::string name;
    bool* on;    // a switch
    Setter set;  // a flag with a value
  };

  FlagParser& value(std::string name, Setter set) {
    flags_.push_back(Flag{std::move(name), nullptr, std::move(set)});
    return *this;
  }
  const Flag* find(const std::string& name) const {
    for (const Flag& flag : flags_) {
      if (flag.name == name) return &flag;
    }
    return nullptr;
  }
  uint64_t to_number(const std::string& flag, const std::string& text) const {
    char* end = nullptr;
    const unsigned long long parsed = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0') fail(flag + " expects a non-negative integer, got '" + text + "'");
    return parsed;
  }

  std::string program_, usage_;
  std::vector<Flag> flags_;
};

}  // namespace liql::bench
