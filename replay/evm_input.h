#pragma once
// Decoded EVM logs, the input of `liqledger import` (docs/IMPORT.md).
//
// Two forms of the same events:
// * JSON Lines, one log per line:
//   {"block":N,"log_index":K,"timestamp":T,"address":"0x…","event":"Supply","args":{…}}
//   with the ABI's argument names; every uint256/int256 is a decimal string.
// * CSV as SQL warehouses export one event table: columns evt_block_number,
//   evt_index, evt_block_time (unix seconds or "YYYY-MM-DD HH:MM:SS[.fff][ UTC]"),
//   contract_address, then the arguments by name; the event's name comes from
//   an `event` column, else from the file name (`…_evt_Supply.csv`, `Supply.csv`).
// Chainlink `getRoundData` dumps (roundId, answer, startedAt, updatedAt,
// answeredInRound, and the feed's `address`) read in either form too; they
// carry no block and get the event name "getRoundData".
//
// Every file must be ordered by (block, log_index), strictly; several files
// are merged in that order. Errors name the file, the line and the field.

#include <boost/container/small_vector.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "engine/int.h"
#include "replay/jsonl_import.h"

namespace liql {

struct ImportError {
  std::string file;
  InputError error;
  std::string to_string() const { return file + ": " + error.to_string(); }
};

struct ImportInput {
  std::string name;  // a path, or "-" for stdin; errors name it
  std::string text;
};

// One decoded log. Its texts are views: into the input text, or into the
// strings an EvmLogs keeps for what had to be unescaped or rebuilt.
struct EvmLog {
  enum class Kind : uint8_t { String, Bool, Number, Other, Csv };
  struct Arg {
    std::string_view name;
    std::string_view text;  // a JSON string's value, "true"/"false", a JSON number's digits, or a CSV cell
    Kind kind = Kind::Other;
  };
  uint64_t block = 0, log_index = 0, timestamp = 0;  // timestamp in unix seconds
  std::string address;                               // lowercase 0x + 40 hex digits
  std::string_view event;
  boost::container::small_vector<Arg, 7> args;  // no Pool or feed event has more
  uint32_t file = 0;  // index into the inputs
  size_t line = 0;

  bool rounds() const { return event == "getRoundData"; }
  const Arg* find(std::string_view name) const;
};

// The logs of the inputs, in (block, log_index) order, and the strings their
// views point into when not into the inputs. REQUIRES the inputs outlive it.
struct EvmLogs {
  std::vector<EvmLog> logs;
  std::deque<std::string> strings;  // stable addresses
  std::string_view keep(std::string text) { return strings.emplace_back(std::move(text)); }
};

// Reads the typed arguments of one log; the first failure is kept in error()
// (naming the line and the argument) and later reads return zeros.
class ArgReader {
 public:
  ArgReader(const EvmLog& log, ImportError* error, const std::vector<ImportInput>& inputs)
      : log_(log), error_(error), inputs_(inputs) {}
  Int uint256(std::string_view name);
  Int int256(std::string_view name);
  std::string address(std::string_view name);
  bool boolean(std::string_view name, bool fallback);  // fallback when absent
  bool ok() const { return ok_; }
  bool fail(std::string_view field, const std::string& message);

 private:
  const EvmLog::Arg* need(std::string_view name);
  const EvmLog::Arg* decimal_text(std::string_view name, std::string_view type);
  const EvmLog& log_;
  ImportError* error_;
  const std::vector<ImportInput>& inputs_;
  bool ok_ = true;
};

// Reads every input (JSON Lines or CSV, told apart by the first non-blank
// character: '{' is JSON) and merges them by (block, log_index); round dumps
// keep their file order. False with *error at the first refusal.
bool read_evm_logs(const std::vector<ImportInput>& inputs, EvmLogs* logs, ImportError* error);

// "0x" + 40 hex digits, lowercased; nullopt otherwise.
std::optional<std::string> normalize_address(std::string_view text);
// A decimal uint256 ("0" … 2^256 − 1, digits only); nullopt otherwise.
std::optional<Int> parse_uint256(std::string_view text);

}  // namespace liql
