#include "replay/price_lines.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <stdexcept>

#include "replay/json_fields.h"
#include "schemas/decimal_text.h"

namespace liql {
namespace {

using Json = nlohmann::json;

constexpr unsigned kPriceDecimals = 18;  // SPEC §8: prices in units of 10^-18

uint64_t unsigned_field(const Json& object, const std::string& name, uint64_t max) {
  const auto it = object.find(name);
  if (it == object.end()) refuse(name, "missing");
  return unsigned_value(*it, name, max);
}

// The price, exactly: a decimal string > 0 with at most 18 decimals.
Int price_field(const Json& object) {
  const auto it = object.find("price");
  if (it == object.end()) refuse("price", "missing");
  if (!it->is_string()) refuse("price", "expected a decimal string like \"2000.5\"");
  const std::string text = it->get<std::string>();
  std::string reason;
  const auto decimal = parse_decimal_text(text, &reason);
  if (!decimal) refuse("price", reason);
  if (decimal->scale > kPriceDecimals) {
    refuse("price", "\"" + text + "\" has more than " + std::to_string(kPriceDecimals) + " decimals");
  }
  std::optional<Int> units;
  try {
    units = parse_units(decimal->canonical, kPriceDecimals);
  } catch (const std::overflow_error&) {
    refuse("price", "\"" + text + "\" is out of range");
  }
  if (!units) refuse("price", "\"" + text + "\" is not a decimal number");
  if (units->sign() <= 0) refuse("price", "\"" + text + "\" must be greater than 0");
  return *units;
}

}  // namespace

bool parse_price_lines(std::string_view text, std::vector<PriceLineRecord>* lines, InputError* error,
                       const std::function<bool(const PriceLineRecord&, InputError*)>& check) {
  lines->clear();
  uint64_t last_ts = 0;
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    Json object;
    if (!parse_json_object(line, line_number, &object, error)) return false;
    try {
      const auto type = object.find("type");
      if (type == object.end()) refuse("type", "missing");
      if (!type->is_string() || type->get<std::string>() != "price") {
        refuse("type", "expected \"price\" (a price file holds price lines only), got " + type->dump());
      }
      for (const auto& item : object.items()) {
        const std::string& key = item.key();
        if (key != "type" && key != "ts" && key != "asset" && key != "market" && key != "price" &&
            key != "publish_ts") {
          refuse(key, "unknown field for a price line");
        }
      }
      PriceLineRecord record;
      record.line = line_number;
      record.ts = unsigned_field(object, "ts", std::numeric_limits<uint64_t>::max());
      const bool has_asset = object.contains("asset");
      if (has_asset == object.contains("market")) refuse(has_asset ? "market" : "asset", "exactly one of asset and market");
      record.market = !has_asset;
      record.id = static_cast<uint32_t>(
          unsigned_field(object, has_asset ? "asset" : "market", std::numeric_limits<uint32_t>::max()));
      record.price = price_field(object);
      record.publish_ts = object.contains("publish_ts")
                              ? unsigned_field(object, "publish_ts", std::numeric_limits<uint64_t>::max())
                              : record.ts;
      if (record.publish_ts > record.ts) refuse("publish_ts", "after the line's ts (" + std::to_string(record.ts) + ")");
      if (record.ts < last_ts) {
        refuse("ts", std::to_string(record.ts) + " is before the previous line's " + std::to_string(last_ts) +
                         " (ts never decreases)");
      }
      last_ts = record.ts;
      record.text = std::string(line);
      if (check && !check(record, error)) return false;
      lines->push_back(std::move(record));
    } catch (const Refusal& refusal) {
      *error = InputError{line_number, refusal.field, refusal.message};
      return false;
    }
  }
  return true;
}

}  // namespace liql
