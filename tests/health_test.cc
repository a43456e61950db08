// engine/health.h: valuation, health terms, health factor, status and oracle
// freshness (SPEC §1.1, §3). Every expected integer is worked out by hand in
// the comments; quote = USDC with qd = 6, WAD = 10^18.

#include <gtest/gtest.h>

#include "engine/health.h"
#include "tests/engine_fixtures.h"

namespace liql {
namespace {

using fixtures::base_state;
using fixtures::dec;
using fixtures::eth_perp;
using fixtures::eth_token;
using fixtures::spec_state;
using fixtures::usdc;
using fixtures::W;

constexpr AssetId kEth = 1;
constexpr MarketId kEthPerp = 1;

// ---------------------------------------------------------------------------
// value() — SPEC §1.1: value(b, a) = ⌊b · P · 10^qd / (10^d · WAD)⌋

TEST(HealthValue, TokenValueFloorsTowardMinusInfinity) {
  State state = base_state();
  state.assets[kEth] = eth_token("2000.5");  // d = 18
  // 1 ETH: 10^18 · 2000.5·10^18 · 10^6 / 10^36 = 2000.5·10^6
  EXPECT_EQ(value(state, kEth, dec("1", 18)), Int(2000500000));
  // −1.5 ETH: −1.5 · 2000.5 = −3000.75 USDC, exact
  EXPECT_EQ(value(state, kEth, dec("-1.5", 18)), Int(-3000750000LL));
  // 10^12 wei: 10^12 · 2000.5·10^24 / 10^36 = 2000.5 → 2000
  EXPECT_EQ(value(state, kEth, Int(1000000000000LL)), Int(2000));
  // −10^12 wei: −2000.5 → −2001 (a debt is valued at least as large)
  EXPECT_EQ(value(state, kEth, Int(-1000000000000LL)), Int(-2001));
  // 1 wei: 2000.5·10^-12 → 0; −1 wei → −1
  EXPECT_EQ(value(state, kEth, Int(1)), Int(0));
  EXPECT_EQ(value(state, kEth, Int(-1)), Int(-1));
  EXPECT_EQ(value(state, kEth, Int(0)), Int(0));
}

TEST(HealthValue, QuoteAssetIsPricedAtExactlyOne) {
  State state = base_state();
  // Whatever sits in the quote asset's oracle slot, its price is WAD (SPEC §1.1).
  state.assets[kQuoteAsset].oracle.price = W("2");
  EXPECT_EQ(asset_price(state, kQuoteAsset), W("1"));
  EXPECT_EQ(value(state, kQuoteAsset, Int(123)), Int(123));
  EXPECT_EQ(value(state, kQuoteAsset, Int(-123)), Int(-123));
  EXPECT_EQ(value(state, kQuoteAsset, usdc("1000")), Int(1000000000));
}

// notional(B, m) = ⌊B · P · 10^qd / (10^bd · WAD)⌋; notional_ceil is ⌈…⌉
TEST(HealthValue, NotionalFloorsTowardMinusInfinityForShorts) {
  State state = base_state();
  state.markets[kEthPerp] = eth_perp("2000.5");  // bd = 9
  // 4 ETH: 4·10^9 · 2000.5·10^18 · 10^6 / 10^27 = 8002·10^6
  EXPECT_EQ(notional(state, kEthPerp, dec("4", 9)), Int(8002000000LL));
  EXPECT_EQ(notional(state, kEthPerp, dec("-4", 9)), Int(-8002000000LL));
  // 1 base unit: 2000.5·10^24 / 10^27 = 2.0005 → 2 ; short: −2.0005 → −3
  EXPECT_EQ(notional(state, kEthPerp, Int(1)), Int(2));
  EXPECT_EQ(notional(state, kEthPerp, Int(-1)), Int(-3));
  EXPECT_EQ(notional_ceil(state, kEthPerp, Int(1)), Int(3));
  EXPECT_EQ(notional_ceil(state, kEthPerp, Int(-1)), Int(-2));
  // one lot 10^6: 2000.5 · 10^-3 USDC = 2000500 units, exact both ways
  EXPECT_EQ(notional(state, kEthPerp, Int(1000000)), Int(2000500));
  EXPECT_EQ(notional_ceil(state, kEthPerp, Int(1000000)), Int(2000500));
}

// ---------------------------------------------------------------------------
// token_term — SPEC §3: ⌊b · P · 10^qd · w / (10^d · WAD · WAD)⌋,
// w = asset weight for b ≥ 0, liability weight for b < 0

TEST(HealthTokenTerm, AssetWeightsForPositiveBalances) {
  State state = base_state();
  state.assets[kEth] = eth_token("2000");  // aw 0.8 / 0.85 / 0.9
  const Int one = dec("1", 18);
  // 1 ETH · 2000 = 2000 USDC; × 0.8, 0.85, 0.9, 1
  EXPECT_EQ(token_term(state, kEth, one, Level::Init), Int(1600000000));
  EXPECT_EQ(token_term(state, kEth, one, Level::Target), Int(1700000000));
  EXPECT_EQ(token_term(state, kEth, one, Level::Maint), Int(1800000000));
  EXPECT_EQ(token_term(state, kEth, one, Level::Equity), Int(2000000000));
}

TEST(HealthTokenTerm, LiabilityWeightsForNegativeBalances) {
  State state = base_state();
  state.assets[kEth] = eth_token("2000");  // lw 1.2 / 1.15 / 1.1
  const Int minus_one = dec("-1", 18);
  // −2000 USDC × 1.2, 1.15, 1.1, 1
  EXPECT_EQ(token_term(state, kEth, minus_one, Level::Init), Int(-2400000000LL));
  EXPECT_EQ(token_term(state, kEth, minus_one, Level::Target), Int(-2300000000LL));
  EXPECT_EQ(token_term(state, kEth, minus_one, Level::Maint), Int(-2200000000LL));
  EXPECT_EQ(token_term(state, kEth, minus_one, Level::Equity), Int(-2000000000LL));
}

TEST(HealthTokenTerm, RoundedOnceAgainstTheAccount) {
  State state = base_state();
  state.assets[kEth] = eth_token("2000");
  // 333333333333333333 wei · 2000 · 0.85 · 10^6 / 10^18 = 566666666.67 → 566666666
  EXPECT_EQ(token_term(state, kEth, Int("333333333333333333"), Level::Target), Int(566666666));
  // −333333333333333333 · 2000 · 1.15 · 10^6 / 10^18 = −766666666.67 → −766666667
  EXPECT_EQ(token_term(state, kEth, Int("-333333333333333333"), Level::Target), Int(-766666667));
  // ±1 wei at maint: 1.8·10^-9 → 0 ; −2.2·10^-9 → −1
  EXPECT_EQ(token_term(state, kEth, Int(1), Level::Maint), Int(0));
  EXPECT_EQ(token_term(state, kEth, Int(-1), Level::Maint), Int(-1));

  // Exactly one rounding: at 2000.5, −10^12 wei at maint (1.1):
  // exact −10^12 · 2000.5 · 1.1 · 10^6 / 10^18 = −2200.55 → −2201.
  // (Rounding twice — value −2001, then ×1.1 = −2201.1 → −2202 — would be wrong.)
  state.assets[kEth] = eth_token("2000.5");
  EXPECT_EQ(token_term(state, kEth, Int(-1000000000000LL), Level::Maint), Int(-2201));
  // +10^12 wei at maint (0.9): 2000.5 · 0.9 = 1800.45 → 1800
  EXPECT_EQ(token_term(state, kEth, Int(1000000000000LL), Level::Maint), Int(1800));
}

// ---------------------------------------------------------------------------
// perp_term — pnl = notional + Q; req = ⌈|B| · P · 10^qd · margin_K / (10^bd · WAD²)⌉

TEST(HealthPerpTerm, SpecExampleAtEachLevel) {
  State state = spec_state("1800");
  const Position& position = state.accounts.at(7).positions.at(kEthPerp);
  // notional(4·10^9) at 1800 = 7200·10^6; pnl = 7200·10^6 − 8000·10^6 = −800·10^6
  // req: 7200 USDC × 0.1 = 720, × 0.075 = 540, × 0.05 = 360
  const PerpTerm init = perp_term(state, kEthPerp, position, Level::Init);
  EXPECT_EQ(init.pnl, Int(-800000000));
  EXPECT_EQ(init.requirement, Int(720000000));
  EXPECT_EQ(init.term(), Int(-1520000000LL));
  const PerpTerm target = perp_term(state, kEthPerp, position, Level::Target);
  EXPECT_EQ(target.requirement, Int(540000000));
  EXPECT_EQ(target.term(), Int(-1340000000LL));
  const PerpTerm maint = perp_term(state, kEthPerp, position, Level::Maint);
  EXPECT_EQ(maint.requirement, Int(360000000));
  EXPECT_EQ(maint.term(), Int(-1160000000LL));
  const PerpTerm equity = perp_term(state, kEthPerp, position, Level::Equity);
  EXPECT_EQ(equity.pnl, Int(-800000000));
  EXPECT_EQ(equity.requirement, Int(0));
}

TEST(HealthPerpTerm, RequirementRoundsUp) {
  State state = base_state();
  state.markets[kEthPerp] = eth_perp("2000.5");
  // one lot long (10^6 base units) bought for 2 USDC:
  // notional = 2000500, pnl = 2000500 − 2000000 = 500
  // req target = ⌈2000500 · 0.075⌉ = ⌈150037.5⌉ = 150038; term = 500 − 150038 = −149538
  const PerpTerm lot = perp_term(state, kEthPerp, Position{Int(1000000), Int(-2000000)}, Level::Target);
  EXPECT_EQ(lot.pnl, Int(500));
  EXPECT_EQ(lot.requirement, Int(150038));
  EXPECT_EQ(lot.term(), Int(-149538));
  // 1 base unit: req maint = ⌈2.0005 · 0.05⌉ = ⌈0.100025⌉ = 1, for a long and a short alike
  EXPECT_EQ(perp_term(state, kEthPerp, Position{Int(1), Int(0)}, Level::Maint).requirement, Int(1));
  const PerpTerm short_unit = perp_term(state, kEthPerp, Position{Int(-1), Int(0)}, Level::Maint);
  EXPECT_EQ(short_unit.requirement, Int(1));
  // short pnl = notional(−1) = ⌊−2.0005⌋ = −3
  EXPECT_EQ(short_unit.pnl, Int(-3));
  EXPECT_EQ(short_unit.term(), Int(-4));
}

// ---------------------------------------------------------------------------
// account_health / health_factor / health_factor_below

TEST(HealthAccount, SpecExampleAt1800) {
  // SPEC §8: at 1800 H_maint = −160 USDC, H_target = −340 USDC.
  State state = spec_state("1800");
  const Account& account = state.accounts.at(7);
  // maint: assets = 1000 (quote balance); liabilities = 800 (negative pnl) + 360 (req)
  const Health maint = account_health(state, account, Level::Maint);
  EXPECT_EQ(maint.value, Int(-160000000));
  EXPECT_EQ(maint.assets, Int(1000000000));
  EXPECT_EQ(maint.liabilities, Int(1160000000));
  // target: 1000 − 800 − 540 = −340
  EXPECT_EQ(account_health(state, account, Level::Target).value, Int(-340000000));
  // init: 1000 − 800 − 720 = −520
  const Health init = account_health(state, account, Level::Init);
  EXPECT_EQ(init.value, Int(-520000000));
  EXPECT_EQ(init.liabilities, Int(1520000000));
  // equity: 1000 − 800 = 200
  const Health equity = account_health(state, account, Level::Equity);
  EXPECT_EQ(equity.value, Int(200000000));
  EXPECT_EQ(equity.assets, Int(1000000000));
  EXPECT_EQ(equity.liabilities, Int(800000000));
}

TEST(HealthAccount, PositivePnlCountsAsAsset) {
  // At 2100: notional = 8400, pnl = +400 → assets 1000 + 400 = 1400;
  // liabilities = req maint 8400 × 0.05 = 420; H_maint = 980.
  State state = spec_state("2100");
  const Health maint = account_health(state, state.accounts.at(7), Level::Maint);
  EXPECT_EQ(maint.assets, Int(1400000000));
  EXPECT_EQ(maint.liabilities, Int(420000000));
  EXPECT_EQ(maint.value, Int(980000000));
}

TEST(HealthAccount, TokenDebtAndHealthFactor) {
  State state = base_state();
  state.assets[kEth] = eth_token("2000");
  Account account;
  account.balances[kQuoteAsset] = usdc("3000");
  account.balances[kEth] = dec("-1", 18);
  // maint: assets 3000; liabilities 2000 × 1.1 = 2200; value 800
  const Health maint = account_health(state, account, Level::Maint);
  EXPECT_EQ(maint.assets, Int(3000000000LL));
  EXPECT_EQ(maint.liabilities, Int(2200000000LL));
  EXPECT_EQ(maint.value, Int(800000000));
  // HF = ⌊10^18 · 3000 / 2200⌋ = ⌊1.363636…·10^18⌋ = 1363636363636363636
  EXPECT_EQ(health_factor(maint), Int("1363636363636363636"));
  // target: 3000 − 2300 = 700; init: 3000 − 2400 = 600
  EXPECT_EQ(account_health(state, account, Level::Target).value, Int(700000000));
  EXPECT_EQ(account_health(state, account, Level::Init).value, Int(600000000));
}

TEST(HealthFactor, SpecExampleAndInfinity) {
  State state = spec_state("1800");
  const Health maint = account_health(state, state.accounts.at(7), Level::Maint);
  // HF_maint = ⌊10^18 · 1000 / 1160⌋ = ⌊10^18 · 25/29⌋; 25/29 = 0.862068965517241379|31… → 862068965517241379
  EXPECT_EQ(health_factor(maint), Int("862068965517241379"));

  // No liabilities → ∞ (nullopt), and never "below" anything.
  Account rich;
  rich.balances[kQuoteAsset] = usdc("5");
  const Health only_assets = account_health(state, rich, Level::Maint);
  EXPECT_EQ(only_assets.liabilities, Int(0));
  EXPECT_FALSE(health_factor(only_assets).has_value());
  EXPECT_FALSE(health_factor_below(only_assets, Int("1000000000000000000000000")));

  // 1/3 → ⌊10^18/3⌋
  EXPECT_EQ(health_factor(Health{Int(-2), Int(1), Int(3)}), Int("333333333333333333"));
}

TEST(HealthFactor, BelowIsAnExactComparison) {
  State state = spec_state("1800");
  const Health maint = account_health(state, state.accounts.at(7), Level::Maint);
  // SPEC §8: HF_maint = 1000/1160 < 0.95
  EXPECT_TRUE(health_factor_below(maint, W("0.95")));
  // 0.862068965517241379 · 1160 = 999.99999999999999964 < 1000 → HF is NOT below it
  EXPECT_FALSE(health_factor_below(maint, Int("862068965517241379")));
  // 0.862068965517241380 · 1160 = 1000.0000000000000008 > 1000 → HF IS below it
  EXPECT_TRUE(health_factor_below(maint, Int("862068965517241380")));
  EXPECT_FALSE(health_factor_below(maint, W("0.8")));
  // Equality is not "below": A = 95, L = 100, threshold 0.95 → 95·10^18 = 0.95·10^18·100
  EXPECT_FALSE(health_factor_below(Health{Int(-5), Int(95), Int(100)}, W("0.95")));
  EXPECT_TRUE(health_factor_below(Health{Int(-5), Int(95), Int(100)}, W("0.950000000000000001")));
}

// ---------------------------------------------------------------------------
// status_from order: BANKRUPT (equity < 0), LIQUIDATABLE (maint < 0),
// MARGIN_CALL (init < 0), HEALTHY

TEST(HealthStatus, CheckedInSpecOrder) {
  EXPECT_EQ(status_from(Int(-1), Int(-1), Int(-1)), AccountStatus::Bankrupt);
  EXPECT_EQ(status_from(Int(-1), Int(5), Int(5)), AccountStatus::Bankrupt);  // equity is checked first
  EXPECT_EQ(status_from(Int(0), Int(-1), Int(-1)), AccountStatus::Liquidatable);
  EXPECT_EQ(status_from(Int(5), Int(-1), Int(5)), AccountStatus::Liquidatable);  // maint before init
  EXPECT_EQ(status_from(Int(0), Int(0), Int(-1)), AccountStatus::MarginCall);
  EXPECT_EQ(status_from(Int(0), Int(0), Int(0)), AccountStatus::Healthy);
  EXPECT_EQ(status_from(Int(7), Int(3), Int(1)), AccountStatus::Healthy);
}

TEST(HealthStatus, ReportsOfTheSpecAccountAtSeveralPrices) {
  {
    // 1800: equity 200, init −520, target −340, maint −160 → LIQUIDATABLE
    State state = spec_state("1800");
    const HealthReport report = health_report(state, state.accounts.at(7));
    EXPECT_EQ(report.equity, Int(200000000));
    EXPECT_EQ(report.init, Int(-520000000));
    EXPECT_EQ(report.target, Int(-340000000));
    EXPECT_EQ(report.maint, Int(-160000000));
    EXPECT_EQ(report.hf_maint, Int("862068965517241379"));
    EXPECT_EQ(report.status, AccountStatus::Liquidatable);
  }
  {
    // 1900: notional 7600, pnl −400; init 1000 − 400 − 760 = −160; maint 1000 − 400 − 380 = 220;
    // target 1000 − 400 − 570 = 30; equity 600 → MARGIN_CALL
    // HF = ⌊10^18 · 1000/780⌋ = 1282051282051282051
    State state = spec_state("1900");
    const HealthReport report = health_report(state, state.accounts.at(7));
    EXPECT_EQ(report.equity, Int(600000000));
    EXPECT_EQ(report.init, Int(-160000000));
    EXPECT_EQ(report.target, Int(30000000));
    EXPECT_EQ(report.maint, Int(220000000));
    EXPECT_EQ(report.hf_maint, Int("1282051282051282051"));
    EXPECT_EQ(report.status, AccountStatus::MarginCall);
  }
  {
    // 1700: notional 6800, pnl −1200, equity 1000 − 1200 = −200 → BANKRUPT
    State state = spec_state("1700");
    const HealthReport report = health_report(state, state.accounts.at(7));
    EXPECT_EQ(report.equity, Int(-200000000));
    EXPECT_EQ(report.status, AccountStatus::Bankrupt);
  }
  {
    // 2000: pnl 0, init 1000 − 800 = 200 ≥ 0 → HEALTHY; HF = 10^18 · 1000/400 = 2.5·10^18
    State state = spec_state("2000");
    const HealthReport report = health_report(state, state.accounts.at(7));
    EXPECT_EQ(report.init, Int(200000000));
    EXPECT_EQ(report.hf_maint, W("2.5"));
    EXPECT_EQ(report.status, AccountStatus::Healthy);
  }
}

// ---------------------------------------------------------------------------
// Freshness — SPEC §3: fresh when ts − publish_ts ≤ max_oracle_age_us; missing = stale

TEST(HealthFreshness, Boundaries) {
  const Oracle oracle{W("2000"), 1000, true};
  EXPECT_TRUE(is_fresh(oracle, 500, 1000));   // age 0
  EXPECT_TRUE(is_fresh(oracle, 500, 1500));   // age == max
  EXPECT_FALSE(is_fresh(oracle, 500, 1501));  // age == max + 1
  EXPECT_TRUE(is_fresh(oracle, 0, 1000));     // max 0: only the same microsecond
  EXPECT_FALSE(is_fresh(oracle, 0, 1001));
  // A missing price is stale, whatever its fields say.
  EXPECT_FALSE(is_fresh(Oracle{W("2000"), 1000, false}, 500, 1000));
  EXPECT_FALSE(is_fresh(Oracle{}, 1'000'000, 0));
}

TEST(HealthFreshness, AssetsMarketsAndEvaluability) {
  State state = base_state();
  state.assets[kEth] = eth_token("2000", 1000);      // max age 60 s
  state.markets[kEthPerp] = eth_perp("2000", 2000);  // max age 60 s
  const uint64_t max_age = 60'000'000;

  EXPECT_TRUE(asset_fresh(state, kQuoteAsset, 999'999'999'999));  // the quote asset never goes stale
  EXPECT_TRUE(asset_fresh(state, kEth, 1000 + max_age));
  EXPECT_FALSE(asset_fresh(state, kEth, 1000 + max_age + 1));
  EXPECT_TRUE(market_fresh(state, kEthPerp, 2000 + max_age));
  EXPECT_FALSE(market_fresh(state, kEthPerp, 2000 + max_age + 1));

  Account quote_only;
  quote_only.balances[kQuoteAsset] = usdc("10");
  EXPECT_TRUE(evaluable(state, quote_only, 999'999'999'999));

  Account with_eth = quote_only;
  with_eth.balances[kEth] = dec("-0.5", 18);
  EXPECT_TRUE(evaluable(state, with_eth, 1000 + max_age));
  EXPECT_FALSE(evaluable(state, with_eth, 1000 + max_age + 1));

  Account with_perp = quote_only;
  with_perp.positions[kEthPerp] = Position{dec("1", 9), usdc("-2000")};
  EXPECT_TRUE(evaluable(state, with_perp, 2000 + max_age));
  EXPECT_FALSE(evaluable(state, with_perp, 2000 + max_age + 1));

  // Both held: the older price (the asset's, published at 1000) decides.
  Account both = with_eth;
  both.positions[kEthPerp] = Position{dec("1", 9), usdc("-2000")};
  EXPECT_TRUE(evaluable(state, both, 1000 + max_age));
  EXPECT_FALSE(evaluable(state, both, 1000 + max_age + 1));

  // A market that never had a price is stale.
  state.markets[kEthPerp].oracle = Oracle{};
  EXPECT_FALSE(market_fresh(state, kEthPerp, 2000));
  EXPECT_FALSE(evaluable(state, with_perp, 2000));
}

}  // namespace
}  // namespace liql
