// `liqledger risk` (replay/risk.h, docs/WHATIF.md "risk"): the exact price at
// which an account's unrounded H_maint crosses 0, per instrument. Hand cases
// with the arithmetic in the comments, generated states checked against an
// independent bisection on the directly summed health, the liquidation map,
// and the command line.

#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_int.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/health.h"
#include "replay/replay.h"
#include "replay/risk.h"
#include "tests/cli_run.h"
#include "tests/event_lines.h"
#include "tests/engine_fixtures.h"
#include "tests/test_dirs.h"
#include "tools/generate.h"

namespace liql {
namespace {

using namespace fixtures;

// ---- exact decimals -------------------------------------------------------------------

TEST(RiskDecimal, FixedDigitsWithTheStatedRounding) {
  EXPECT_EQ(fixed_units(Wide(1500) * Wide(wad()), 18), "1500.000000000000000000");
  EXPECT_EQ(fixed_units(Wide(-1234567), 4), "-123.4567");
  EXPECT_EQ(fixed_units(Wide(5), 4), "0.0005");
  EXPECT_EQ(fixed_units(Wide(-5), 0), "-5");
  // 2/3 = 0.6666…: floor and toward 0 give …6, ceil …7.
  EXPECT_EQ(fixed_decimal(2, 3, 4, Rounding::Floor), "0.6666");
  EXPECT_EQ(fixed_decimal(2, 3, 4, Rounding::Ceil), "0.6667");
  EXPECT_EQ(fixed_decimal(2, 3, 4, Rounding::TowardZero), "0.6666");
  // −2/3 = −0.6666…: floor gives −0.6667, ceil and toward 0 −0.6666.
  EXPECT_EQ(fixed_decimal(-2, 3, 4, Rounding::Floor), "-0.6667");
  EXPECT_EQ(fixed_decimal(-2, 3, 4, Rounding::Ceil), "-0.6666");
  EXPECT_EQ(fixed_decimal(-2, 3, 4, Rounding::TowardZero), "-0.6666");
  // −1/30000 = −0.0000333…: every digit rounds to 0 toward 0, the sign stays.
  EXPECT_EQ(fixed_decimal(-1, 30000, 4, Rounding::TowardZero), "-0.0000");
  EXPECT_EQ(fixed_decimal(0, 7, 4, Rounding::TowardZero), "0.0000");
  EXPECT_EQ(fixed_decimal(15, 10, 0, Rounding::Ceil), "2");
  // 10^151 · 10^4 is beyond 512 bits (2^512 ≈ 1.34·10^154).
  EXPECT_THROW(fixed_decimal(pow10_wide(151), 1, 4, Rounding::Floor), std::overflow_error);
}

TEST(RiskDecimal, FractionsCompareExactly) {
  EXPECT_EQ(compare_fractions(1, 3, 1, 2), -1);
  EXPECT_EQ(compare_fractions(2, 4, 1, 2), 0);
  EXPECT_EQ(compare_fractions(7, 5, 4, 3), 1);  // 1.4 > 1.333…
  EXPECT_EQ(compare_fractions(0, 5, 0, 9), 0);
  EXPECT_EQ(compare_fractions(0, 5, 1, 9), -1);
  EXPECT_EQ(compare_fractions(3, 1, 3, 1), 0);
  // Integer parts equal (1), then 1/3 vs 1/3 + ε: (10^100 + 1)/(3·10^100) > 1/3
  // by 1/(3·10^100), and the cross products would be beyond 512 bits.
  const Wide big = pow10_wide(150);
  EXPECT_EQ(compare_fractions(4 * big, 3 * big, 4 * big + 1, 3 * big), -1);
  EXPECT_EQ(compare_fractions(4 * big + 1, 3 * big, 4 * big, 3 * big), 1);
  EXPECT_EQ(compare_fractions(big * 5 + 3, big * 3, big * 5 + 3, big * 3), 0);
}

TEST(RiskDecimal, PercentIsAPositiveDecimal) {
  EXPECT_EQ(parse_percent("10"), W("10"));
  EXPECT_EQ(parse_percent("2.5"), W("2.5"));
  EXPECT_EQ(parse_percent("0.000000000000000001"), Int(1));
  for (const char* bad : {"", "0", "0.0", "-1", "abc", "1e3", "1.", ".5", "1.0000000000000000001", "10%"}) {
    EXPECT_FALSE(parse_percent(bad).has_value()) << bad;
  }
}

// ---- hand cases -----------------------------------------------------------------------

// An 18-decimal token with maint weights `asset_maint` for balances and
// `liab_maint` for debts (the other levels are not used by risk).
Asset token(std::string_view symbol, unsigned decimals, std::string_view price, std::string_view asset_maint,
            std::string_view liab_maint) {
  Asset asset = eth_token(price);
  asset.params.symbol = std::string(symbol);
  asset.params.decimals = decimals;
  asset.params.asset_weight = levels(asset_maint, asset_maint, asset_maint);
  asset.params.liab_weight = levels(liab_maint, liab_maint, liab_maint);
  return asset;
}

Account& add_account(State& state, AccountId id) { return create_account(state, id); }

std::string json_of(const AccountRisk& risk) {
  std::string out;
  for (const RiskLine& line : risk.lines) out += risk_json_line(line) + "\n";
  return out;
}

// (1) 10 ETH (18 decimals) at 2000, maint weight 0.8, a debt of 12000 USDC
// (6 decimals): H = 10·P·0.8 − 12000, 0 at P = 1500, a move of
// (1500 − 2000)/2000 = −25 %. Over D = 10^18 · WAD² = 10^54:
// ETH 10^19 · 2000·10^18 · 10^6 · 0.8·10^18 = 1.6·10^64, USDC −12000·10^6 · 10^54
// = −1.2·10^64, N = 4·10^63 (= D · 4000 USDC); S = 10^19 · 10^6 · 8·10^17 =
// 8·10^42; P* = 2000·10^18 − 4·10^63 / 8·10^42 = 1500·10^18 exactly.
TEST(RiskHand, CollateralAgainstAQuoteDebt) {
  State state = base_state();
  state.assets[1] = token("ETH", 18, "2000", "0.8", "1.1");
  Account& account = add_account(state, 1);
  account.balances[1] = dec("10", 18);
  account.balances[kQuoteAsset] = usdc("-12000");
  const AccountRisk risk = account_risk(state, 1);
  EXPECT_EQ(json_of(risk),
            R"({"account":1,"instrument":"asset:1","price":"2000.000000000000000000","crossing_price":"1500.000000000000000000","move_pct":"-25.0000","status":"HEALTHY"})"
            "\n");
  ASSERT_EQ(risk.nearest, 0u);
  EXPECT_FALSE(risk.liquidatable);
  EXPECT_EQ(risk.lines[0].crossing, Wide(W("1500")));
  EXPECT_EQ(risk.lines[0].move_num, Wide(-100) * 4 * pow10_wide(63));  // −100·N, S > 0
  EXPECT_EQ(risk.lines[0].move_den, 8 * pow10_wide(42) * Wide(W("2000")));  // S·P
  // The quote asset is not an instrument: no line for it.
  ASSERT_EQ(risk.lines.size(), 1u);
}

// (2) and (4): SPEC §8's perps (ETH-PERP, base decimals 9, maint margin 0.05).
// Account 7, long 4 bought at 2000 with 1000 USDC: E(P) = 1000 + 4P − 8000 −
// 0.05·4P = 3.8P − 7000, 0 at P* = 7000/3.8 = 35000/19 =
// 1842.105263157894736842|105263… (2/19 repeats every 18 digits).
//   At 2000 (H = 600): P* is below, rounded up toward 2000: …736843; move
//   (35000/19 − 2000)/2000 = −3/38 = −7.894736…% → "-7.8947".
//   At 1800 (H = 6840 − 7000 = −160, LIQUIDATABLE): P* is where it recovers,
//   above, rounded down toward 1800: …736842; move (35000 − 34200)/(19·1800) =
//   4/171 = 2.339181…% → "2.3391".
// Account 8, short 4 sold at 2000 with 100000 USDC: E(P) = 100000 + 8000 − 4P −
// 0.2P = 108000 − 4.2P, 0 at P* = 180000/7 = 25714.285714285714285714|2857…,
// above the price: rounded down toward it.
//   At 2000: move 180000/(7·2000) − 1 = 83/7 = 1185.714285…% → "1185.7142".
//   At 1800: move 100/7 − 1 = 93/7 = 1328.571428…% → "1328.5714".
TEST(RiskHand, LongAndShortPerpsRoundTowardThePrice) {
  State state = spec_state("2000");
  state.order.push_back(7);
  Account& maker = add_account(state, 8);
  maker.balances[kQuoteAsset] = usdc("100000");
  maker.positions[1] = Position{dec("-4", 9), usdc("8000")};
  const AccountRisk long_risk = account_risk(state, 7);
  EXPECT_EQ(json_of(long_risk),
            R"({"account":7,"instrument":"market:1","price":"2000.000000000000000000","crossing_price":"1842.105263157894736843","move_pct":"-7.8947","status":"HEALTHY"})"
            "\n");
  // docs/WHATIF.md's numerators: dmax = 9, D = 10^45; S = (4·10^27 − 4·10^9 ·
  // 5·10^16) · 10^6 = 3.8·10^33, N = 3.8·10^33 · 2·10^21 + (1000 − 8000)·10^6 ·
  // 10^45 = 6·10^53 (D · 600 USDC): move −100·N / (S·P) = −6·10^55 / 7.6·10^54.
  EXPECT_EQ(long_risk.lines[0].move_num, -6 * pow10_wide(55));
  EXPECT_EQ(long_risk.lines[0].move_den, 76 * pow10_wide(53));
  EXPECT_EQ(json_of(account_risk(state, 8)),
            R"({"account":8,"instrument":"market:1","price":"2000.000000000000000000","crossing_price":"25714.285714285714285714","move_pct":"1185.7142","status":"HEALTHY"})"
            "\n");
  state.markets[1].oracle = oracle_at("1800", state.ts);
  const AccountRisk under = account_risk(state, 7);
  EXPECT_TRUE(under.liquidatable);
  EXPECT_EQ(json_of(under),
            R"({"account":7,"instrument":"market:1","price":"1800.000000000000000000","crossing_price":"1842.105263157894736842","move_pct":"2.3391","status":"LIQUIDATABLE"})"
            "\n");
  EXPECT_EQ(json_of(account_risk(state, 8)),
            R"({"account":8,"instrument":"market:1","price":"1800.000000000000000000","crossing_price":"25714.285714285714285714","move_pct":"1328.5714","status":"HEALTHY"})"
            "\n");
}

// (3) 10 ETH at 2000 (weight 0.8), a debt of 12000 USDC and a short of 10
// ETH-PERP sold at 2000 (quote +20000, maint margin 0.05):
//   E = −12000 + 8·Pe + (20000 − 10·Pm) − 0.05·10·Pm = 8000 + 8·Pe − 10.5·Pm,
//   3000 at Pe = Pm = 2000.
//   ETH:      8·Pe = 21000 − 8000 → Pe* = 1625, move −18.75 %.
//   ETH-PERP: 10.5·Pm = 24000 → Pm* = 2285.714285714285714285|714…, rounded
//             down toward 2000; move 285.714…/2000 = 14.285714…% → "14.2857".
// The perp is the nearer (|14.29| < |−18.75|) although it is the second line.
TEST(RiskHand, TheNearestOfTwoInstruments) {
  State state = base_state();
  state.assets[1] = token("ETH", 18, "2000", "0.8", "1.1");
  state.markets[1] = eth_perp("2000");
  Account& account = add_account(state, 1);
  account.balances[1] = dec("10", 18);
  account.balances[kQuoteAsset] = usdc("-12000");
  account.positions[1] = Position{dec("-10", 9), usdc("20000")};
  const AccountRisk risk = account_risk(state, 1);
  EXPECT_EQ(json_of(risk),
            R"({"account":1,"instrument":"asset:1","price":"2000.000000000000000000","crossing_price":"1625.000000000000000000","move_pct":"-18.7500","status":"HEALTHY"})"
            "\n"
            R"({"account":1,"instrument":"market:1","price":"2000.000000000000000000","crossing_price":"2285.714285714285714285","move_pct":"14.2857","status":"HEALTHY"})"
            "\n");
  EXPECT_EQ(risk.nearest, 1u);

  // Two equally near instruments: the first in line order. 5 ETH and 5 "ETH2"
  // (the same token under asset 2), a debt of 12000: E = 4Pe + 4Pe2 − 12000 =
  // 4000, each crosses at 2000 − 4000/4 = 1000 (−50 %).
  State tie = base_state();
  tie.assets[1] = token("ETH", 18, "2000", "0.8", "1.1");
  tie.assets[2] = token("ETH2", 18, "2000", "0.8", "1.1");
  Account& both = add_account(tie, 1);
  both.balances[1] = dec("5", 18);
  both.balances[2] = dec("5", 18);
  both.balances[kQuoteAsset] = usdc("-12000");
  const AccountRisk tied = account_risk(tie, 1);
  ASSERT_EQ(tied.lines.size(), 2u);
  EXPECT_EQ(tied.lines[0].move_pct, "-50.0000");
  EXPECT_EQ(tied.lines[1].move_pct, "-50.0000");
  EXPECT_EQ(tied.nearest, 0u);
}

// (5) No positive price crosses, or the price does not matter.
TEST(RiskHand, NullCrossings) {
  State state = base_state();
  state.assets[1] = token("JUNK", 6, "10", "0", "1.5");  // maint weight 0: its price does not enter H_maint
  state.assets[2] = token("ETH", 18, "2000", "0.8", "1.1");
  state.assets[3] = token("NEW", 8, "1", "0.5", "1.5");
  state.assets[3].oracle = Oracle{};  // listed, never priced
  // No debt: E = 10·P·0.8 = 8P, 0 at P* = 0 exactly: not a positive price.
  add_account(state, 1).balances[2] = dec("10", 18);
  // With 500 USDC more: E = 8P + 500, 0 at P* = −62.5.
  Account& richer = add_account(state, 2);
  richer.balances[2] = dec("10", 18);
  richer.balances[kQuoteAsset] = usdc("500");
  // JUNK has S = 0 (weight 0); ETH against a 12000 debt crosses at 1500 (case 1):
  // the nearest is the second line.
  Account& junk = add_account(state, 3);
  junk.balances[1] = dec("5", 6);
  junk.balances[2] = dec("10", 18);
  junk.balances[kQuoteAsset] = usdc("-12000");
  // Holds NEW, which never had a price: nothing can be computed.
  Account& unpriced = add_account(state, 4);
  unpriced.balances[2] = dec("1", 18);
  unpriced.balances[3] = dec("1", 8);
  // Only USDC: no instrument, no line.
  add_account(state, 5).balances[kQuoteAsset] = usdc("1");

  EXPECT_EQ(json_of(account_risk(state, 1)),
            R"({"account":1,"instrument":"asset:2","price":"2000.000000000000000000","crossing_price":null,"move_pct":null,"status":"HEALTHY"})"
            "\n");
  EXPECT_EQ(json_of(account_risk(state, 2)),
            R"({"account":2,"instrument":"asset:2","price":"2000.000000000000000000","crossing_price":null,"move_pct":null,"status":"HEALTHY"})"
            "\n");
  const AccountRisk with_junk = account_risk(state, 3);
  EXPECT_EQ(json_of(with_junk),
            R"({"account":3,"instrument":"asset:1","price":"10.000000000000000000","crossing_price":null,"move_pct":null,"status":"HEALTHY"})"
            "\n"
            R"({"account":3,"instrument":"asset:2","price":"2000.000000000000000000","crossing_price":"1500.000000000000000000","move_pct":"-25.0000","status":"HEALTHY"})"
            "\n");
  EXPECT_EQ(with_junk.nearest, 1u);
  const AccountRisk never = account_risk(state, 4);
  EXPECT_EQ(json_of(never),
            R"({"account":4,"instrument":"asset:2","price":"2000.000000000000000000","crossing_price":null,"move_pct":null,"status":null})"
            "\n"
            R"({"account":4,"instrument":"asset:3","price":null,"crossing_price":null,"move_pct":null,"status":null})"
            "\n");
  EXPECT_FALSE(never.nearest.has_value());
  EXPECT_TRUE(account_risk(state, 5).lines.empty());

  const RiskSummary summary = risk_pass(state, RiskOptions{});
  EXPECT_EQ(summary.accounts, 5u);
  EXPECT_EQ(summary.with_lines, 4u);
  EXPECT_EQ(summary.unpriced, 1u);
  EXPECT_EQ(summary.liquidatable, 0u);
  ASSERT_EQ(summary.nearest.size(), 1u);  // only account 3 has a crossing
  EXPECT_EQ(summary.nearest[0].account, 3u);
}

// Beyond 512 bits. Every term of a health that fits Int also fits Wide over D
// (≤ 2^255 · D, and D ≤ 10^72 ≈ 2^239), so what can overflow is the move's
// text: 100 · 10^4 · N. USDC balance 2^254 and a debt of 10^6 units of a
// 36-decimal token at 10^6 (liability weight 1.1): its term is
// −10^6 · 10^6 · 1.1 · 10^6 = −1.1·10^18 USDC base units, so H and
// HF = WAD · 2^254 / 1.1·10^18 fit Int. Over D = 10^36 · WAD² = 10^72,
// N ≈ 2^254 · 10^72 ≈ 2^493.2, S = −10^42 · 10^6 · 1.1·10^18 < 0, so a
// crossing exists (upward), but 100 · 10^4 · N ≈ 2^513.1 > 2^512.
// With a debt of one unit at 1 instead, HF = WAD · 2^254 / 1.1·10^6 is beyond
// Int: the engine has no status either.
TEST(RiskHand, OverflowBeyond512BitsIsNamed) {
  State state = base_state();
  state.assets[1] = token("BIG", 36, "1000000", "0.8", "1.1");
  Account& account = add_account(state, 1);
  account.balances[kQuoteAsset] = Int(1) << 254;
  account.balances[1] = -pow10(42);
  const AccountRisk risk = account_risk(state, 1);
  EXPECT_EQ(json_of(risk),
            R"({"account":1,"instrument":"asset:1","price":"1000000.000000000000000000","crossing_price":null,"move_pct":null,"status":"HEALTHY","overflow":true})"
            "\n");
  EXPECT_EQ(risk_csv_line(risk.lines[0]), "1,asset:1,1000000.000000000000000000,,,HEALTHY,true");
  EXPECT_FALSE(risk.nearest.has_value());

  state.assets[1].oracle = oracle_at("1");
  account.balances[1] = -pow10(36);
  EXPECT_EQ(json_of(account_risk(state, 1)),
            R"({"account":1,"instrument":"asset:1","price":"1.000000000000000000","crossing_price":null,"move_pct":null,"status":null,"overflow":true})"
            "\n");
}

// The liquidation map. ETH at 2000 (maint weights 0.8 / 1.1), ETH-PERP at 2000:
//   1: 10 ETH, −12000 USDC: P* = 1500, −25 %        → bucket −25 += |value| 20000
//   2: 1 ETH, −1208 USDC: 0.8P = 1208, P* = 1510, −24.5 % → bucket −25 += 2000
//   3: 2 ETH, −1000 USDC: P* = 625, −68.75 %       → outside the map
//   4: 1 ETH, −2000 USDC: H = 1600 − 2000 < 0, liquidatable now → not counted
//      (its crossing, where it recovers, is 2500: +25 %)
//   5: −1 ETH, +3000 USDC: E = 3000 − 1.1P = 800, P* = 3000/1.1 = 2727.27…,
//      +36.36 %                                    → bucket 36 += |value(−1 ETH)| 2000
//   6: SPEC §8 account 7 (long 4 ETH-PERP at 2000): −7.89 % → market bucket −8 += 8000
//   7: 1 ETH, −800 USDC: P* = 1000, exactly −50 %   → bucket −50 (the lowest, closed) += 2000
//   8: −1 ETH, +3300 USDC: 1.1P = 3300, P* = 3000, exactly +50 % → outside (open end)
// asset:1 : [−50 %, −49 %) 2000, [−25 %, −24 %) 22000, [36 %, 37 %) 2000; market:1 : [−8 %, −7 %) 8000.
TEST(RiskMap, HandCase) {
  State state = base_state();
  state.assets[1] = token("ETH", 18, "2000", "0.8", "1.1");
  state.markets[1] = eth_perp("2000");
  auto holder = [&](AccountId id, const char* eth, const char* quote) {
    Account& account = add_account(state, id);
    account.balances[1] = dec(eth, 18);
    account.balances[kQuoteAsset] = usdc(quote);
  };
  holder(1, "10", "-12000");
  holder(2, "1", "-1208");
  holder(3, "2", "-1000");
  holder(4, "1", "-2000");
  holder(5, "-1", "3000");
  Account& perp = add_account(state, 6);
  perp = spec_account_7();
  perp.index = 5;
  holder(7, "1", "-800");
  holder(8, "-1", "3300");

  RiskOptions options;
  options.within = W("25");
  const RiskSummary summary = risk_pass(state, options);
  EXPECT_EQ(summary.liquidatable, 1u);  // account 4
  std::array<Wide, kMapBuckets> eth{}, market{};
  eth.fill(0);
  market.fill(0);
  eth[-50 + 50] = Wide(usdc("2000"));
  eth[-25 + 50] = Wide(usdc("22000"));
  eth[36 + 50] = Wide(usdc("2000"));
  market[-8 + 50] = Wide(usdc("8000"));
  ASSERT_EQ(summary.map.size(), 2u);
  EXPECT_EQ(summary.map.at(Instrument::asset(1)), eth);
  EXPECT_EQ(summary.map.at(Instrument::market(1)), market);

  // Nearest first: 6 (−7.89 %), 2 (−24.5 %), 1 (−25 %), 5 (+36.36 %), 7 (−50 %), 8 (+50 %), 3 (−68.75 %);
  // within 25 %: 6 and 2 (1 is at exactly −25 %: |−25| ≤ 25, included).
  std::vector<AccountId> nearest, within;
  for (const RiskLine& line : summary.nearest) nearest.push_back(line.account);
  for (const RiskLine& line : summary.within) within.push_back(line.account);
  EXPECT_EQ(nearest, (std::vector<AccountId>{6, 2, 1, 5, 7, 8, 3}));
  EXPECT_EQ(within, (std::vector<AccountId>{6, 2, 1}));

  const std::string table = risk_table(state, summary, options);
  const std::string map_part = table.substr(table.find("liquidation map"));
  EXPECT_EQ(map_part.substr(map_part.find('\n') + 1),
            "  asset:1 ETH\n"
            "    [-50%, -49%)                      2000.000000\n"
            "    [-25%, -24%)                     22000.000000\n"
            "    [36%, 37%)                        2000.000000\n"
            "  market:1 ETH-PERP\n"
            "    [-8%, -7%)                        8000.000000\n");
  EXPECT_NE(table.find("accounts examined 8: 8 holding instruments (0 of them an unpriced one), 1 liquidatable now\n"),
            std::string::npos);
  EXPECT_NE(table.find("within 25% (accounts not liquidatable now): 3\n"), std::string::npos);

  options.nearest_count = 2;
  const RiskSummary two = risk_pass(state, options);
  ASSERT_EQ(two.nearest.size(), 2u);
  EXPECT_EQ(two.nearest[0].account, 6u);
  EXPECT_EQ(two.nearest[1].account, 2u);
}

// ---- generated states against an independent bisection --------------------------------

using boost::multiprecision::cpp_int;
using boost::multiprecision::cpp_rational;

cpp_int big(const Int& value) { return cpp_int(value.str()); }
cpp_int big(const Wide& value) { return cpp_int(value.str()); }
cpp_int ten_to(unsigned exponent) { return boost::multiprecision::pow(cpp_int(10), exponent); }

// The unrounded H_maint of `account` in quote base units, every term of SPEC
// §3 summed directly as a rational (no common denominator, no S or C), with
// the price of `instrument` replaced by p. The quote asset's price is WAD.
cpp_rational exact_health(const State& state, const Account& account, const Instrument& instrument, const cpp_int& p) {
  const cpp_int wad = ten_to(18);
  const cpp_int quote_scale = ten_to(state.quote_decimals());
  cpp_rational health = 0;
  for (const auto& [asset, balance] : account.balances) {
    const Asset& a = state.assets.at(asset);
    const cpp_int price = asset == kQuoteAsset               ? wad
                          : instrument == Instrument::asset(asset) ? p
                                                                   : big(a.oracle.price);
    const Int& weight = balance.sign() >= 0 ? a.params.asset_weight.maint : a.params.liab_weight.maint;
    health += cpp_rational(big(balance) * price * quote_scale * big(weight), ten_to(a.params.decimals) * wad * wad);
  }
  for (const auto& [market, position] : account.positions) {
    const Market& m = state.markets.at(market);
    const cpp_int price = instrument == Instrument::market(market) ? p : big(m.oracle.price);
    const cpp_int base_scale = ten_to(m.params.base_decimals);
    const cpp_int base = big(position.base);
    health += cpp_rational(base * price * quote_scale, base_scale * wad) + cpp_rational(big(position.quote));
    health -= cpp_rational(abs(base) * price * quote_scale * big(m.params.margin.maint), base_scale * wad * wad);
  }
  return health;
}

struct Expected {
  std::optional<cpp_int> crossing;  // the bisection's boundary
  cpp_rational move;                // 100 · (P* − P) / P, P* from the secant
  bool upward = false;
};

// Walks from the current price P toward the sign change of E and returns the
// last integer price at which E has not crossed 0 (E ≥ 0 when E(P) ≥ 0, E ≤ 0
// when E(P) < 0): the crossing rounded toward P. Null when E does not depend
// on the price or no positive price crosses.
Expected bisect(const State& state, const Account& account, const Instrument& instrument, const cpp_int& price) {
  auto e = [&](const cpp_int& p) { return exact_health(state, account, instrument, p); };
  Expected expected;
  const cpp_rational e0 = e(price);
  const cpp_rational slope = e(price + 1) - e0;  // E is linear in the price
  if (slope == 0) return expected;
  const bool nonnegative = e0 >= 0;
  auto holds = [&](const cpp_int& p) {
    const cpp_rational value = e(p);
    return nonnegative ? value >= 0 : value <= 0;
  };
  expected.move = -100 * e0 / (slope * price);
  expected.upward = nonnegative != (slope > 0);
  if (!expected.upward) {
    if (holds(0)) return expected;  // E keeps its side down to price 0
    cpp_int lo = 0, hi = price;     // !holds(lo), holds(hi)
    while (hi - lo > 1) {
      const cpp_int mid = (lo + hi) / 2;
      (holds(mid) ? hi : lo) = mid;
    }
    expected.crossing = hi;
    return expected;
  }
  cpp_int lo = price, hi = 2 * price;  // holds(lo)
  while (holds(hi)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const cpp_int mid = (lo + hi) / 2;
    (holds(mid) ? lo : hi) = mid;
  }
  expected.crossing = lo;
  return expected;
}

// 4 fractional digits toward 0, the sign kept ("-0.0000").
std::string four_digits(const cpp_rational& value) {
  const cpp_int scaled = numerator(value) * 10000 / denominator(value);  // cpp_int's quotient truncates
  std::string digits = cpp_int(abs(scaled)).str();
  if (digits.size() < 5) digits.insert(0, 5 - digits.size(), '0');
  digits.insert(digits.size() - 4, 1, '.');
  return (value < 0 ? "-" : "") + digits;
}

cpp_int floor_of(const cpp_rational& value) {
  cpp_int quotient = numerator(value) / denominator(value);
  if (quotient * denominator(value) != numerator(value) && value < 0) quotient -= 1;
  return quotient;
}

// |value| / |notional| at the current price, SPEC §1.1, from the definition.
cpp_int holding_value(const State& state, const Account& account, const Instrument& instrument) {
  const cpp_int wad = ten_to(18);
  const cpp_int quote_scale = ten_to(state.quote_decimals());
  if (instrument.kind == Instrument::Kind::Asset) {
    const Asset& a = state.assets.at(instrument.id);
    return abs(floor_of(cpp_rational(big(account.balances.at(instrument.id)) * big(a.oracle.price) * quote_scale,
                                     ten_to(a.params.decimals) * wad)));
  }
  const Market& m = state.markets.at(instrument.id);
  return abs(floor_of(cpp_rational(big(account.positions.at(instrument.id).base) * big(m.oracle.price) * quote_scale,
                                   ten_to(m.params.base_decimals) * wad)));
}

std::string generated_market(uint64_t seed, uint64_t accounts, uint64_t events) {
  GenerateOptions options;
  options.seed = seed;
  options.accounts = accounts;
  options.events = events;
  options.crash_pct = 40;
  std::string text;
  EXPECT_TRUE(generate_market(options, [&](std::string_view line) {
    text += line;
    text += '\n';
  }).is_ok());
  return text;
}

TEST(RiskGenerated, CrossingsAndMapMatchAnIndependentBisection) {
  testing::ScratchDir dir;
  std::unique_ptr<Ledger> ledger;
  ASSERT_TRUE(Ledger::open(dir.path("db"), LedgerOptions{}, &ledger).is_ok());
  AppendResult appended;
  InputError error;
  ASSERT_TRUE(append_jsonl(*ledger, generated_market(11, 120, 3000), &appended, &error, 1000).is_ok())
      << error.to_string();

  uint64_t crossings = 0, upward = 0, downward = 0, nulls = 0, mapped = 0, liquidatable = 0;  // lines
  for (uint64_t seq : {700, 1600, 1750, 2300, 3000}) {  // 21 accounts under water at 1750, mid-crash
    Machine machine;
    ReplayCounts counts;
    ASSERT_TRUE(load_state(*ledger, seq, &machine, &counts).is_ok());
    const State& state = machine.state();
    std::map<Instrument, std::map<int, cpp_int>> expected_map;
    std::vector<AccountRisk> visited;
    const RiskSummary summary = risk_pass(state, RiskOptions{}, [&](const AccountRisk& risk) { visited.push_back(risk); });
    for (const AccountRisk& risk : visited) {
      const Account& account = *state.account(risk.id);
      const bool counted = priced(state, account) && account_health(state, account, Level::Maint).value.sign() >= 0;
      for (const RiskLine& line : risk.lines) {
        SCOPED_TRACE(fmt::format("seq {} account {} {}", seq, risk.id, instrument_name(line.instrument)));
        ASSERT_FALSE(line.overflow);
        liquidatable += risk.liquidatable ? 1 : 0;
        if (!priced(state, account)) {
          EXPECT_FALSE(line.crossing.has_value());
          EXPECT_FALSE(line.status.has_value());
          continue;
        }
        const Expected expected = bisect(state, account, line.instrument, big(*line.price));
        ASSERT_EQ(line.crossing.has_value(), expected.crossing.has_value());
        if (!expected.crossing) {
          nulls += 1;
          continue;
        }
        crossings += 1;
        (expected.upward ? upward : downward) += 1;
        EXPECT_EQ(big(*line.crossing), *expected.crossing);
        EXPECT_EQ(line.move_pct, four_digits(expected.move));
        const cpp_int bucket = floor_of(expected.move);
        if (counted && bucket >= kMapLowestBucket && bucket < kMapLowestBucket + static_cast<int>(kMapBuckets)) {
          const cpp_int value = holding_value(state, account, line.instrument);
          if (value != 0) expected_map[line.instrument][static_cast<int>(bucket)] += value;
        }
      }
    }
    std::map<Instrument, std::map<int, cpp_int>> map;
    for (const auto& [instrument, buckets] : summary.map) {
      for (size_t i = 0; i < buckets.size(); ++i) {
        if (!buckets[i].is_zero()) map[instrument][kMapLowestBucket + static_cast<int>(i)] = big(buckets[i]);
      }
    }
    EXPECT_EQ(map, expected_map) << "seq " << seq;
    for (const auto& entry : map) mapped += entry.second.size();
  }
  // The generated states exercise both directions, nulls, the map and
  // accounts under water.
  EXPECT_GT(crossings, 300u);
  EXPECT_GT(upward, 20u);
  EXPECT_GT(downward, 20u);
  EXPECT_GT(nulls, 10u);
  EXPECT_GT(mapped, 20u);
  EXPECT_GT(liquidatable, 0u);
  std::printf("risk_test: %llu crossings (%llu upward), %llu null, %llu map buckets, %llu lines of liquidatable accounts\n",
              static_cast<unsigned long long>(crossings), static_cast<unsigned long long>(upward),
              static_cast<unsigned long long>(nulls), static_cast<unsigned long long>(mapped),
              static_cast<unsigned long long>(liquidatable));
}

TEST(RiskGenerated, SameStateSameOutput) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(generated_market(5, 80, 1500), &error)) << error.to_string();
  auto everything = [&] {
    RiskOptions options;
    options.within = W("30");
    std::string out;
    const RiskSummary summary =
        risk_pass(run.machine().state(), options, [&](const AccountRisk& risk) { out += json_of(risk); });
    return out + risk_table(run.machine().state(), summary, options);
  };
  const std::string first = everything();
  EXPECT_EQ(first, everything());
  EXPECT_GT(first.size(), 10'000u);
}

// ---- the command line -----------------------------------------------------------------

// tests/cli_run.h's run, with what went to stderr.
struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

CliRun cli(const testing::ScratchDir& dir, const std::string& arguments) {
  const std::string err_path = dir.path("stderr.txt");
  const testing::CliRun run = testing::cli(arguments, err_path);
  return CliRun{run.exit_code, run.out, testing::slurp(err_path)};
}


class RiskCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path("example.jsonl")) << lines::kSpec8Example;
    db_ = dir_.path("db");
    ASSERT_EQ(cli(dir_, "append " + db_ + " " + dir_.path("example.jsonl")).exit_code, 0);
  }
  testing::ScratchDir dir_;
  std::string db_;
};

