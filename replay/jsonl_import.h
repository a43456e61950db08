#pragma once
// The input boundary (SPEC §6.2, §8): JSON Lines → Event buffers.
//
// A malformed line, an unknown field or type, a number with more decimals than
// its asset allows, a negative amount, an id out of range, a decreasing ts, a
// missing or second genesis, or a genesis with invalid parameters is refused
// with an error naming the line and the field. The importer keeps track of
// what earlier lines of the same batch list, so a deposit may follow the
// listing of its asset in one file.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/state.h"

namespace liql {

struct InputError {
  size_t line = 0;
  std::string field;  // empty when the line as a whole is at fault
  std::string message;
  std::string to_string() const;
};

class JsonlImporter {
 public:
  // `head` is the state after the log's last event (its genesis, the
  // listings' decimals and the ts of the head).
  explicit JsonlImporter(const State& head);

  // Parses one line; blank lines are skipped. On refusal returns false and
  // fills *error; the importer must then be discarded.
  bool add_line(std::string_view text, size_t line_number, InputError* error);

  // The Event buffers accepted so far, and the line each came from.
  const std::vector<std::string>& events() const { return events_; }
  const std::vector<size_t>& line_numbers() const { return line_numbers_; }

 private:
  friend class LineParser;

  bool genesis_seen_ = false;
  uint64_t last_ts_ = 0;
  FlatMap<AssetId, uint32_t> asset_decimals_;    // listed or listed by this batch
  FlatMap<MarketId, uint32_t> market_decimals_;  // likewise
  std::vector<std::string> events_;
  std::vector<size_t> line_numbers_;
};

}  // namespace liql
