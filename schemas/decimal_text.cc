#include "schemas/decimal_text.h"

namespace liql {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<DecimalText> parse_decimal_text(std::string_view text, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<DecimalText> {
    *error = why;
    return std::nullopt;
  };
  bool negative = false;
  size_t position = 0;
  if (position < text.size() && text[position] == '-') {
    negative = true;
    ++position;
  }
  const size_t integer_begin = position;
  while (position < text.size() && is_digit(text[position])) ++position;
  std::string_view integer = text.substr(integer_begin, position - integer_begin);
  if (integer.empty()) return fail("expected a decimal number like \"12.5\"");
  std::string_view fraction;
  if (position < text.size() && text[position] == '.') {
    ++position;
    const size_t fraction_begin = position;
    while (position < text.size() && is_digit(text[position])) ++position;
    fraction = text.substr(fraction_begin, position - fraction_begin);
    if (fraction.empty()) return fail("expected digits after the decimal point");
  }
  if (position != text.size()) return fail("expected a decimal number like \"12.5\"");

  while (integer.size() > 1 && integer.front() == '0') integer.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (integer.size() > kMaxIntegerDigits) return fail("number out of range");
  if (fraction.size() > kMaxFractionDigits) return fail("more than 36 decimals");

  DecimalText out;
  out.negative = negative && !(integer == "0" && fraction.empty());
  out.scale = static_cast<unsigned>(fraction.size());
  out.canonical.reserve(1 + integer.size() + 1 + fraction.size());
  if (out.negative) out.canonical.push_back('-');
  out.canonical.append(integer);
  if (!fraction.empty()) {
    out.canonical.push_back('.');
    out.canonical.append(fraction);
  }
  return out;
}

bool is_canonical_decimal(std::string_view text) {
  std::string error;
  auto parsed = parse_decimal_text(text, &error);
  return parsed && parsed->canonical == text;
}

}  // namespace liql
