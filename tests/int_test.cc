// engine/int.h: exact division helpers, 512-bit muldiv, checked overflow,
// decimal parsing/formatting and the 32-byte two's complement encoding
// (SPEC §1, §7, §8). Every expected value is worked out by hand.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "engine/int.h"
#include "tools/rng.h"

namespace liql {
namespace {

Int two_pow(unsigned n) { return Int(1) << n; }

unsigned msb_plus_one(const Int& magnitude) {
  return magnitude.is_zero() ? 0 : static_cast<unsigned>(boost::multiprecision::msb(magnitude)) + 1;
}

// "1" followed by n zeros, as text: an independent way to write 10^n.
Int ten_pow_text(unsigned n) { return Int("1" + std::string(n, '0')); }

std::array<uint8_t, 32> encode(const Int& value) {
  std::array<uint8_t, 32> out{};
  encode_be32(value, out.data());
  return out;
}

// ---------------------------------------------------------------------------
// pow10 / wad

TEST(IntPow10, MatchesDecimalText) {
  EXPECT_EQ(pow10(0), Int(1));
  EXPECT_EQ(pow10(6), Int(1000000));
  EXPECT_EQ(pow10(18), Int("1000000000000000000"));
  EXPECT_EQ(wad(), Int("1000000000000000000"));
  EXPECT_EQ(Int(kWad), Int("1000000000000000000"));
  EXPECT_EQ(pow10(76), ten_pow_text(76));
  EXPECT_EQ(pow10_wide(153), Wide("1" + std::string(153, '0')));
}

// ---------------------------------------------------------------------------
// fdiv / cdiv (SPEC §1: toward −∞ / toward +∞, b > 0)

TEST(IntDivision, FloorAndCeilOfPositiveDividends) {
  // 7/2 = 3.5 → ⌊⌋ = 3, ⌈⌉ = 4
  EXPECT_EQ(fdiv(Int(7), Int(2)), Int(3));
  EXPECT_EQ(cdiv(Int(7), Int(2)), Int(4));
  // exact: 8/2 = 4 either way
  EXPECT_EQ(fdiv(Int(8), Int(2)), Int(4));
  EXPECT_EQ(cdiv(Int(8), Int(2)), Int(4));
  // 1/10^18 = 10^-18 → 0 and 1
  EXPECT_EQ(fdiv(Int(1), wad()), Int(0));
  EXPECT_EQ(cdiv(Int(1), wad()), Int(1));
  // 0 stays 0
  EXPECT_EQ(fdiv(Int(0), Int(5)), Int(0));
  EXPECT_EQ(cdiv(Int(0), Int(5)), Int(0));
}

TEST(IntDivision, NegativeDividendsRoundTowardInfinities) {
  // −7/2 = −3.5 → ⌊⌋ = −4 (not −3 as truncation would give), ⌈⌉ = −3
  EXPECT_EQ(fdiv(Int(-7), Int(2)), Int(-4));
  EXPECT_EQ(cdiv(Int(-7), Int(2)), Int(-3));
  // −8/2 = −4 exactly
  EXPECT_EQ(fdiv(Int(-8), Int(2)), Int(-4));
  EXPECT_EQ(cdiv(Int(-8), Int(2)), Int(-4));
  // −1/10^18 → −1 and 0
  EXPECT_EQ(fdiv(Int(-1), wad()), Int(-1));
  EXPECT_EQ(cdiv(Int(-1), wad()), Int(0));
  // −10^18 − 1 over 10^18 = −1.000…001 → −2 and −1
  EXPECT_EQ(fdiv(Int(-wad() - 1), wad()), Int(-2));
  EXPECT_EQ(cdiv(Int(-wad() - 1), wad()), Int(-1));
}

TEST(IntDivision, WideOverloadsRoundTheSameWay) {
  EXPECT_EQ(fdiv(Wide(-7), Wide(2)), Wide(-4));
  EXPECT_EQ(cdiv(Wide(-7), Wide(2)), Wide(-3));
  EXPECT_EQ(fdiv(Wide(7), Wide(2)), Wide(3));
  EXPECT_EQ(cdiv(Wide(7), Wide(2)), Wide(4));
  // (10^100 + 1) / 10^50 = 10^50 + 10^-50 → 10^50 and 10^50 + 1
  const Wide big = pow10_wide(100) + 1;
  EXPECT_EQ(fdiv(big, pow10_wide(50)), pow10_wide(50));
  EXPECT_EQ(cdiv(big, pow10_wide(50)), pow10_wide(50) + 1);
  EXPECT_EQ(fdiv(Wide(-big), pow10_wide(50)), Wide(-pow10_wide(50) - 1));
  EXPECT_EQ(cdiv(Wide(-big), pow10_wide(50)), Wide(-pow10_wide(50)));
}

// ---------------------------------------------------------------------------
// muldiv_floor / muldiv_ceil: the product is formed exactly (512 bits)

TEST(IntMulDiv, ProductBeyond256BitsIsExact) {
  // 10^40 · 10^40 = 10^80 > 2^256 ≈ 1.158·10^77, so a 256-bit product would
  // overflow; 10^80 / 10^60 = 10^20 exactly.
  EXPECT_EQ(muldiv_floor(ten_pow_text(40), ten_pow_text(40), ten_pow_text(60)), ten_pow_text(20));
  EXPECT_EQ(muldiv_ceil(ten_pow_text(40), ten_pow_text(40), ten_pow_text(60)), ten_pow_text(20));
}

TEST(IntMulDiv, RoundingOfLargeInexactQuotients) {
  // (10^40 + 1) · 10^40 / (3 · 10^40) = (10^40 + 1) / 3 = 333…333.67 (40 threes)
  const Int a = ten_pow_text(40) + 1;
  const Int c = Int(3) * ten_pow_text(40);
  const Int threes(std::string(40, '3'));  // 333…333, 40 digits
  EXPECT_EQ(muldiv_floor(a, ten_pow_text(40), c), threes);
  EXPECT_EQ(muldiv_ceil(a, ten_pow_text(40), c), threes + 1);
  // Negated: −333…333.67 → floor −333…334, ceil −333…333
  EXPECT_EQ(muldiv_floor(Int(-a), ten_pow_text(40), c), Int(-threes - 1));
  EXPECT_EQ(muldiv_ceil(Int(-a), ten_pow_text(40), c), Int(-threes));
  // The sign may sit on the second factor as well.
  EXPECT_EQ(muldiv_floor(ten_pow_text(40), Int(-a), c), Int(-threes - 1));
}

TEST(IntMulDiv, ExtremeOperandsSquareNear2To510) {
  // (2^255 − 1)² / (2^255 − 1) = 2^255 − 1; the product is ≈ 2^510.
  const Int m = two_pow(255) - 1;
  EXPECT_EQ(muldiv_floor(m, m, m), m);
  EXPECT_EQ(muldiv_ceil(m, m, m), m);
  // (2^255 − 1) · 2^254 / 2^255 = (2^255 − 1)/2 = 2^254 − 0.5 → 2^254 − 1 and 2^254
  EXPECT_EQ(muldiv_floor(m, two_pow(254), two_pow(255)), two_pow(254) - 1);
  EXPECT_EQ(muldiv_ceil(m, two_pow(254), two_pow(255)), two_pow(254));
  // and negative: −2^254 + 0.5 → −2^254 and −2^254 + 1
  EXPECT_EQ(muldiv_floor(Int(-m), two_pow(254), two_pow(255)), Int(-two_pow(254)));
  EXPECT_EQ(muldiv_ceil(Int(-m), two_pow(254), two_pow(255)), Int(-two_pow(254) + 1));
  const Int c256 = two_pow(255) + (two_pow(255) - 1);  // 2^256 − 1 (largest Int)
  // (2^256 − 1)·2 / (2^256 − 1) = 2
  EXPECT_EQ(muldiv_floor(c256, Int(2), c256), Int(2));
}

TEST(IntMulDiv, ResultThatDoesNotFitThrows) {
  // 2^200 · 2^100 / 1 = 2^300: the 512-bit product is fine, narrowing is not.
  EXPECT_THROW(muldiv_floor(two_pow(200), two_pow(100), Int(1)), std::overflow_error);
  EXPECT_THROW(muldiv_ceil(two_pow(200), two_pow(100), Int(1)), std::overflow_error);
  EXPECT_THROW(narrow(Wide(1) << 300), std::overflow_error);
  // 2^300 / 2^100 = 2^200 fits again.
  EXPECT_EQ(narrow((Wide(1) << 300) / (Wide(1) << 100)), two_pow(200));
}

// ---------------------------------------------------------------------------
// checked_int256: overflow traps (SPEC §1: never wrap, never UB)

TEST(IntOverflow, ArithmeticBeyond256BitsThrows) {
  // checked_int256_t holds magnitudes up to 2^256 − 1.
  const Int max = two_pow(255) + (two_pow(255) - 1);  // 2^256 − 1
  EXPECT_THROW(max + 1, std::overflow_error);
  EXPECT_THROW(Int(-max) - 1, std::overflow_error);
  EXPECT_THROW(two_pow(255) * 2, std::overflow_error);
  EXPECT_THROW(two_pow(128) * two_pow(128), std::overflow_error);
  EXPECT_THROW(pow10(76) * 100, std::overflow_error);  // 10^78 > 2^256
  // Just inside is fine: 10^76 · 10 = 10^77 < 2^256 ≈ 1.158·10^77.
  EXPECT_EQ(pow10(76) * 10, ten_pow_text(77));
}

TEST(IntOverflow, StoredRangeIsTwosComplement256) {
  // The canonical encoding holds [−2^255, 2^255 − 1].
  EXPECT_TRUE(fits_twos_complement_256(two_pow(255) - 1));
  EXPECT_FALSE(fits_twos_complement_256(two_pow(255)));
  EXPECT_TRUE(fits_twos_complement_256(Int(-two_pow(255))));
  EXPECT_FALSE(fits_twos_complement_256(Int(-two_pow(255) - 1)));
  EXPECT_TRUE(fits_twos_complement_256(Int(0)));
  EXPECT_THROW(stored(two_pow(255)), std::overflow_error);
  EXPECT_THROW(stored(Int(-two_pow(255) - 1)), std::overflow_error);
  EXPECT_EQ(stored(Int(-two_pow(255))), Int(-two_pow(255)));
  EXPECT_EQ(stored(Int(42)), Int(42));
}

TEST(IntAbs, Magnitude) {
  EXPECT_EQ(abs(Int(-5)), Int(5));
  EXPECT_EQ(abs(Int(5)), Int(5));
  EXPECT_EQ(abs(Int(0)), Int(0));
  EXPECT_EQ(abs(Int(-two_pow(255))), two_pow(255));
}

// ---------------------------------------------------------------------------
// parse_units: exact decimal text → base units (SPEC §8: never through a double)

TEST(IntParseUnits, ExactValues) {
  // "1.5" ETH with 18 decimals = 15·10^17
  EXPECT_EQ(parse_units("1.5", 18), Int("1500000000000000000"));
  // "2000.5" WAD price = 20005·10^17
  EXPECT_EQ(parse_units("2000.5", 18), Int("2000500000000000000000"));
  // lot "0.001" with base_decimals 9 = 10^6
  EXPECT_EQ(parse_units("0.001", 9), Int(1000000));
  // "1000" USDC = 10^9
  EXPECT_EQ(parse_units("1000", 6), Int(1000000000));
  // exactly `decimals` fractional digits is allowed
  EXPECT_EQ(parse_units("1.123456", 6), Int(1123456));
  EXPECT_EQ(parse_units("0.000001", 6), Int(1));
  EXPECT_EQ(parse_units("123", 0), Int(123));
  EXPECT_EQ(parse_units("0", 6), Int(0));
  // 0.1 is not representable in binary floating point; here it is exact:
  // 0.1 + 0.2 = 0.3 in WAD
  EXPECT_EQ(*parse_units("0.1", 18) + *parse_units("0.2", 18), *parse_units("0.3", 18));
  EXPECT_EQ(parse_units("0.3", 18), Int("300000000000000000"));
}

TEST(IntParseUnits, NegativeValues) {
  // "-0.25" base with 9 decimals = −250 000 000
  EXPECT_EQ(parse_units("-0.25", 9), Int(-250000000));
  EXPECT_EQ(parse_units("-4", 9), Int(-4000000000LL));
  EXPECT_EQ(parse_units("-8000", 6), Int(-8000000000LL));
}

TEST(IntParseUnits, TooManyDecimalsIsNullopt) {
  // 7 fractional digits with 6 decimals
  EXPECT_FALSE(parse_units("1.1234567", 6).has_value());
  EXPECT_FALSE(parse_units("0.0000001", 6).has_value());
  // 19 fractional digits for a WAD ratio
  EXPECT_FALSE(parse_units("0.0000000000000000001", 18).has_value());
  // lot 0.0001 with 3 decimals
  EXPECT_FALSE(parse_units("0.0001", 3).has_value());
  EXPECT_FALSE(parse_units("-0.25", 1).has_value());
}

TEST(IntParseUnits, MalformedTextIsNullopt) {
  for (const char* text : {"", "-", ".", "1.", ".5", "1.2.3", "1e5", "abc", "1,5", " 1", "1 ", "--1", "0x10", "1.-5"}) {
    EXPECT_FALSE(parse_units(text, 6).has_value()) << "text: '" << text << "'";
  }
}

TEST(IntParseUnits, ManyDigitsTakeTheWidePath) {
  // 30 integer digits + 1 fractional, 36 decimals:
  // 123456789012345678901234567890.5 · 10^36 = 1234567890123456789012345678905 · 10^35
  EXPECT_EQ(parse_units("123456789012345678901234567890.5", 36),
            Int("1234567890123456789012345678905" + std::string(35, '0')));
  // 25 digits, 0 decimals
  EXPECT_EQ(parse_units("1234567890123456789012345", 0), Int("1234567890123456789012345"));
  EXPECT_EQ(parse_units("-1234567890123456789012345", 0), Int("-1234567890123456789012345"));
}

TEST(IntParseUnits, ResultBeyondIntThrowsOverflow) {
  // 10^76 fits (2^256 ≈ 1.158·10^77) …
  EXPECT_EQ(parse_units("1", 76), pow10(76));
  // … 12·10^76 = 1.2·10^77 does not.
  EXPECT_THROW(parse_units("12", 76), std::overflow_error);
  // 78-digit integer 2·10^77 > 2^256
  EXPECT_THROW(parse_units("2" + std::string(77, '0'), 0), std::overflow_error);
}

// ---------------------------------------------------------------------------
// format_units: base units → canonical decimal text

TEST(IntFormatUnits, CanonicalText) {
  EXPECT_EQ(format_units(Int(1500000), 6), "1.5");
  EXPECT_EQ(format_units(Int(1000000), 6), "1");
  EXPECT_EQ(format_units(Int(0), 6), "0");
  EXPECT_EQ(format_units(Int(5), 6), "0.000005");
  EXPECT_EQ(format_units(Int(-5), 6), "-0.000005");
  EXPECT_EQ(format_units(Int(-250000000), 9), "-0.25");
  EXPECT_EQ(format_units(Int(2000), 6), "0.002");  // SPEC §8: H_target after s* = +0.002 USDC
  EXPECT_EQ(format_units(Int(52308000), 6), "52.308");
  EXPECT_EQ(format_units(Int(2906000000LL), 9), "2.906");
  EXPECT_EQ(format_units(Int(123), 0), "123");
  EXPECT_EQ(format_units(Int("2000500000000000000000"), 18), "2000.5");
}

TEST(IntFormatUnits, RoundTripWithParse) {
  for (const char* text : {"0", "1", "-1", "0.000001", "-1234.5", "1000000.123456", "-0.5"}) {
    const auto units = parse_units(text, 6);
    ASSERT_TRUE(units.has_value()) << text;
    EXPECT_EQ(format_units(*units, 6), text);
  }
}

// ---------------------------------------------------------------------------
// encode_be32 / decode_be32: 32-byte big-endian two's complement (SPEC §7)

TEST(IntBe32, KnownImages) {
  std::array<uint8_t, 32> expected{};
  EXPECT_EQ(encode(Int(0)), expected);

  expected.fill(0);
  expected[31] = 0x01;
  EXPECT_EQ(encode(Int(1)), expected);

  // 256 = 0x0100
  expected.fill(0);
  expected[30] = 0x01;
  EXPECT_EQ(encode(Int(256)), expected);

  // −1 = all ones
  expected.fill(0xFF);
  EXPECT_EQ(encode(Int(-1)), expected);

  // −256 = FF…FF 00
  expected.fill(0xFF);
  expected[31] = 0x00;
  EXPECT_EQ(encode(Int(-256)), expected);

  // −2^255 = 80 00…00
  expected.fill(0x00);
  expected[0] = 0x80;
  EXPECT_EQ(encode(Int(-two_pow(255))), expected);

  // 2^255 − 1 = 7F FF…FF
  expected.fill(0xFF);
  expected[0] = 0x7F;
  EXPECT_EQ(encode(two_pow(255) - 1), expected);

  // 2^64 = 00…00 01 | 8 zero bytes (crosses a 64-bit limb boundary)
  expected.fill(0x00);
  expected[23] = 0x01;
  EXPECT_EQ(encode(two_pow(64)), expected);

  // −2^64: two's complement = FF…FF (bytes 0..23) then 00×8
  expected.fill(0xFF);
  for (int i = 24; i < 32; ++i) expected[i] = 0x00;
  EXPECT_EQ(encode(Int(-two_pow(64))), expected);
}

TEST(IntBe32, RoundTrip) {
  const Int values[] = {Int(0),
                        Int(1),
                        Int(-1),
                        Int(255),
                        Int(-255),
                        Int(256),
                        two_pow(64),
                        Int(-two_pow(64)),
                        two_pow(64) - 1,
                        Int(-two_pow(64) + 1),
                        wad(),
                        Int(-wad()),
                        Int("-8000000000"),
                        two_pow(255) - 1,
                        Int(-two_pow(255)),
                        Int(-two_pow(255) + 1),
                        two_pow(254)};
  for (const Int& value : values) {
    const auto bytes = encode(value);
    EXPECT_EQ(decode_be32(bytes.data()), value) << value.str();
  }
}

TEST(IntBe32, DecodeReadsTheSignBit) {
  std::array<uint8_t, 32> bytes{};
  bytes.fill(0xFF);
  EXPECT_EQ(decode_be32(bytes.data()), Int(-1));
  bytes.fill(0x00);
  bytes[0] = 0x80;
  EXPECT_EQ(decode_be32(bytes.data()), Int(-two_pow(255)));
  bytes.fill(0xFF);
  bytes[0] = 0x7F;
  EXPECT_EQ(decode_be32(bytes.data()), two_pow(255) - 1);
  // FF…FE = −2
  bytes.fill(0xFF);
  bytes[31] = 0xFE;
  EXPECT_EQ(decode_be32(bytes.data()), Int(-2));
}

}  // namespace
}  // namespace liql

