#pragma once
// Decimal numbers as text (SPEC §8): "[-]digits[.digits]", parsed exactly,
// never through a double. The log stores the canonical form.

#include <optional>
#include <string>
#include <string_view>

namespace liql {

// Largest number of integer digits accepted anywhere: 10^78 > 2^256 already,
// so a longer number can never be a valid Int.
inline constexpr unsigned kMaxIntegerDigits = 78;
// Largest number of fractional digits any field accepts (decimals ≤ 36).
inline constexpr unsigned kMaxFractionDigits = 36;

struct DecimalText {
  std::string canonical;  // no leading zeros, no trailing fractional zeros, "0" for zero
  unsigned scale = 0;     // digits after the point in `canonical`
  bool negative = false;  // false for zero
};

// Parses `text`. On failure returns nullopt and sets *error to a short reason.
std::optional<DecimalText> parse_decimal_text(std::string_view text, std::string* error);

// True when `text` is already in canonical form (what the log must hold).
bool is_canonical_decimal(std::string_view text);

}  // namespace liql
