#include "engine/int.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "schemas/assert.h"

namespace liql {
namespace {

template <typename T, size_t N>
std::array<T, N> make_powers() {
  std::array<T, N> powers;
  T value = 1;
  for (size_t i = 0; i < N; ++i) {
    powers[i] = value;
    if (i + 1 < N) value *= 10;
  }
  return powers;
}

const std::array<Int, 77>& int_powers() {
  static const auto powers = make_powers<Int, 77>();
  return powers;
}

const std::array<Wide, 154>& wide_powers() {
  static const auto powers = make_powers<Wide, 154>();
  return powers;
}

// Boost divides toward zero; with a positive divisor the remainder has the
// sign of the dividend, which says which way to step.
template <typename T>
T floor_div(const T& dividend, const T& divisor) {
  T quotient, remainder;
  boost::multiprecision::divide_qr(dividend, divisor, quotient, remainder);
  if (remainder.sign() < 0) quotient -= 1;
  return quotient;
}

template <typename T>
T ceil_div(const T& dividend, const T& divisor) {
  T quotient, remainder;
  boost::multiprecision::divide_qr(dividend, divisor, quotient, remainder);
  if (remainder.sign() > 0) quotient += 1;
  return quotient;
}

const Int& twos_max() {
  static const Int value = (Int(1) << 255) - 1;
  return value;
}

// ---- the native 128-bit fast path -------------------------------------------------
//
// Boost's checked 512-bit multiply and divide cost about 100 ns a term; most
// products in replay (a position's base times a price, a penalty times a
// share) are far below 2^127, where unsigned __int128 gives the same exact
// quotient and remainder in a few nanoseconds. Rounding is applied to the
// magnitude exactly as floor_div / ceil_div do to the truncated quotient.

__extension__ typedef unsigned __int128 U128;

// |value| when it fits 128 bits.
bool magnitude_128(const Int& value, U128* magnitude) {
  const auto& backend = value.backend();
  static_assert(sizeof(boost::multiprecision::limb_type) == 8, "64-bit limbs expected");
  if (backend.size() > 2) return false;
  U128 m = backend.limbs()[0];
  if (backend.size() == 2) m |= static_cast<U128>(backend.limbs()[1]) << 64;
  *magnitude = m;
  return true;
}

unsigned bit_length(U128 value) {
  const uint64_t high = static_cast<uint64_t>(value >> 64);
  if (high != 0) return 128 - static_cast<unsigned>(__builtin_clzll(high));
  const uint64_t low = static_cast<uint64_t>(value);
  return low == 0 ? 0 : 64 - static_cast<unsigned>(__builtin_clzll(low));
}

// |a·b| when it is below 2^127, with the sign of a·b.
bool product_127(const Int& a, const Int& b, U128* magnitude, bool* negative) {
  U128 x = 0, y = 0;
  if (!magnitude_128(a, &x) || !magnitude_128(b, &y)) return false;
  if (bit_length(x) + bit_length(y) > 127) return false;
  *magnitude = x * y;
  *negative = (a.sign() < 0) != (b.sign() < 0);
  return true;
}

enum class Round { Floor, Ceil };

// The signed quotient of ±magnitude / divisor (divisor > 0) rounded as asked.
Int round_quotient(U128 magnitude, bool negative, U128 divisor, Round round) {
  U128 quotient = magnitude / divisor;
  const bool inexact = magnitude - quotient * divisor != 0;
  // Toward −∞ a negative value's magnitude rounds up; toward +∞ a positive one's does.
  if (inexact && negative == (round == Round::Floor)) quotient += 1;
  Int result(quotient);
  return negative ? Int(-result) : result;
}

constexpr unsigned kMaxPow10_128 = 38;  // 10^38 < 2^127 ≤ 10^39

const std::array<U128, kMaxPow10_128 + 1>& pow10_128() {
  static const auto powers = [] {
    std::array<U128, kMaxPow10_128 + 1> out{};
    U128 value = 1;
    for (auto& power : out) {
      power = value;
      value *= 10;
    }
    return out;
  }();
  return powers;
}

std::optional<Int> muldiv_pow10_small(const Int& a, const Int& b, unsigned exponent, Round round) {
  U128 magnitude = 0;
  bool negative = false;
  if (!product_127(a, b, &magnitude, &negative)) return std::nullopt;
  if (exponent > kMaxPow10_128) {
    // |a·b| < 2^127 < 10^exponent: the quotient truncates to 0.
    if (magnitude == 0) return Int(0);
    return Int(negative == (round == Round::Floor) ? (negative ? -1 : 1) : 0);
  }
  return round_quotient(magnitude, negative, pow10_128()[exponent], round);
}

// Powers of ten to divide trailing zeros off by, largest first: a 64-bit
// division by a constant is a multiply and a shift.
struct ZeroStep {
  uint64_t power;
  unsigned digits;
};
constexpr ZeroStep kZeroSteps[] = {
    {10'000'000'000'000'000ULL, 16}, {100'000'000ULL, 8}, {10'000ULL, 4}, {100ULL, 2}, {10ULL, 1}};

// Step `step` of kZeroSteps with its power a compile-time constant, so that
// the remainder and the quotient are a multiply and a shift, not a division
// (a loop over kZeroSteps cost four hardware divisions per weight).
template <size_t step>
void strip_zero_step(uint64_t* value, unsigned* count, unsigned max_zeros) {
  constexpr uint64_t power = kZeroSteps[step].power;
  constexpr unsigned digits = kZeroSteps[step].digits;
  while (*count + digits <= max_zeros && *value % power == 0) {
    *value /= power;
    *count += digits;
  }
}

// value = *stripped · 10^*zeros, at most max_zeros zeros taken out, by the steps of kZeroSteps.
void strip_zeros_64(uint64_t value, unsigned max_zeros, uint64_t* stripped, unsigned* zeros) {
  static_assert(std::size(kZeroSteps) == 5);
  unsigned count = 0;
  if (value != 0) {
    strip_zero_step<0>(&value, &count, max_zeros);
    strip_zero_step<1>(&value, &count, max_zeros);
    strip_zero_step<2>(&value, &count, max_zeros);
    strip_zero_step<3>(&value, &count, max_zeros);
    strip_zero_step<4>(&value, &count, max_zeros);
  }
  *stripped = value;
  *zeros = count;
}

// value = mantissa · 10^zeros with every trailing decimal zero taken out.
struct Stripped {
  U128 mantissa;
  unsigned zeros;
};

Stripped strip_zeros_128(U128 value) {
  unsigned count = 0;
  // 128-bit remainders are library calls: only until the value fits 64 bits.
  for (const ZeroStep& step : kZeroSteps) {
    while ((value >> 64) != 0 && value % step.power == 0) {
      value /= step.power;
      count += step.digits;
    }
  }
  if ((value >> 64) == 0) {
    uint64_t low = 0;
    unsigned more = 0;
    strip_zeros_64(static_cast<uint64_t>(value), 64, &low, &more);
    value = low;
    count += more;
  }
  return Stripped{value, count};
}

// strip_zeros_128 of a price, remembered: a replay evaluates the same few
// prices thousands of times between two price updates. A pure function's
// cache, per thread: what it returns never depends on what it holds.
Stripped strip_price(U128 value) {
  struct Slot {
    U128 key = 0;
    Stripped value{0, 0};
    bool used = false;
  };
  thread_local std::array<Slot, 16> slots;
  const uint64_t mixed = static_cast<uint64_t>(value) ^ static_cast<uint64_t>(value >> 64);
  Slot& slot = slots[(mixed * 0x9E3779B97F4A7C15ULL) >> 60];
  if (!slot.used || slot.key != value) slot = Slot{value, strip_zeros_128(value), true};
  return slot.value;
}

std::optional<Int> muldiv3_pow10_small(const Int& a, const Int& b, const Int& c, unsigned exponent, Round round) {
  U128 ma = 0, mb = 0, mc = 0;
  if (c.sign() < 0 || !magnitude_128(a, &ma) || !magnitude_128(b, &mb) || !magnitude_128(c, &mc) ||
      (mc >> 64) != 0) {
    return std::nullopt;
  }
  // The ratio c (a weight or a margin, WAD-scaled) loses its decimal zeros
  // against 10^exponent first: 0.05 · WAD = 5 · 10^16.
  uint64_t c_stripped = 0;
  unsigned c_zeros = 0;
  strip_zeros_64(static_cast<uint64_t>(mc), std::min(exponent, 64u), &c_stripped, &c_zeros);
  exponent -= c_zeros;
  if (bit_length(ma) + bit_length(mb) + bit_length(c_stripped) > 127) {
    // Then b, a price: 2011.462 · WAD = 2011462 · 10^15.
    const Stripped b_stripped = strip_price(mb);
    if (b_stripped.zeros > exponent) return std::nullopt;
    mb = b_stripped.mantissa;
    exponent -= b_stripped.zeros;
    if (bit_length(ma) + bit_length(mb) + bit_length(c_stripped) > 127) return std::nullopt;
  }
  const U128 magnitude = ma * mb * c_stripped;
  const bool negative = magnitude != 0 && (a.sign() < 0) != (b.sign() < 0);
  if (exponent > kMaxPow10_128) {
    if (magnitude == 0) return Int(0);
    return Int(negative == (round == Round::Floor) ? (negative ? -1 : 1) : 0);
  }
  return round_quotient(magnitude, negative, pow10_128()[exponent], round);
}

Wide round_wide(const Wide& numerator, unsigned down, Round round) {
  return round == Round::Floor ? fdiv(numerator, pow10_wide(down)) : cdiv(numerator, pow10_wide(down));
}

// ⌊x·10^up / 10^down⌋ = ⌊x / 10^(down − up)⌋: the powers of ten cancel first.
Int muldiv_pow10(const Int& a, const Int& b, unsigned up, unsigned down, Round round) {
  if (down >= up) {
    if (auto fast = muldiv_pow10_small(a, b, down - up, round)) return *fast;
  }
  return narrow(round_wide(Wide(a) * Wide(b) * pow10_wide(up), down, round));
}

Int muldiv3_pow10(const Int& a, const Int& b, const Int& c, unsigned up, unsigned down, Round round) {
  if (down >= up) {
    if (auto fast = muldiv3_pow10_small(a, b, c, down - up, round)) return *fast;
  }
  return narrow(round_wide(Wide(a) * Wide(b) * pow10_wide(up) * Wide(c), down, round));
}

std::optional<Int> muldiv_small(const Int& a, const Int& b, const Int& c, Round round) {
  U128 divisor = 0;
  if (c.sign() <= 0 || !magnitude_128(c, &divisor) || bit_length(divisor) > 127) return std::nullopt;
  U128 magnitude = 0;
  bool negative = false;
  if (!product_127(a, b, &magnitude, &negative)) return std::nullopt;
  return round_quotient(magnitude, negative, divisor, round);
}

}  // namespace

const Int& pow10(unsigned exponent) { return int_powers().at(exponent); }
const Wide& pow10_wide(unsigned exponent) { return wide_powers().at(exponent); }
const Int& wad() { return pow10(18); }

// Every divisor of the engine is a constant, a listing parameter (lot_size > 0,
// powers of ten of bounded decimals) or built from prices (> 0): the event
// parsers and decode_state refuse anything else, so a divisor ≤ 0 here is a bug.
Int fdiv(const Int& dividend, const Int& divisor) {
  LIQL_ASSERT(divisor.sign() > 0, "fdiv: divisor > 0");
  return floor_div(dividend, divisor);
}
Int cdiv(const Int& dividend, const Int& divisor) {
  LIQL_ASSERT(divisor.sign() > 0, "cdiv: divisor > 0");
  return ceil_div(dividend, divisor);
}
Wide fdiv(const Wide& dividend, const Wide& divisor) {
  LIQL_ASSERT(divisor.sign() > 0, "fdiv: divisor > 0");
  return floor_div(dividend, divisor);
}
Wide cdiv(const Wide& dividend, const Wide& divisor) {
  LIQL_ASSERT(divisor.sign() > 0, "cdiv: divisor > 0");
  return ceil_div(dividend, divisor);
}

Int narrow(const Wide& value) { return Int(value); }

int compare_products(const Int& a, const Int& b, const Int& c, const Int& d) {
  U128 left = 0, right = 0;
  bool left_negative = false, right_negative = false;
  if (product_127(a, b, &left, &left_negative) && product_127(c, d, &right, &right_negative)) {
    // Signed magnitudes: zero has no sign, so compare (negative, magnitude) pairs.
    left_negative = left_negative && left != 0;
    right_negative = right_negative && right != 0;
    if (left_negative != right_negative) return left_negative ? -1 : 1;
    const int by_magnitude = left < right ? -1 : (left > right ? 1 : 0);
    return left_negative ? -by_magnitude : by_magnitude;
  }
  const Wide left_wide = Wide(a) * Wide(b), right_wide = Wide(c) * Wide(d);
  return left_wide < right_wide ? -1 : (left_wide > right_wide ? 1 : 0);
}

Int muldiv_floor(const Int& a, const Int& b, const Int& c) {
  LIQL_ASSERT(c.sign() > 0, "muldiv_floor: divisor > 0");
  if (auto fast = muldiv_small(a, b, c, Round::Floor)) return *fast;
  return narrow(floor_div(Wide(a) * Wide(b), Wide(c)));
}

Int muldiv_ceil(const Int& a, const Int& b, const Int& c) {
  LIQL_ASSERT(c.sign() > 0, "muldiv_ceil: divisor > 0");
  if (auto fast = muldiv_small(a, b, c, Round::Ceil)) return *fast;
  return narrow(ceil_div(Wide(a) * Wide(b), Wide(c)));
}

std::optional<Int> muldiv3_pow10_floor_small(const Int& a, const Int& b, const Int& c, unsigned exponent) {
  return muldiv3_pow10_small(a, b, c, exponent, Round::Floor);
}

std::optional<Int> muldiv3_pow10_ceil_small(const Int& a, const Int& b, const Int& c, unsigned exponent) {
  return muldiv3_pow10_small(a, b, c, exponent, Round::Ceil);
}

Int muldiv_pow10_floor(const Int& a, const Int& b, unsigned up, unsigned down) {
  return muldiv_pow10(a, b, up, down, Round::Floor);
}

Int muldiv_pow10_ceil(const Int& a, const Int& b, unsigned up, unsigned down) {
  return muldiv_pow10(a, b, up, down, Round::Ceil);
}

Int muldiv3_pow10_floor(const Int& a, const Int& b, const Int& c, unsigned up, unsigned down) {
  return muldiv3_pow10(a, b, c, up, down, Round::Floor);
}

Int muldiv3_pow10_ceil(const Int& a, const Int& b, const Int& c, unsigned up, unsigned down) {
  return muldiv3_pow10(a, b, c, up, down, Round::Ceil);
}

Int abs(const Int& value) { return value.sign() < 0 ? Int(-value) : value; }

bool fits_twos_complement_256(const Int& value) {
  // Magnitudes up to 2^255 − 1 on both sides, plus −2^255 itself.
  if (value.sign() >= 0) return value <= twos_max();
  return -value <= twos_max() + 1;
}

const Int& stored(const Int& value) {
  if (!fits_twos_complement_256(value)) throw std::overflow_error("value outside the 256-bit two's complement range");
  return value;
}

void encode_be32(const Int& value, uint8_t out[32]) {
  LIQL_ASSERT(fits_twos_complement_256(value), "a value is encoded only once it fits 32 bytes (stored())");
  // Boost keeps sign and magnitude; read the magnitude's 64-bit limbs
  // (little-endian order) and negate in two's complement where needed.
  static_assert(sizeof(boost::multiprecision::limb_type) == 8, "64-bit limbs expected");
  const auto& backend = value.backend();
  uint64_t limbs[4] = {0, 0, 0, 0};
  for (unsigned i = 0; i < backend.size() && i < 4; ++i) limbs[i] = backend.limbs()[i];
  if (backend.sign()) {
    uint64_t carry = 1;
    for (uint64_t& limb : limbs) {
      limb = ~limb + carry;
      carry = (carry == 1 && limb == 0) ? 1 : 0;
    }
  }
  for (int i = 0; i < 4; ++i) {
    const uint64_t limb = limbs[3 - i];
    for (int j = 0; j < 8; ++j) out[i * 8 + j] = static_cast<uint8_t>(limb >> (56 - 8 * j));
  }
}

Int decode_be32(const uint8_t in[32]) {
  const bool negative = (in[0] & 0x80) != 0;
  uint8_t magnitude[32];
  std::copy(in, in + 32, magnitude);
  if (negative) {
    // |v| = ~image + 1
    unsigned carry = 1;
    for (int i = 31; i >= 0; --i) {
      unsigned next = static_cast<uint8_t>(~magnitude[i]) + carry;
      magnitude[i] = static_cast<uint8_t>(next);
      carry = next >> 8;
    }
  }
  Int value;
  boost::multiprecision::import_bits(value, magnitude, magnitude + 32, 8, true);
  return negative ? Int(-value) : value;
}

std::optional<Int> parse_units(std::string_view text, unsigned decimals) {
  bool negative = false;
  size_t position = 0;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    position = 1;
  }
  uint64_t small = 0;
  unsigned small_digits = 0;
  Int value = 0;
  bool wide = false;
  unsigned scale = 0;
  bool seen_point = false;
  bool seen_digit = false;
  for (; position < text.size(); ++position) {
    const char c = text[position];
    if (c == '.') {
      if (seen_point || !seen_digit) return std::nullopt;
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    seen_digit = true;
    if (seen_point) ++scale;
    if (!wide && small_digits < 19) {
      small = small * 10 + static_cast<uint64_t>(c - '0');
      ++small_digits;
      continue;
    }
    if (!wide) {
      value = small;
      wide = true;
    }
    value = value * 10 + (c - '0');
  }
  if (!seen_digit || (seen_point && text.back() == '.')) return std::nullopt;
  if (scale > decimals || decimals > 76) return std::nullopt;
  if (!wide) value = small;
  value *= pow10(decimals - scale);
  if (negative) value = -value;
  return stored(value);  // what the state can hold (SPEC §7), else overflow
}

std::string format_units(const Int& units, unsigned decimals) {
  std::string digits = abs(units).str();
  if (digits.size() <= decimals) digits.insert(0, decimals + 1 - digits.size(), '0');
  std::string integer = digits.substr(0, digits.size() - decimals);
  std::string fraction = digits.substr(digits.size() - decimals);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  std::string out = units.sign() < 0 ? "-" : "";
  out += integer;
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

void to_limbs(const Int& value, uint64_t (&limbs)[4]) {
  const auto& backend = value.backend();
  for (unsigned i = 0; i < 4; ++i) limbs[i] = i < backend.size() ? backend.limbs()[i] : 0;
}

Int from_limbs(const uint64_t (&limbs)[4]) {
  Int value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 64) | Int(limbs[i]);
  return value;
}

Wide divide(const Wide& num, const Wide& den, Rounding rounding) {
  LIQL_ASSERT(den.sign() > 0, "divide: den > 0");
  switch (rounding) {
    case Rounding::Floor:
      return fdiv(num, den);
    case Rounding::Ceil:
      return cdiv(num, den);
    case Rounding::TowardZero:
      break;
  }
  return num / den;  // cpp_int's quotient truncates toward 0
}

std::string fixed_units(const Wide& units, unsigned digits) {
  std::string text = (units.sign() < 0 ? Wide(-units) : units).str();
  if (text.size() <= digits) text.insert(0, digits + 1 - text.size(), '0');
  if (digits != 0) text.insert(text.size() - digits, 1, '.');
  return units.sign() < 0 ? "-" + text : text;
}

std::string fixed_decimal(const Wide& num, const Wide& den, unsigned digits, Rounding rounding) {
  const Wide units = divide(num * pow10_wide(digits), den, rounding);
  const std::string text = fixed_units(units, digits);
  return units.is_zero() && num.sign() < 0 ? "-" + text : text;
}

int compare_fractions(Wide a, Wide b, Wide c, Wide d) {
  LIQL_ASSERT(a.sign() >= 0 && c.sign() >= 0, "compare_fractions: numerators ≥ 0");
  LIQL_ASSERT(b.sign() > 0 && d.sign() > 0, "compare_fractions: denominators > 0");
  // Compare the integer parts; when they are equal, a/b vs c/d has the sign of
  // (a mod b)/b vs (c mod d)/d, which is that of d/(c mod d) vs b/(a mod b).
  // The denominators shrink like Euclid's: a few steps.
  for (;;) {
    Wide qa, ra, qc, rc;
    boost::multiprecision::divide_qr(a, b, qa, ra);
    boost::multiprecision::divide_qr(c, d, qc, rc);
    if (qa != qc) return qa < qc ? -1 : 1;
    if (ra.is_zero() || rc.is_zero()) return ra.is_zero() == rc.is_zero() ? 0 : ra.is_zero() ? -1 : 1;
    Wide next_c = std::move(b);
    a = std::move(d);
    b = std::move(rc);
    c = std::move(next_c);
    d = std::move(ra);
  }
}

}  // namespace liql
