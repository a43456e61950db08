#pragma once
// A real price path for the synthetic market (`liqledger generate
// --price-path PRICES.jsonl`): a file of SPEC §8 `price` lines, e.g. what
// `liqledger import chainlink` writes.
//
// Each line is `{"type":"price","ts":T,"asset":A,"price":"2000.5","publish_ts":P}`
// (or "market" instead of "asset"; publish_ts optional, ≤ ts), ts non-decreasing,
// the price a decimal string > 0 with at most 18 decimals, parsed exactly.
// Blank lines are skipped. The instruments (asset A or market M) are told
// apart in order of first appearance: the first drives the generator's ETH,
// the second, if any, its BTC; the lines of any further instrument are
// checked like the others and otherwise ignored. See replay/generate.h for
// how the generator follows the path.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/int.h"
#include "replay/jsonl_import.h"

namespace liql {

// One SPEC §8 price line of a price file, checked (fields, price > 0 with at
// most 18 decimals, publish_ts ≤ ts, ts not decreasing from the line before).
struct PriceLineRecord {
  size_t line = 0;
  uint64_t ts = 0, publish_ts = 0;  // publish_ts defaults to ts
  bool market = false;              // else an asset
  uint32_t id = 0;
  Int price;                        // units of 10^-18, > 0
  std::string text;                 // the line as it was
};

// Every price line of a file (blank lines skipped); false with *error at the
// first refusal, naming the line and the field. `check`, when given, sees
// each line as it is read and may refuse it (fill the error, return false).
bool parse_price_lines(std::string_view text, std::vector<PriceLineRecord>* lines, InputError* error,
                       const std::function<bool(const PriceLineRecord&, InputError*)>& check = {});

struct RealPricePath {
  struct Point {
    uint32_t instrument = 0;  // 0: drives ETH, 1: drives BTC
    Int price;                // exact, in units of 10^-18 (SPEC §8 prices); > 0
  };
  // The driving instruments as the file names them ("asset 1", "market 2"): one or two.
  std::vector<std::string> instruments;
  // The driving instruments' lines, in file order (so in ts order).
  std::vector<Point> points;
};

// A point may be at most this many times its instrument's first price: the
// generator's market (makers, liquidators, insurance) is sized for moves of
// that order, and its integers stay far inside 256 bits.
inline constexpr uint64_t kMaxPathRatio = 1000;

// Parses the text of a price file. On refusal returns false and fills *error
// (the line, the field, the reason): a line that is not valid JSON or not a
// price line, a missing, unknown or malformed field, a price ≤ 0, with more than
// 18 decimals or more than kMaxPathRatio times its instrument's first price, a
// publish_ts after ts, a decreasing ts, or fewer than 2 points of the first
// instrument (then error->line is 0: the file as a whole).
bool parse_price_path(std::string_view text, RealPricePath* path, InputError* error);

// Reads and parses the file at `file`. On failure returns false and sets
// *message to "FILE: cannot read it" or "FILE: line N, field "F": reason".
bool read_price_path(const std::string& file, RealPricePath* path, std::string* message);

}  // namespace liql