namespace liql {
namespace {

// 2^255 ≈ 5.79·10^76 < 6·10^76 < 2^256 ≈ 1.16·10^77: the checked 256-bit Int
// holds it (sign-magnitude), the state's 32-byte two's complement does not, so
// parsing refuses it as an overflow rather than storing a value that would
// come back negative from a snapshot.
TEST(ParseUnitsRange, ValuesBeyondTwosComplementOverflow) {
  const std::string six_e58 = "6" + std::string(58, '0');  // · 10^18 = 6·10^76
  EXPECT_THROW(parse_units(six_e58, 18), std::overflow_error);
  EXPECT_THROW(parse_units("-" + six_e58, 18), std::overflow_error);
  // 5·10^76 fits: 5·10^76 < 2^255.
  const std::string five_e58 = "5" + std::string(58, '0');
  EXPECT_EQ(parse_units(five_e58, 18), Int("5" + std::string(76, '0')));
}

// ---------------------------------------------------------------------------
// 128-bit fast paths: a result or nullopt, never a different result

// The exact expressions the fast paths stand for, in 512 bits.
Int exact3(const Int& a, const Int& b, const Int& c, unsigned e, bool ceil) {
  const Wide n = Wide(a) * Wide(b) * Wide(c);
  return narrow(ceil ? cdiv(n, pow10_wide(e)) : fdiv(n, pow10_wide(e)));
}

TEST(IntFastPath, Muldiv3HandWorked) {
  // 0.5 BTC (8 dp) · 30,000 USDC (price WAD-scaled) · weight 0.8, in 6-dp USDC:
  // 5e7 · 3e22 · 8e17 / 10^(8+36−6); the 17 zeros of the weight cancel first,
  // leaving 5e7 · 3e22 · 8 / 10^21 = 1.2e31 / 1e21 = 12,000,000,000 (12,000 USDC).
  const Int a = Int(50'000'000), b = Int(30'000) * wad(), w = Int(8) * pow10(17);
  EXPECT_EQ(muldiv3_pow10_floor_small(a, b, w, 38), Int(12'000'000'000LL));
  // 2.5 ETH (18 dp) at 2,000 USDC: 2.5e18 · 2e21 = 5e39 ≥ 2^127, but the
  // price is 2 · 10^21: 25·10^17 · 2 · 8 / 10^(48 − 17 − 21) = 4·10^19 / 10^10
  // = 4,000,000,000 (4,000 USDC).
  EXPECT_EQ(muldiv3_pow10_floor_small(Int(25) * pow10(17), Int(2000) * wad(), w, 48), Int(4'000'000'000LL));
  // A price without decimal zeros (2^100 + 1 is odd) keeps the product above 2^127: no fast path.
  EXPECT_FALSE(muldiv3_pow10_floor_small(two_pow(30), two_pow(100) + 1, Int(3), 10).has_value());
  // −1 wei · 1 · 0.05 / 10^2 = −0.0005 → floor −1, ceil 0.
  EXPECT_EQ(muldiv3_pow10_floor_small(Int(-1), Int(1), Int(5) * pow10(16), 20), Int(-1));
  EXPECT_EQ(muldiv3_pow10_ceil_small(Int(-1), Int(1), Int(5) * pow10(16), 20), Int(0));
  // 10^exponent beyond 128 bits after the zeros of c cancel: 7 · 3 · 1 / 10^60.
  EXPECT_EQ(muldiv3_pow10_floor_small(Int(7), Int(3), Int(1), 60), Int(0));
  EXPECT_EQ(muldiv3_pow10_ceil_small(Int(7), Int(3), Int(1), 60), Int(1));
  EXPECT_EQ(muldiv3_pow10_floor_small(Int(-7), Int(3), Int(1), 60), Int(-1));
  EXPECT_EQ(muldiv3_pow10_ceil_small(Int(-7), Int(3), Int(1), 60), Int(0));
  // Too large for 127 bits, a negative or a ≥ 2^64 ratio: nullopt, never a guess.
  EXPECT_FALSE(muldiv3_pow10_floor_small(two_pow(100), two_pow(30), Int(3), 10).has_value());
  EXPECT_FALSE(muldiv3_pow10_floor_small(Int(1), Int(1), Int(-5), 10).has_value());
  EXPECT_FALSE(muldiv3_pow10_floor_small(Int(1), Int(1), two_pow(64) + 1, 10).has_value());
}

TEST(IntFastPath, AgreesWithTheWideExpressionOnASweep) {
  // splitmix64 sweep over magnitudes around every power of two and ten that
  // matters; each answer the fast path gives must equal the exact one.
  Rng rng(12345);
  auto next = [&rng] { return rng.next(); };
  auto value = [&](unsigned max_bits) {
    const unsigned bits = static_cast<unsigned>(next() % (max_bits + 1));
    Int v = (Int(next()) << 64 | Int(next())) >> (128 - bits);
    if (next() % 8 == 0) v *= pow10(static_cast<unsigned>(next() % 18));  // decimal zeros
    return next() % 3 == 0 ? Int(-v) : v;
  };
  int taken = 0;
  for (int i = 0; i < 20000; ++i) {
    const Int a = value(90), b = value(80);
    const Int c = abs(value(63)) % two_pow(64);
    const unsigned e = static_cast<unsigned>(next() % 80);
    for (bool ceil : {false, true}) {
      const auto fast3 = ceil ? muldiv3_pow10_ceil_small(a, b, c, e) : muldiv3_pow10_floor_small(a, b, c, e);
      if (fast3) {
        ++taken;
        ASSERT_EQ(*fast3, exact3(a, b, c, e, ceil)) << a << " " << b << " " << c << " " << e;
      }
      // The full functions: the fast path or the 512-bit one, always the exact
      // value, and an overflow error exactly when that value does not fit Int.
      const unsigned up = static_cast<unsigned>(next() % 7);
      auto check_full = [&](const std::function<Int()>& full, const Int& c_times_up) {
        std::optional<Int> expected;
        try {
          expected = exact3(a, b, c_times_up, e, ceil);
        } catch (const std::overflow_error&) {
        }
        if (expected) {
          EXPECT_EQ(full(), *expected) << a << " " << b << " " << c_times_up << " " << e;
        } else {
          EXPECT_THROW(full(), std::overflow_error) << a << " " << b << " " << c_times_up << " " << e;
        }
      };
      check_full([&] { return ceil ? muldiv3_pow10_ceil(a, b, c, up, e) : muldiv3_pow10_floor(a, b, c, up, e); },
                 c * pow10(up));
      check_full([&] { return ceil ? muldiv_pow10_ceil(a, b, up, e) : muldiv_pow10_floor(a, b, up, e); }, pow10(up));
      ASSERT_FALSE(HasFailure());
    }
  }
  EXPECT_GT(taken, 5000);  // the sweep exercises the fast path, not only the fallback
}

TEST(IntFastPath, PricesLoseTheirDecimalZerosToo) {
  // 100 ETH (18 dp) at 2011.462 USDC, weight 0.8, in 6-dp USDC:
  // 10^20 · 2011462·10^15 · 8·10^17 / 10^48. a·b alone is ≈ 2^137; with the
  // zeros of the weight (17) and the price (15) cancelled it is
  // 10^20 · 2011462 · 8 / 10^16 = 160,916,960,000 (160,916.96 USDC), exact.
  const Int a = Int(100) * wad(), b = Int(2011462) * pow10(15), w = Int(8) * pow10(17);
  EXPECT_EQ(muldiv3_pow10_floor_small(a, b, w, 48), Int(160'916'960'000LL));
  EXPECT_EQ(exact3(a, b, w, 48, false), Int(160'916'960'000LL));

  // A sweep of prices with 1-12 significant digits and up to 30 zeros, and
  // balances up to 2^100: whatever the fast path answers is exact.
  Rng rng(777);
  int beyond_127 = 0;
  for (int i = 0; i < 20000; ++i) {
    const Int mantissa = Int(1 + rng.below(1'000'000'000'000ULL));
    const Int b = mantissa * pow10(static_cast<unsigned>(rng.below(31)));
    Int a = (Int(rng.next()) << 64 | Int(rng.next())) >> (28 + rng.below(100));
    if (rng.below(3) == 0) a = -a;
    const Int c = Int(1 + rng.below(20)) * pow10(static_cast<unsigned>(rng.below(18)));
    const unsigned e = static_cast<unsigned>(rng.below(70));
    for (bool ceil : {false, true}) {
      const auto fast = ceil ? muldiv3_pow10_ceil_small(a, b, c, e) : muldiv3_pow10_floor_small(a, b, c, e);
      if (!fast) continue;
      ASSERT_EQ(*fast, exact3(a, b, c, e, ceil)) << a << " " << b << " " << c << " " << e;
      if (msb_plus_one(abs(a)) + msb_plus_one(b) > 127) ++beyond_127;
    }
  }
  EXPECT_GT(beyond_127, 1000);  // answered only because the price's zeros cancelled
}

}  // namespace
}  // namespace liql

namespace liql {
namespace {

// compare_products: native 128-bit products when both fit, 512-bit otherwise.
TEST(IntCompareProducts, SignsZeroAndBothPaths) {
  // 6·7 = 42 against 5·8 = 40 and 21·2 = 42
  EXPECT_EQ(compare_products(Int(6), Int(7), Int(5), Int(8)), 1);
  EXPECT_EQ(compare_products(Int(6), Int(7), Int(21), Int(2)), 0);
  EXPECT_EQ(compare_products(Int(5), Int(8), Int(6), Int(7)), -1);
  // signs: −42 < 40; −42 > −48; 0·(−5) = 0 = 3·0 (no negative zero)
  EXPECT_EQ(compare_products(Int(-6), Int(7), Int(5), Int(8)), -1);
  EXPECT_EQ(compare_products(Int(-6), Int(7), Int(-6), Int(8)), 1);
  EXPECT_EQ(compare_products(Int(0), Int(-5), Int(3), Int(0)), 0);
  EXPECT_EQ(compare_products(Int(-1), Int(-1), Int(0), Int(9)), 1);  // (−1)(−1) = 1 > 0
  // Beyond 2^127 (the 512-bit path): 2^200·3 against 2^199·6 (equal) and 2^199·7 (larger)
  const Int big = Int(1) << 200, half = Int(1) << 199;
  EXPECT_EQ(compare_products(big, Int(3), half, Int(6)), 0);
  EXPECT_EQ(compare_products(big, Int(3), half, Int(7)), -1);
  // One product fits 128 bits, the other does not: −2^200 < 1 and 2^200 > 10^30
  EXPECT_EQ(compare_products(-big, Int(1), Int(1), Int(1)), -1);
  EXPECT_EQ(compare_products(big, Int(1), pow10(15), pow10(15)), 1);
  // Products near 2^510 do not overflow: (2^255)·(2^255) against (2^255 − 1)·(2^255)
  const Int top = Int(1) << 255;
  EXPECT_EQ(compare_products(top, top, top - 1, top), 1);
}

}  // namespace
}  // namespace liql
