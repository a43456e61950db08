#pragma once
// Fixed-point integers (SPEC §1). No floating point anywhere in a decision.
//
// Int is Boost's checked_int256_t: every operation that would leave the
// 256-bit range throws std::overflow_error, which the state machine turns into
// ARITHMETIC_OVERFLOW. Products that may exceed 256 bits before a division are
// formed in Wide (checked 512-bit) and narrowed back, again checked.

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace liql {

using Int = boost::multiprecision::checked_int256_t;
using Wide = boost::multiprecision::checked_int512_t;

inline constexpr uint64_t kWad = 1'000'000'000'000'000'000ULL;  // 10^18

// 10^exponent; REQUIRES exponent ≤ 76 for Int, ≤ 153 for Wide (std::out_of_range
// otherwise: decimals are bounded by the listing rules, engine/params.h).
const Int& pow10(unsigned exponent);
const Wide& pow10_wide(unsigned exponent);
const Int& wad();

// Division with the rounding stated at the call site. REQUIRES divisor > 0
// (LIQL_ASSERT: every divisor the engine forms is > 0 by construction).
Int fdiv(const Int& dividend, const Int& divisor);  // ⌊a/b⌋, toward −∞
Int cdiv(const Int& dividend, const Int& divisor);  // ⌈a/b⌉, toward +∞
Wide fdiv(const Wide& dividend, const Wide& divisor);
Wide cdiv(const Wide& dividend, const Wide& divisor);

// ⌊a·b/c⌋ and ⌈a·b/c⌉ with the product formed exactly in 512 bits. REQUIRES c > 0
// (LIQL_ASSERT); throws std::overflow_error when the result does not fit Int.
// When |a·b| < 2^127 and c < 2^127 the same result comes from native 128-bit
// arithmetic (docs/PERFORMANCE.md): no overflow is possible there either way.
Int muldiv_floor(const Int& a, const Int& b, const Int& c);
Int muldiv_ceil(const Int& a, const Int& b, const Int& c);

// ⌊a·b·c/10^exponent⌋ and ⌈…⌉ in native 128-bit arithmetic, or nullopt (a
// fast path only), for a ratio c (a weight or a margin) below 2^64 and |a|,
// |b| below 2^128: the trailing decimal zeros of c, and when needed those of b
// (a price), cancel against 10^exponent first (0.05 · WAD = 5 · 10^16,
// 2011.462 · WAD = 2011462 · 10^15), and the rest of the product must stay
// below 2^127.
std::optional<Int> muldiv3_pow10_floor_small(const Int& a, const Int& b, const Int& c, unsigned exponent);
std::optional<Int> muldiv3_pow10_ceil_small(const Int& a, const Int& b, const Int& c, unsigned exponent);
// ⌊a·b·10^up / 10^down⌋, ⌊a·b·c·10^up / 10^down⌋ and their ⌈…⌉, exact: native
// 128-bit arithmetic when |a·b| (with c: the product above, after its decimal
// zeros) is below 2^127, otherwise the product formed in 512 bits, whose
// narrowing throws std::overflow_error when the result does not fit Int.
// REQUIRES up, down ≤ 76.
Int muldiv_pow10_floor(const Int& a, const Int& b, unsigned up, unsigned down);
Int muldiv_pow10_ceil(const Int& a, const Int& b, unsigned up, unsigned down);
Int muldiv3_pow10_floor(const Int& a, const Int& b, const Int& c, unsigned up, unsigned down);
Int muldiv3_pow10_ceil(const Int& a, const Int& b, const Int& c, unsigned up, unsigned down);

// a·b against c·d exactly (the products formed in 128 bits when they fit,
// in 512 otherwise: nothing can overflow): −1, 0 or +1.
int compare_products(const Int& a, const Int& b, const Int& c, const Int& d);

// Checked narrowing of a 512-bit result back to Int.
Int narrow(const Wide& value);

Int abs(const Int& value);

// The state only holds values that fit 32-byte two's complement (the canonical
// encoding of SPEC §7): [−2^255, 2^255 − 1]. `stored` throws std::overflow_error
// for anything outside, so such an event is rejected like any other overflow.
bool fits_twos_complement_256(const Int& value);
const Int& stored(const Int& value);

// 32-byte big-endian two's complement. REQUIRES fits_twos_complement_256(value)
// (LIQL_ASSERT: the state holds only values that do, see stored()).
void encode_be32(const Int& value, uint8_t out[32]);
Int decode_be32(const uint8_t in[32]);

// Canonical decimal text → base units: text · 10^decimals, exactly.
// nullopt when the text is malformed or has more than `decimals` fractional
// digits; throws std::overflow_error when the result does not fit 32-byte two's
// complement (the range the state and its encoding hold), so a parameter or
// amount too large for the state is ARITHMETIC_OVERFLOW, never stored.
std::optional<Int> parse_units(std::string_view text, unsigned decimals);

// Base units → canonical decimal text with `decimals` fractional digits
// (trailing zeros stripped). Used for display and export.
std::string format_units(const Int& units, unsigned decimals);

inline std::string to_string(const Int& value) { return value.str(); }

// |value| as four 64-bit limbs, least significant first (Boost keeps sign and
// magnitude apart), and a non-negative value back from them.
void to_limbs(const Int& value, uint64_t (&limbs)[4]);
Int from_limbs(const uint64_t (&limbs)[4]);

// ---- exact decimals of a fraction (display; every digit exact) ----

enum class Rounding : uint8_t { Floor, Ceil, TowardZero };

// num / den rounded to an integer as stated. REQUIRES den > 0 (LIQL_ASSERT).
Wide divide(const Wide& num, const Wide& den, Rounding rounding);
// An integer count of 10^-digits as a decimal with exactly `digits`
// fractional digits: (−1234567, 4) → "-123.4567", (15·10^20, 18) →
// "1500.000000000000000000".
std::string fixed_units(const Wide& units, unsigned digits);
// num / den as a decimal with exactly `digits` fractional digits, the last one
// rounded as stated; a nonzero value keeps its sign even when every digit
// rounds to 0 ("-0.0000"). REQUIRES den > 0 (LIQL_ASSERT); throws std::overflow_error when
// num · 10^digits exceeds Wide.
std::string fixed_decimal(const Wide& num, const Wide& den, unsigned digits, Rounding rounding);
// a/b against c/d exactly, without forming a·d or c·b (nothing can overflow):
// −1, 0 or +1. REQUIRES a, c ≥ 0 and b, d > 0 (LIQL_ASSERT).
int compare_fractions(Wide a, Wide b, Wide c, Wide d);

}  // namespace liql
