#pragma once
// Files of SPEC §8 `price` lines, read exactly: what `liqledger import
// chainlink` writes, what `import aave --prices` merges into the events it
// imports, and what `liqledger generate --price-path` follows (tools/price_path.h).
//
// Each line is `{"type":"price","ts":T,"asset":A,"price":"2000.5","publish_ts":P}`
// (or "market" instead of "asset"; publish_ts optional, ≤ ts), ts non-decreasing,
// the price a decimal string > 0 with at most 18 decimals, parsed exactly.
// Blank lines are skipped.

#include <cstdint>
#include <functional>
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

}  // namespace liql
