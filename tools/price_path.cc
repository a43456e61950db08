#include "tools/price_path.h"

#include <array>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "schemas/decimal_text.h"

namespace liql {
namespace {

constexpr unsigned kPriceDecimals = 18;  // SPEC §8: prices in units of 10^-18

}  // namespace

bool parse_price_path(std::string_view text, RealPricePath* path, InputError* error) {
  *path = RealPricePath{};
  std::map<std::string, uint32_t> seen;  // instrument → index in order of first appearance
  std::vector<Int> first_price;          // per driving instrument
  size_t first_instrument_points = 0;
  std::vector<PriceLineRecord> lines;
  const bool parsed = parse_price_lines(text, &lines, error, [&](const PriceLineRecord& record, InputError* refusal) {
    const std::string instrument = std::string(record.market ? "market " : "asset ") + std::to_string(record.id);
    const auto [it, added] = seen.emplace(instrument, static_cast<uint32_t>(seen.size()));
    const uint32_t index = it->second;
    if (index >= 2) return true;  // a third instrument: checked, not followed
    if (added) {
      path->instruments.push_back(instrument);
      first_price.push_back(record.price);
    }
    if (record.price > first_price[index] * kMaxPathRatio) {
      *refusal = InputError{record.line, "price",
                            format_units(record.price, kPriceDecimals) + " is more than " +
                                std::to_string(kMaxPathRatio) + " times the first price of " + instrument + " (" +
                                format_units(first_price[index], kPriceDecimals) + ")"};
      return false;
    }
    path->points.push_back(RealPricePath::Point{index, record.price});
    first_instrument_points += index == 0;
    return true;
  });
  if (!parsed) return false;
  if (first_instrument_points < 2) {
    *error = InputError{0, "",
                        first_instrument_points == 0
                            ? "no price lines (a price path needs at least 2 points)"
                            : "only 1 point of " + path->instruments[0] + " (a price path needs at least 2 points)"};
    return false;
  }
  return true;
}

Status check_price_path(const RealPricePath& path) {
  const size_t instruments = path.instruments.size();
  if (instruments < 1 || instruments > 2) return Status::invalid_argument("price_path: one or two instruments");
  if (path.points.empty() || path.points.front().instrument != 0) {
    return Status::invalid_argument("price_path: the first point must be of the first instrument");
  }
  std::array<std::optional<Int>, 2> first;
  size_t first_instrument_points = 0;
  for (size_t k = 0; k < path.points.size(); ++k) {
    const RealPricePath::Point& point = path.points[k];
    const std::string where = "price_path: point " + std::to_string(k);
    if (point.instrument >= instruments) return Status::invalid_argument(where + ": an unknown instrument");
    if (point.price.sign() <= 0) return Status::invalid_argument(where + ": a price ≤ 0");
    if (!first[point.instrument]) first[point.instrument] = point.price;
    if (point.price > *first[point.instrument] * kMaxPathRatio) {
      return Status::invalid_argument(where + ": more than " + std::to_string(kMaxPathRatio) +
                                      " times its instrument's first price");
    }
    first_instrument_points += point.instrument == 0;
  }
  if (first_instrument_points < 2) {
    return Status::invalid_argument("price_path: fewer than 2 points of the first instrument");
  }
  return Status::ok();
}

Status read_price_path(const std::string& file, RealPricePath* path) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream buffer;
  if (in) buffer << in.rdbuf();
  if (!in || in.bad()) return Status::io_error(file + ": cannot read it");
  InputError error;
  if (!parse_price_path(buffer.str(), path, &error)) {
    return Status::invalid_argument(file + ": " + (error.line == 0 ? error.message : error.to_string()));
  }
  return Status::ok();
}

}  // namespace liql