// The figures of RiskHand.LongAndShortPerpsRoundTowardThePrice, through the ledger.
TEST_F(RiskCli, JsonAndCsvLines) {
  const CliRun json = cli(dir_, "risk " + db_ + " --at 9 --format json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out,
            R"({"account":7,"instrument":"market:1","price":"1800.000000000000000000","crossing_price":"1842.105263157894736842","move_pct":"2.3391","status":"LIQUIDATABLE"})"
            "\n"
            R"({"account":8,"instrument":"market:1","price":"1800.000000000000000000","crossing_price":"25714.285714285714285714","move_pct":"1328.5714","status":"HEALTHY"})"
            "\n");
  EXPECT_EQ(cli(dir_, "risk " + db_ + " --at 9 --format csv").out,
            "account,instrument,price,crossing_price,move_pct,status,overflow\n"
            "7,market:1,1800.000000000000000000,1842.105263157894736842,2.3391,LIQUIDATABLE,false\n"
            "8,market:1,1800.000000000000000000,25714.285714285714285714,1328.5714,HEALTHY,false\n");
  // At the head nobody holds an instrument: no line at all.
  const CliRun head = cli(dir_, "risk " + db_ + " --format json");
  EXPECT_EQ(head.exit_code, 0);
  EXPECT_EQ(head.out, "");
}

