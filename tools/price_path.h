#pragma once
// A real price path for the synthetic market (`liqledger generate
// --price-path PRICES.jsonl`): a file of SPEC §8 `price` lines
// (replay/price_lines.h), e.g. what `liqledger import chainlink` writes.
//
// The instruments (asset A or market M) are told apart in order of first
// appearance: the first drives the generator's ETH, the second, if any, its
// BTC; the lines of any further instrument are checked like the others and
// otherwise ignored. See tools/generate.h for how the generator follows the path.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/int.h"
#include "replay/jsonl_import.h"
#include "replay/price_lines.h"
#include "schemas/status.h"

namespace liql {

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

// What parse_price_path guarantees, for a path built by hand (generate_market
// checks it first): one or two instruments, a first point of the first one,
// every point of one of them, each price > 0 and at most kMaxPathRatio times
// its instrument's first, at least 2 points of the first instrument.
// InvalidArgument naming price_path (and the point) otherwise.
[[nodiscard]] Status check_price_path(const RealPricePath& path);

// Reads and parses the file at `file` into *path. IOError "FILE: cannot read
// it"; InvalidArgument "FILE: line N, field "F": reason" (or "FILE: reason"
// for the file as a whole).
[[nodiscard]] Status read_price_path(const std::string& file, RealPricePath* path);

}  // namespace liql
