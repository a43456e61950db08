#include "replay/price_path.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

#include "schemas/decimal_text.h"

namespace liql {
namespace {

using Json = nlohmann::json;

constexpr unsigned kPriceDecimals = 18;  // SPEC §8: prices in units of 10^-18

// Thrown inside one line's parse; caught in parse_price_path.
struct Refusal {
  std::string field;
  std::string message;
};
[[noreturn]] void refuse(std::string field, std::string message) { throw Refusal{std::move(field), std::move(message)}; }

uint64_t unsigned_field(const Json& object, const std::string& name, uint64_t max) {
  const auto it = object.find(name);
  if (it == object.end()) refuse(name, "missing");
  if (!it->is_number_integer()) {
    refuse(name, it->is_number() ? "out of range (an integer from 0 to " + std::to_string(max) + ")"
                                 : "expected an integer");
  }
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max) {
    refuse(name, "out of range (an integer from 0 to " + std::to_string(max) + ")");
  }
  return it->get<uint64_t>();
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

bool parse_price_path(std::string_view text, RealPricePath* path, InputError* error) {
  *path = RealPricePath{};
  std::map<std::string, uint32_t> seen;  // instrument → index in order of first appearance
  std::vector<Int> first_price;          // per driving instrument
  uint64_t last_ts = 0;
  size_t line_number = 0;
  size_t first_instrument_points = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Json object;
    try {
      object = Json::parse(line);
    } catch (const Json::exception& e) {
      *error = InputError{line_number, "", std::string("malformed JSON: ") + e.what()};
      return false;
    }
    if (!object.is_object()) {
      *error = InputError{line_number, "", "expected a JSON object"};
      return false;
    }
    try {
      const auto type = object.find("type");
      if (type == object.end()) refuse("type", "missing");
      if (!type->is_string() || type->get<std::string>() != "price") {
        refuse("type", "expected \"price\" (a price path holds price lines only), got " + type->dump());
      }
      for (const auto& item : object.items()) {
        const std::string& key = item.key();
        if (key != "type" && key != "ts" && key != "asset" && key != "market" && key != "price" &&
            key != "publish_ts") {
          refuse(key, "unknown field for a price line");
        }
      }
      const uint64_t ts = unsigned_field(object, "ts", std::numeric_limits<uint64_t>::max());
      const bool has_asset = object.contains("asset");
      if (has_asset == object.contains("market")) refuse(has_asset ? "market" : "asset", "exactly one of asset and market");
      const char* kind = has_asset ? "asset" : "market";
      const uint64_t id = unsigned_field(object, kind, std::numeric_limits<uint32_t>::max());
      const Int price = price_field(object);
      if (object.contains("publish_ts") &&
          unsigned_field(object, "publish_ts", std::numeric_limits<uint64_t>::max()) > ts) {
        refuse("publish_ts", "after the line's ts (" + std::to_string(ts) + ")");
      }
      if (ts < last_ts) {
        refuse("ts", std::to_string(ts) + " is before the previous line's " + std::to_string(last_ts) +
                         " (ts never decreases)");
      }
      last_ts = ts;
      const std::string instrument = std::string(kind) + " " + std::to_string(id);
      const auto [it, added] = seen.emplace(instrument, static_cast<uint32_t>(seen.size()));
      const uint32_t index = it->second;
      if (index >= 2) continue;  // a third instrument: checked, not followed
      if (added) {
        path->instruments.push_back(instrument);
        first_price.push_back(price);
      }
      if (price > first_price[index] * kMaxPathRatio) {
        refuse("price", format_units(price, kPriceDecimals) + " is more than " + std::to_string(kMaxPathRatio) +
                            " times the first price of " + instrument + " (" +
                            format_units(first_price[index], kPriceDecimals) + ")");
      }
      path->points.push_back(RealPricePath::Point{index, price});
      first_instrument_points += index == 0;
    } catch (const Refusal& refusal) {
      *error = InputError{line_number, refusal.field, refusal.message};
      return false;
    }
  }
  if (first_instrument_points < 2) {
    *error = InputError{0, "",
                        first_instrument_points == 0
                            ? "no price lines (a price path needs at least 2 points)"
                            : "only 1 point of " + path->instruments[0] + " (a price path needs at least 2 points)"};
    return false;
  }
  return true;
}

bool read_price_path(const std::string& file, RealPricePath* path, std::string* message) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream buffer;
  if (in) buffer << in.rdbuf();
  if (!in || in.bad()) {
    *message = file + ": cannot read it";
    return false;
  }
  InputError error;
  if (!parse_price_path(buffer.str(), path, &error)) {
    *message = file + ": " + (error.line == 0 ? error.message : error.to_string());
    return false;
  }
  return true;
}

}  // namespace liql