// At seq 8 (ETH-PERP at 2000): account 7 crosses at −7.8947 % (within 10 %),
// account 8 at +1185.7142 %; the map holds account 7's notional |4 · 2000| =
// 8000 USDC in [−8 %, −7 %).
TEST_F(RiskCli, Table) {
  const CliRun table = cli(dir_, "risk " + db_ + " --at 8 --within 10");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const std::string header =
      "  account    instrument                              price                         crossing       move %\n";
  const std::string row7 =
      "  7          market:1              2000.000000000000000000          1842.105263157894736843      -7.8947\n";
  const std::string row8 =
      "  8          market:1              2000.000000000000000000         25714.285714285714285714    1185.7142\n";
  EXPECT_EQ(table.out,
            "risk at seq 8 (ts 3000)\n"
            "accounts examined 2: 2 holding instruments (0 of them an unpriced one), 0 liquidatable now\n"
            "nearest to liquidation (the 20 nearest accounts not liquidatable now, by the |move| of their nearest "
            "instrument): 2\n" +
                header + row7 + row8 + "within 10% (accounts not liquidatable now): 1\n" + header + row7 +
                "liquidation map (per instrument and 1% of price move: the current value in USDC of the holdings of "
                "accounts not liquidatable now that become liquidatable there):\n"
                "  market:1 ETH-PERP\n"
                "    [-8%, -7%)                        8000.000000\n");
  // At 1800 account 7 is liquidatable: not among the nearest, not in the map.
  const CliRun later = cli(dir_, "risk " + db_ + " --at 9");
  EXPECT_NE(later.out.find("0 of them an unpriced one), 1 liquidatable now\n"), std::string::npos);
  EXPECT_NE(later.out.find("instrument): 1\n" + header + "  8 "), std::string::npos);
  EXPECT_NE(later.out.find("become liquidatable there):\n  none\n"), std::string::npos);
}

TEST_F(RiskCli, BadInputIsRefusedNamingTheFlag) {
  auto refused = [&](const std::string& arguments, const std::string& message) {
    const CliRun run = cli(dir_, "risk " + arguments);
    EXPECT_NE(run.exit_code, 0) << arguments;
    EXPECT_NE(run.err.find(message), std::string::npos) << arguments << ": " << run.err;
    EXPECT_EQ(run.out, "") << arguments;
  };
  refused(db_ + " --format xml", "--format: xml not in {table,json,csv}");
  for (const char* within : {"abc", "0", "-5", "1e3", "2.5%"}) {
    refused(db_ + " --within " + within,
            std::string("liqledger: --within: '") + within + "' is not a positive decimal percent (e.g. 10 or 2.5)\n");
  }
  refused(db_ + " --at 11", "liqledger: --at 11: beyond the head of the log (seq 10)\n");
  refused(db_ + " --at 0", "liqledger: no genesis at seq 0\n");
  refused(dir_.path("no-such-db"), "no ledger at");
}

TEST(RiskCliGenerated, SameLedgerSameOutput) {
  testing::ScratchDir dir;
  const std::string market = dir.path("market.jsonl");
  ASSERT_EQ(cli(dir, "generate --seed 3 --accounts 100 --events 2000 > " + market).exit_code, 0);
  ASSERT_EQ(cli(dir, "append " + dir.path("db") + " " + market + " --snapshot-every 700").exit_code, 0);
  for (const char* format : {"json", "csv", "table"}) {
    const std::string arguments = "risk " + dir.path("db") + " --within 20 --format " + format;
    const CliRun first = cli(dir, arguments);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_GT(first.out.size(), 1000u) << format;
    EXPECT_EQ(cli(dir, arguments).out, first.out) << format;
  }
  // One JSON line per CSV line, the header aside.
  const std::string json = cli(dir, "risk " + dir.path("db") + " --format json").out;
  const std::string csv = cli(dir, "risk " + dir.path("db") + " --format csv").out;
  EXPECT_EQ(std::count(json.begin(), json.end(), '\n') + 1, std::count(csv.begin(), csv.end(), '\n'));
}

}  // namespace
}  // namespace liql
