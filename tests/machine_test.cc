// State-machine tests driven through JSON Lines (SPEC §4, §5, §7, §8), enforce mode.
//
// Every expected number is worked out by hand from SPEC.md; the arithmetic is
// in the comment next to it. Scenario (tests/scenario_util.h) checks after every
// event the conservation invariant and the zero-sum perp base of SPEC §7, and
// for every rejected event that the state is unchanged except seq/ts.
//
// Units used below: USDC has 6 decimals (1 USDC = 10^6), ETH 18 (1 ETH = 10^18
// wei), ETH-PERP base_decimals 9 (1 ETH = 10^9 base units), DAI 6.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "event_lines.h"
#include "scenario_util.h"

namespace liql {
namespace {

using scenario::I;
using scenario::Scenario;
using scenario::units;
using namespace lines;

// ---- lines -----------------------------------------------------------------------

const std::string kGenesisPartial =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"})";
const std::string kCloseFactor =
    R"({"type":"set_protocol","ts":0,"policy":"close_factor","close_factor":"0.5","full_liquidation_hf":"0.95","liquidator_share":"0.5","insurance_share":"0.3"})";
const std::string kFull = R"({"type":"set_protocol","ts":0,"policy":"full"})";


constexpr uint64_t kMaxAge = 60'000'000;  // max_oracle_age_us of ETH, ETH-PERP and DAI

// Genesis (partial), ETH, ETH-PERP; ETH-PERP and ETH both priced 2000 at ts 1000.
void base_fixture(Scenario& s) {
  s.applied(kGenesisPartial);
  s.applied(kListEth);
  s.applied(kListPerp);
  s.applied(price_market(1000, 1, "2000"));
  s.applied(price_asset(1000, 1, "2000"));
}

// SPEC §8 lines 1–8 (the set_protocol line only when `policy_line` is given):
// account 7 holds 1000 USDC and is long 4 ETH-PERP bought at 2000, account 8
// (100000 USDC) is the short side. After the trade (cost 4·2000 = 8000 USDC):
//   7: balance 1000·10^6, position (4·10^9, −8000·10^6)
//   8: balance 100000·10^6, position (−4·10^9, +8000·10^6)
void spec8_setup(Scenario& s, const std::string& policy_line) {
  s.applied(kGenesisPartial);
  if (!policy_line.empty()) s.applied(policy_line);
  s.applied(kListEth);
  s.applied(kListPerp);
  s.applied(price_market(1000, 1, "2000"));
  s.applied(deposit(2000, 7, 0, "1000"));
  s.applied(deposit(2000, 8, 0, "100000"));
  s.applied(trade(3000, 1, 7, 8, "4", "2000"));
  ASSERT_NE(s.position(7, 1), nullptr);
  EXPECT_EQ(s.held(7, 1).base, Int(4'000'000'000LL));
  EXPECT_EQ(s.held(7, 1).quote, Int(-8'000'000'000LL));
  EXPECT_EQ(s.held(8, 1).base, Int(-4'000'000'000LL));
  EXPECT_EQ(s.held(8, 1).quote, Int(8'000'000'000LL));
}

// ==== 1. every reason code of enforce mode ==============================================

TEST(MachineReasons, UnknownAsset) {
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 1, 0, "100"));
  s.rejected(deposit(2000, 1, 5, "1"), Reason::UnknownAsset);
  s.rejected(withdraw(2000, 1, 5, "1"), Reason::UnknownAsset);
  s.rejected(insurance_deposit(2000, 5, "1"), Reason::UnknownAsset);
  s.rejected(price_asset(2000, 5, "3"), Reason::UnknownAsset);
  s.rejected(liquidate_token(2000, 2, 1, 5, 0), Reason::UnknownAsset);
  EXPECT_EQ(s.balance(1, 0), Int(100'000'000));
}

TEST(MachineReasons, UnknownMarket) {
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 1, 0, "10000"));
  s.applied(deposit(2000, 2, 0, "10000"));
  s.rejected(trade(3000, 9, 1, 2, "1", "2000"), Reason::UnknownMarket);
  s.rejected(price_market(3000, 9, "2000"), Reason::UnknownMarket);
  s.rejected(liquidate_perp(3000, 2, 1, 9), Reason::UnknownMarket);
}

TEST(MachineReasons, UnknownAccount) {
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 1, 0, "10000"));
  // Account 99 never appeared: a withdrawal does not create it.
  s.rejected(withdraw(3000, 99, 0, "1"), Reason::UnknownAccount);
  EXPECT_EQ(s.state().account(99), nullptr);
  s.rejected(liquidate_perp(3000, 1, 99, 1), Reason::UnknownAccount);
  s.rejected(liquidate_token(3000, 1, 99, 1, 0), Reason::UnknownAccount);
  EXPECT_EQ(s.state().account(99), nullptr);
}

TEST(MachineReasons, InvalidAmount) {
  Scenario s;
  base_fixture(s);
  s.rejected(deposit(2000, 1, 0, "0"), Reason::InvalidAmount);
  EXPECT_EQ(s.state().account(1), nullptr);  // a rejected deposit creates nothing
  s.applied(deposit(2000, 1, 0, "10000"));
  s.applied(deposit(2000, 2, 0, "10000"));
  s.rejected(withdraw(2000, 1, 0, "0"), Reason::InvalidAmount);
  s.rejected(insurance_deposit(2000, 0, "0"), Reason::InvalidAmount);
  // lot_size 0.001 = 10^6 base units; 0.0005 = 5·10^5 is not a multiple, nor is 1.0005.
  s.rejected(trade(3000, 1, 1, 2, "0.0005", "2000"), Reason::InvalidAmount);
  s.rejected(trade(3000, 1, 1, 2, "-1.0005", "2000"), Reason::InvalidAmount);
  s.rejected(trade(3000, 1, 1, 2, "0", "2000"), Reason::InvalidAmount);
  s.rejected(trade(3000, 1, 1, 2, "1", "0"), Reason::InvalidAmount);
  // Prices are > 0 (SPEC §1).
  s.rejected(price_market(3000, 1, "0"), Reason::InvalidAmount);
  s.rejected(price_asset(3000, 1, "0"), Reason::InvalidAmount);
  EXPECT_EQ(s.state().markets.at(1).oracle.price, units("2000", 18));
  // A lot-aligned trade is fine: 1.001 = 1001·10^6 base units.
  s.applied(trade(3000, 1, 1, 2, "1.001", "2000"));
  EXPECT_EQ(s.held(1, 1).base, Int(1'001'000'000));
}

TEST(MachineReasons, InvalidAmountLiquidationSizeRoundsToZero) {
  // SPEC §5.1: executed = min(allowed, max_base) rounded down to a lot; 0 → INVALID_AMOUNT.
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_market(4000, 1, "1800"));
  s.rejected(liquidate_perp(5000, 8, 7, 1, R"(,"max_base":"0")"), Reason::InvalidAmount);
  // 0.0005 ETH = 5·10^5 base units → ⌊5·10^5 / 10^6⌋·10^6 = 0.
  s.rejected(liquidate_perp(5000, 8, 7, 1, R"(,"max_base":"0.0005")"), Reason::InvalidAmount);
}

TEST(MachineReasons, InvalidParams) {
  Scenario s;
  base_fixture(s);
  // asset_weight.init 0.9 > target 0.85.
  s.rejected(
      R"({"type":"list_asset","ts":1000,"asset":3,"symbol":"BAD","decimals":8,"borrowable":false,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.9","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})",
      Reason::InvalidParams);
  EXPECT_EQ(s.state().asset(3), nullptr);
  // liab_weight below WAD.
  s.rejected(
      R"({"type":"list_asset","ts":1000,"asset":3,"symbol":"BAD","decimals":8,"borrowable":false,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"0.99"},"liquidation_bonus":"0.05"})",
      Reason::InvalidParams);
  // liquidation_fee must be < margin.target: 0.075 = target is rejected, so is 0.08.
  s.rejected(
      R"({"type":"list_market","ts":1000,"market":2,"symbol":"BAD-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.075","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})",
      Reason::InvalidParams);
  s.rejected(
      R"({"type":"list_market","ts":1000,"market":2,"symbol":"BAD-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.08","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})",
      Reason::InvalidParams);
  EXPECT_EQ(s.state().market(2), nullptr);
  // Just below the target is valid.
  s.applied(
      R"({"type":"list_market","ts":1000,"market":2,"symbol":"OK-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.074999999999999999","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})");
  // decimals never change after listing (SPEC §2).
  s.rejected(
      R"({"type":"set_asset","ts":1000,"asset":1,"symbol":"ETH","decimals":8,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})",
      Reason::InvalidParams);
  // The mode is fixed at genesis.
  s.rejected(R"({"type":"set_protocol","ts":1000,"mode":"observe"})", Reason::InvalidParams);
  EXPECT_EQ(s.state().protocol.mode, Mode::Enforce);

  // liquidate_token with liability = collateral (SPEC §5.2).
  s.applied(deposit(2000, 1, 1, "1"));
  s.applied(deposit(2000, 2, 0, "100"));
  s.rejected(liquidate_token(2000, 2, 1, 1, 1), Reason::InvalidParams);
}

TEST(MachineReasons, InvalidFeed) {
  Scenario s;
  base_fixture(s);
  s.rejected(price_asset(2000, 0, "1"), Reason::InvalidFeed);
  s.rejected(price_asset(2000, 0, "1.01"), Reason::InvalidFeed);
}

TEST(MachineReasons, DuplicateListing) {
  Scenario s;
  s.applied(kGenesisPartial);
  s.applied(kListEth);
  s.applied(kListPerp);
  s.applied(price_asset(0, 1, "2000"));
  // Same ids again (same or different parameters).
  s.rejected(kListEth, Reason::DuplicateListing);
  s.rejected(kListPerp, Reason::DuplicateListing);
  s.rejected(dai_spec("list_asset", true, 0, 1), Reason::DuplicateListing);
  EXPECT_EQ(s.state().assets.at(1).params.symbol, "ETH");
  EXPECT_EQ(s.state().assets.at(1).oracle.price, units("2000", 18));  // the listing kept its price
}

TEST(MachineReasons, SelfTrade) {
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 1, 0, "10000"));
  s.rejected(trade(3000, 1, 1, 1, "1", "2000"), Reason::SelfTrade);
  EXPECT_EQ(s.position(1, 1), nullptr);
}

TEST(MachineReasons, StaleOracleTradeAtAndPastTheBoundary) {
  Scenario s;
  base_fixture(s);  // ETH-PERP published at ts 1000, max age 60 s
  s.applied(deposit(2000, 1, 0, "10000"));
  s.applied(deposit(2000, 2, 0, "10000"));
  // age = 60001000 − 1000 = 60000000 = max_oracle_age_us: fresh (SPEC §3: age ≤ max).
  s.applied(trade(1000 + kMaxAge, 1, 1, 2, "1", "2000"));
  EXPECT_EQ(s.held(1, 1).base, Int(1'000'000'000));
  // one microsecond later the price is stale.
  s.rejected(trade(1000 + kMaxAge + 1, 1, 1, 2, "1", "2000"), Reason::StaleOracle);
  EXPECT_EQ(s.held(1, 1).base, Int(1'000'000'000));
}

TEST(MachineReasons, StaleOracleMissingPrice) {
  // A missing price counts as stale (SPEC §2).
  Scenario s;
  base_fixture(s);
  s.applied(
      R"({"type":"list_market","ts":1000,"market":2,"symbol":"BTC-PERP","base_decimals":8,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.0001","min_position":"0","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})");
  s.applied(deposit(2000, 1, 0, "10000"));
  s.applied(deposit(2000, 2, 0, "10000"));
  s.rejected(trade(3000, 2, 1, 2, "0.01", "30000"), Reason::StaleOracle);
}

TEST(MachineReasons, StaleOracleWithdraw) {
  Scenario s;
  base_fixture(s);  // ETH published at ts 1000
  s.applied(deposit(2000, 11, 1, "1"));
  s.applied(deposit(2000, 11, 0, "100"));
  // age == max: fresh, applied. 100 − 10 = 90 USDC left.
  s.applied(withdraw(1000 + kMaxAge, 11, 0, "10"));
  EXPECT_EQ(s.balance(11, 0), Int(90'000'000));
  // ETH price now stale: the account's health is not evaluable.
  s.rejected(withdraw(1000 + kMaxAge + 1, 11, 0, "10"), Reason::StaleOracle);
  EXPECT_EQ(s.balance(11, 0), Int(90'000'000));
}

TEST(MachineReasons, StaleOracleLiquidation) {
  {
    Scenario s;
    spec8_setup(s, "");
    s.applied(price_market(4000, 1, "1800"));
    s.rejected(liquidate_perp(4000 + kMaxAge + 1, 8, 7, 1), Reason::StaleOracle);
  }
  {
    // Same liquidation with age == max: fresh; executes s* = 2.906 ETH (see Spec8Partial).
    Scenario s;
    spec8_setup(s, "");
    s.applied(price_market(4000, 1, "1800"));
    const Outcome& out = s.applied(liquidate_perp(4000 + kMaxAge, 8, 7, 1));
    ASSERT_TRUE(out.audit && out.audit->executed);
    EXPECT_EQ(out.audit->executed.value(), Int(2'906'000'000LL));
    ASSERT_TRUE(out.audit->price);
    EXPECT_EQ(out.audit->price->age_us, kMaxAge);
  }
}

TEST(MachineReasons, StaleOracleLiquidatorHoldsStalePrice) {
  // SPEC §5: the liquidator must end with its health evaluable.
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_asset(3000, 1, "2000"));  // ETH token price, published at 3000
  s.applied(deposit(3000, 40, 0, "100000"));
  s.applied(deposit(3000, 40, 1, "1"));
  const uint64_t ts = 3000 + kMaxAge + 1;  // ETH token price now stale, ETH-PERP fresh below
  s.applied(price_market(ts, 1, "1800"));
  s.rejected(liquidate_perp(ts, 40, 7, 1), Reason::StaleOracle);
  EXPECT_EQ(s.position(40, 1), nullptr);
  // Account 8 holds nothing stale: it may liquidate.
  s.applied(liquidate_perp(ts, 8, 7, 1));
}

TEST(MachineReasons, StaleUpdate) {
  Scenario s;
  base_fixture(s);  // both prices published at 1000
  s.rejected(price_market_at(2000, 1, "2100", 999), Reason::StaleUpdate);
  s.rejected(price_asset_at(2000, 1, "2100", 500), Reason::StaleUpdate);
  EXPECT_EQ(s.state().markets.at(1).oracle.price, units("2000", 18));
  EXPECT_EQ(s.state().markets.at(1).oracle.publish_ts, 1000u);
  // Not older than the stored publish_ts: applied.
  s.applied(price_market_at(2000, 1, "2050", 1000));
  EXPECT_EQ(s.state().markets.at(1).oracle.price, units("2050", 18));
  s.applied(price_asset_at(2000, 1, "2050", 1500));
  EXPECT_EQ(s.state().assets.at(1).oracle.publish_ts, 1500u);
}

TEST(MachineReasons, PriceOutOfBand) {
  // Oracle 2000, max_trade_deviation 0.05: |price − 2000|·WAD ≤ 2000·0.05·WAD ⇔ price ∈ [1900, 2100].
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 1, 0, "10000"));
  s.applied(deposit(2000, 2, 0, "10000"));
  s.rejected(trade(3000, 1, 1, 2, "1", "2100.000000000000000001"), Reason::PriceOutOfBand);
  s.rejected(trade(3000, 1, 1, 2, "1", "1899.999999999999999999"), Reason::PriceOutOfBand);
  s.rejected(trade(3000, 1, 1, 2, "-1", "2500"), Reason::PriceOutOfBand);
  EXPECT_EQ(s.position(1, 1), nullptr);
  // Exactly at the edges: applied. Taker 1 buys 1 at 2100: quote −2100·10^6;
  // then sells 1 at 1900: quote +1900·10^6 → the position closes (base 0) and
  // its quote −200·10^6 settles into the balance: 10000 − 200 = 9800 USDC.
  s.applied(trade(3000, 1, 1, 2, "1", "2100"));
  EXPECT_EQ(s.held(1, 1).quote, Int(-2'100'000'000LL));
  s.applied(trade(3000, 1, 1, 2, "-1", "1900"));
  EXPECT_EQ(s.position(1, 1), nullptr);
  EXPECT_EQ(s.balance(1, 0), Int(9'800'000'000LL));
  EXPECT_EQ(s.balance(2, 0), Int(10'200'000'000LL));
}

TEST(MachineReasons, NotBorrowable) {
  // The quote asset is not borrowable at genesis (SPEC §2).
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 13, 0, "100"));
  s.rejected(withdraw(3000, 13, 0, "100.000001"), Reason::NotBorrowable);
  EXPECT_EQ(s.balance(13, 0), Int(100'000'000));
  s.applied(withdraw(3000, 13, 0, "100"));
  EXPECT_EQ(s.balance(13, 0), Int(0));
  ASSERT_NE(s.state().account(13), nullptr);  // accounts are never deleted
}

// Token scenario (used by InsufficientBalance and TokenLiquidation): account 10
// deposits 1 ETH at 2000 and borrows 1400 DAI: H_init = 1·2000·0.8 − 1400·1.1 = 1600 − 1540 = 60 ≥ 0.
void token_setup(Scenario& s) {
  s.applied(kGenesisPartial);
  s.applied(kListEth);
  s.applied(dai_spec("list_asset", true));
  s.applied(price_asset(1000, 1, "2000"));
  s.applied(price_asset(1000, 2, "1"));
  s.applied(deposit(2000, 10, 1, "1"));
  s.applied(withdraw(2000, 10, 2, "1400"));
  EXPECT_EQ(s.balance(10, 2), Int(-1'400'000'000LL));
}

TEST(MachineReasons, InsufficientBalance) {
  Scenario s;
  token_setup(s);
  s.applied(deposit(2000, 20, 0, "10000"));
  s.applied(deposit(2000, 20, 2, "100"));
  // DAI stops being borrowable; the liquidator holds 100 DAI but r* = 806.34921 DAI
  // (see TokenLiquidation): its DAI balance would go negative.
  s.applied(dai_spec("set_asset", false, 2000));
  s.applied(price_asset(3000, 1, "1580"));
  s.rejected(liquidate_token(4000, 20, 10, 2, 1), Reason::InsufficientBalance);
  EXPECT_EQ(s.balance(20, 2), Int(100'000'000));
  // Within its balance (max_repay 100 DAI) it may liquidate.
  const Outcome& out = s.applied(liquidate_token(4000, 20, 10, 2, 1, R"(,"max_repay":"100")"));
  ASSERT_TRUE(out.audit && out.audit->executed);
  EXPECT_EQ(out.audit->executed.value(), Int(100'000'000));
  EXPECT_EQ(s.balance(20, 2), Int(0));
}

TEST(MachineReasons, InsufficientHealthWithdraw) {
  // 1200 USDC, borrow ETH at 2000 with liab_weight.init 1.2: each ETH costs 2400 of H_init.
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 12, 0, "1200"));
  // 0.5 ETH + 1 wei: term = ⌊−(5·10^17+1)·2000·10^6·1.2 / 10^18⌋ = ⌊−1200000000.0000000024⌋
  // = −1200000001 → H_init = 1200000000 − 1200000001 = −1 < 0.
  s.rejected(withdraw(3000, 12, 1, "0.500000000000000001"), Reason::InsufficientHealth);
  EXPECT_EQ(s.balance(12, 1), Int(0));
  // 0.5 ETH: term = −1200·10^6 → H_init = 0 ≥ 0: applied.
  s.applied(withdraw(3000, 12, 1, "0.5"));
  EXPECT_EQ(s.balance(12, 1), Int(-500'000'000'000'000'000LL));
}

TEST(MachineReasons, InsufficientHealthTradeLowersNegativeInit) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_market(4000, 1, "1800"));
  // Account 7 at 1800: pnl = 4·1800 − 8000 = −800; req_init = 7200·0.1 = 720;
  // H_init = 1000 − 800 − 720 = −520 USDC.
  // Buying 0.1 more at 1800 (cost 180): position (4.1, −8180), notional 7380,
  // pnl −800, req 738 → H_init = 1000 − 800 − 738 = −538 < −520: rejected.
  s.rejected(trade(5000, 1, 7, 8, "0.1", "1800"), Reason::InsufficientHealth);
  // Selling 1 at 1800 reduces risk: position (3, −6200), pnl 5400 − 6200 = −800,
  // req 540 → H_init = −340 ≥ −520: applied although still negative.
  s.applied(trade(5000, 1, 7, 8, "-1", "1800"));
  EXPECT_EQ(s.held(7, 1).base, Int(3'000'000'000LL));
  EXPECT_EQ(s.held(7, 1).quote, Int(-6'200'000'000LL));
  // The maker's side moved too: (−3, 8000 − 1800 = 6200).
  EXPECT_EQ(s.held(8, 1).base, Int(-3'000'000'000LL));
  EXPECT_EQ(s.held(8, 1).quote, Int(6'200'000'000LL));
}

TEST(MachineReasons, NotLiquidatable) {
  Scenario s;
  spec8_setup(s, "");
  // At 2000 account 7 is healthy: pnl 0, H_init = 1000 − 800 = 200.
  s.rejected(liquidate_perp(3000, 8, 7, 1), Reason::NotLiquidatable);
  // At 1900: pnl = 7600 − 8000 = −400; H_maint = 1000 − 400 − 7600·0.05 = 220 ≥ 0,
  // H_init = 600 − 760 = −160: MARGIN_CALL, still not liquidatable.
  s.applied(price_market(4000, 1, "1900"));
  const Outcome& out = s.rejected(liquidate_perp(5000, 8, 7, 1), Reason::NotLiquidatable);
  ASSERT_TRUE(out.audit && out.audit->pre);
  EXPECT_EQ(out.audit->pre.value().status, AccountStatus::MarginCall);
  EXPECT_EQ(out.audit->pre.value().h_maint, Int(220'000'000));
  EXPECT_EQ(out.audit->pre.value().h_init, Int(-160'000'000));
  EXPECT_FALSE(out.audit->executed.has_value());
}

TEST(MachineReasons, NothingToLiquidate) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(deposit(3000, 9, 0, "50"));
  s.applied(price_market(4000, 1, "1800"));
  // Account 9 has no position in ETH-PERP.
  s.rejected(liquidate_perp(5000, 8, 9, 1), Reason::NothingToLiquidate);
  // Account 7 (liquidatable at 1800) has no debt in ETH (liability_asset 1).
  s.rejected(liquidate_token(5000, 8, 7, 1, 0), Reason::NothingToLiquidate);
}

TEST(MachineReasons, SelfLiquidation) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_market(4000, 1, "1800"));
  s.rejected(liquidate_perp(5000, 7, 7, 1), Reason::SelfLiquidation);
}

TEST(MachineReasons, LiquidatorUnhealthy) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_market(4000, 1, "1800"));
  s.applied(deposit(4000, 30, 0, "10"));
  // Liquidator 30 would take over 2.906 ETH at 1800: position (2.906, −5230.8),
  // pnl 0, req_init = 5230.8·0.1 = 523.08; balance 10 + 26.154 (its penalty share)
  // → H_init = 36.154 − 523.08 < 0.
  s.rejected(liquidate_perp(5000, 30, 7, 1), Reason::LiquidatorUnhealthy);
  EXPECT_EQ(s.position(30, 1), nullptr);
  EXPECT_EQ(s.balance(30, 0), Int(10'000'000));
  // A liquidator that does not exist yet: created, then the creation is undone.
  s.rejected(liquidate_perp(5000, 31, 7, 1), Reason::LiquidatorUnhealthy);
  EXPECT_EQ(s.state().account(31), nullptr);
  // Account 8 can.
  s.applied(liquidate_perp(5000, 8, 7, 1));
}

TEST(MachineReasons, ArithmeticOverflowDeposit) {
  // Balances are 256-bit two's complement: max 2^255 − 1 ≈ 5.79·10^76.
  // 5·10^70 USDC = 5·10^76 base units fits; twice that (10^77) does not.
  const std::string huge = "5" + std::string(70, '0');
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 1, 0, huge));
  EXPECT_EQ(s.balance(1, 0), I("5" + std::string(76, '0')));
  s.rejected(deposit(2000, 1, 0, huge), Reason::ArithmeticOverflow);
  EXPECT_EQ(s.balance(1, 0), I("5" + std::string(76, '0')));
}

TEST(MachineReasons, ArithmeticOverflowPrice) {
  // "1" followed by 59 zeros, WAD-scaled: 10^77 > 2^255 − 1.
  Scenario s;
  base_fixture(s);
  s.rejected(price_market(2000, 1, "1" + std::string(59, '0')), Reason::ArithmeticOverflow);
  s.rejected(price_asset(2000, 1, "1" + std::string(59, '0')), Reason::ArithmeticOverflow);
  EXPECT_EQ(s.state().markets.at(1).oracle.price, units("2000", 18));
}

TEST(MachineReasons, ArithmeticOverflowInHealth) {
  // 10^58 ETH = 10^76 wei (fits) at a price of 10^21 USDC: its value
  // 10^76 · 10^21 · 10^6 / 10^18 = 10^85 quote units cannot be held in 256 bits.
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 50, 1, "1" + std::string(58, '0')));
  s.applied(deposit(2000, 50, 0, "10"));
  s.applied(price_asset(3000, 1, "1" + std::string(21, '0')));
  s.rejected(withdraw(3000, 50, 0, "1"), Reason::ArithmeticOverflow);
  EXPECT_EQ(s.balance(50, 0), Int(10'000'000));
}

// ==== 2. check order ================================================================

TEST(MachineCheckOrder, UnknownIdsFirst) {
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 1, 0, "10000"));
  // Unknown market and self-trade.
  s.rejected(trade(3000, 9, 1, 1, "1", "2000"), Reason::UnknownMarket);
  // Unknown market and self-liquidation.
  s.rejected(liquidate_perp(3000, 1, 1, 9), Reason::UnknownMarket);
  // Unknown account and a zero amount.
  s.rejected(withdraw(3000, 99, 0, "0"), Reason::UnknownAccount);
  // Unknown asset and a zero amount.
  s.rejected(deposit(3000, 1, 5, "0"), Reason::UnknownAsset);
  // Unknown account and self-liquidation.
  s.rejected(liquidate_perp(3000, 99, 99, 1), Reason::UnknownAccount);
}

TEST(MachineCheckOrder, OwnFieldsBeforePrices) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_market(4000, 1, "1800"));
  s.applied(price_asset(4000, 1, "2000"));
  s.applied(deposit(4000, 11, 1, "1"));
  s.applied(deposit(4000, 11, 0, "100"));
  const uint64_t stale = 4000 + kMaxAge + 1;  // every price is stale from here on
  // Self-liquidation on a stale price.
  s.rejected(liquidate_perp(stale, 7, 7, 1), Reason::SelfLiquidation);
  // The price is indeed stale for a valid liquidation.
  s.rejected(liquidate_perp(stale, 8, 7, 1), Reason::StaleOracle);
  // Self-trade on a stale price, out of band as well.
  s.rejected(trade(stale, 1, 7, 7, "1", "5000"), Reason::SelfTrade);
  // Zero base on a stale price.
  s.rejected(trade(stale, 1, 7, 8, "0", "1800"), Reason::InvalidAmount);
  // Withdrawal beyond the balance of a non-borrowable asset, with ETH stale.
  s.rejected(withdraw(stale, 11, 0, "101"), Reason::NotBorrowable);
  s.rejected(withdraw(stale, 11, 0, "1"), Reason::StaleOracle);
  // No position in the market, with ETH stale.
  s.rejected(liquidate_perp(stale, 8, 11, 1), Reason::NothingToLiquidate);
  // liability = collateral and self-liquidation: INVALID_PARAMS comes first in §4's list.
  s.rejected(liquidate_token(stale, 11, 11, 1, 1), Reason::InvalidParams);
}

TEST(MachineCheckOrder, PricesBeforeStateRules) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_market(4000, 1, "1800"));
  // Out of band (1800 ± 90) and it would lower account 7's negative H_init.
  s.rejected(trade(5000, 1, 7, 8, "0.1", "1900"), Reason::PriceOutOfBand);
  // Stale and out of band: stale first.
  s.rejected(trade(4000 + kMaxAge + 1, 1, 7, 8, "0.1", "1900"), Reason::StaleOracle);
  // Stale and healthy (account 8): STALE_ORACLE before NOT_LIQUIDATABLE.
  s.rejected(liquidate_perp(4000 + kMaxAge + 1, 7, 8, 1), Reason::StaleOracle);
}

// ==== 3. SPEC §8 end to end ============================================================
//
// At 1800 account 7 (1000 USDC, long 4 at 8000):
//   notional 4·1800 = 7200, pnl 7200 − 8000 = −800, equity 1000 − 800 = 200
//   H_init   = 200 − 7200·0.1   = −520
//   H_target = 200 − 7200·0.075 = −340
//   H_maint  = 200 − 7200·0.05  = −160
//   HF_maint = WAD·A/L with A = 1000, L = 360 + 800 = 1160 → ⌊10^18·1000/1160⌋ = 862068965517241379
// Closing s ETH: T = 1800·s, F = ⌈T·0.01⌉ = 18·s, quote −8000 + 1782·s,
//   pnl = 1800(4 − s) − 8000 + 1782 s = −800 − 18 s, req_target = 135(4 − s)
//   H_target(s) = 1000 − 800 − 18 s − 540 + 135 s = −340 + 117 s ≥ 0 ⇔ s ≥ 2.90598…
//   → k* = 2906 lots, s* = 2.906 ETH = 2906000000; H_target(2.906) = −340 + 340.002 = +0.002 USDC = 2000
//   (H_target(2.905) = −0.115 < 0); 4 − 2.906 = 1.094 ≥ min_position 0.01: no dust rule.

void expect_spec8_pre(const LiquidationAudit& audit) {
  ASSERT_TRUE(audit.pre);
  EXPECT_EQ(audit.pre->equity, Int(200'000'000));
  EXPECT_EQ(audit.pre->h_init, Int(-520'000'000));
  EXPECT_EQ(audit.pre->h_target, Int(-340'000'000));
  EXPECT_EQ(audit.pre->h_maint, Int(-160'000'000));
  ASSERT_TRUE(audit.pre->hf_maint);
  EXPECT_EQ(audit.pre->hf_maint.value(), I("862068965517241379"));
  EXPECT_EQ(audit.pre->status, AccountStatus::Liquidatable);
}

TEST(MachineSpec8, CloseFactorAllowsTheWholePosition) {
  // The ten lines of SPEC §8 as written.
  Scenario s;
  const std::vector<std::string> lines = lines_of(kSpec8Example);
  ASSERT_EQ(lines.size(), 10u);
  for (size_t i = 0; i + 1 < lines.size(); ++i) s.applied(lines[i]);
  const Outcome& out = s.applied(lines.back());
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  expect_spec8_pre(a);
  EXPECT_EQ(a.kind, LiquidationKind::Perp);
  EXPECT_EQ(a.policy.kind, PolicyKind::CloseFactor);
  // HF_maint = 1000/1160 < 0.95 → close_factor allows |base| = 4 ETH.
  EXPECT_EQ(a.required.value(), Int(2'906'000'000LL));
  EXPECT_EQ(a.allowed.value(), Int(4'000'000'000LL));
  EXPECT_EQ(a.executed.value(), Int(4'000'000'000LL));
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::AllowedExcess));
  // T = 4·1800 = 7200 USDC, F = ⌈7200·0.01⌉ = 72 USDC: 36 / 21.6 / 14.4.
  ASSERT_TRUE(a.penalty);
  EXPECT_EQ(a.penalty.value().total, Int(72'000'000));
  EXPECT_EQ(a.penalty.value().liquidator, Int(36'000'000));
  EXPECT_EQ(a.penalty.value().insurance, Int(21'600'000));
  EXPECT_EQ(a.penalty.value().treasury, Int(14'400'000));
  // Excess: 4 − 2.906 = 1.094 ETH; its penalty 72 − 52.308 = 19.692 USDC.
  ASSERT_TRUE(a.excess_size && a.excess_penalty);
  EXPECT_EQ(a.excess_size.value(), Int(1'094'000'000));
  EXPECT_EQ(a.excess_penalty.value(), Int(19'692'000));
  // Account 7's position closes: quote −8000 + 7200 − 72 = −872 settles into 1000 → 128 USDC.
  EXPECT_EQ(s.position(7, 1), nullptr);
  EXPECT_EQ(s.balance(7, 0), Int(128'000'000));
  ASSERT_TRUE(a.post);
  EXPECT_EQ(a.post.value().equity, Int(128'000'000));
  EXPECT_EQ(a.post.value().h_target, Int(128'000'000));
  EXPECT_FALSE(a.post.value().hf_maint.has_value());  // no liabilities: ∞
  EXPECT_EQ(a.post.value().status, AccountStatus::Healthy);
  // Account 8 takes over +4 for −7200: (−4 + 4, 8000 − 7200) closes, 800 settles;
  // plus its 36 share: 100000 + 800 + 36 = 100836 USDC.
  EXPECT_EQ(s.position(8, 1), nullptr);
  EXPECT_EQ(s.balance(8, 0), Int(100'836'000'000LL));
  EXPECT_EQ(s.funds(0).insurance, Int(21'600'000));  // T exact: no dust
  EXPECT_EQ(s.funds(0).treasury, Int(14'400'000));
}

TEST(MachineSpec8, PartialClosesExactlySStar) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_market(4000, 1, "1800"));
  const Outcome& out = s.applied(liquidate_perp(5000, 8, 7, 1));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  expect_spec8_pre(a);
  EXPECT_EQ(a.required.value(), Int(2'906'000'000LL));
  EXPECT_EQ(a.allowed.value(), Int(2'906'000'000LL));
  EXPECT_EQ(a.executed.value(), Int(2'906'000'000LL));
  EXPECT_FALSE(a.requested.has_value());
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::Minimal));
  EXPECT_EQ(a.flags & kFlagDustRule, 0u);
  // T = 2.906·1800 = 5230.8 USDC; F = ⌈5230.8·0.01⌉ = 52.308 USDC = 52308000;
  // liquidator ⌊52308000·0.5⌋ = 26154000, insurance ⌊52308000·0.3⌋ = 15692400,
  // treasury 52308000 − 26154000 − 15692400 = 10461600.
  ASSERT_TRUE(a.penalty);
  EXPECT_EQ(a.penalty.value().total, Int(52'308'000));
  EXPECT_EQ(a.penalty.value().liquidator, Int(26'154'000));
  EXPECT_EQ(a.penalty.value().insurance, Int(15'692'400));
  EXPECT_EQ(a.penalty.value().treasury, Int(10'461'600));
  ASSERT_TRUE(a.closed_value);
  EXPECT_EQ(a.closed_value.value(), Int(5'230'800'000LL));
  // Account 7: base 4 − 2.906 = 1.094, quote −8000 + 5230.8 − 52.308 = −2821.508.
  ASSERT_NE(s.position(7, 1), nullptr);
  EXPECT_EQ(s.held(7, 1).base, Int(1'094'000'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(-2'821'508'000LL));
  EXPECT_EQ(s.balance(7, 0), Int(1'000'000'000));
  // Post: notional 1.094·1800 = 1969.2, pnl 1969.2 − 2821.508 = −852.308
  //   equity   = 1000 − 852.308 = 147.692
  //   H_target = 147.692 − 1969.2·0.075 (147.69) = 0.002 USDC = 2000
  //   H_maint  = 147.692 − 98.46 = 49.232;  H_init = 147.692 − 196.92 = −49.228 → MARGIN_CALL
  ASSERT_TRUE(a.post);
  EXPECT_EQ(a.post.value().equity, Int(147'692'000));
  EXPECT_EQ(a.post.value().h_target, Int(2'000));
  EXPECT_GE(a.post.value().h_target, Int(0));
  EXPECT_EQ(a.post.value().h_maint, Int(49'232'000));
  EXPECT_EQ(a.post.value().h_init, Int(-49'228'000));
  EXPECT_EQ(a.post.value().status, AccountStatus::MarginCall);
  // Account 8: (−4 + 2.906, 8000 − 5230.8) = (−1.094, 2769.2), balance 100000 + 26.154.
  EXPECT_EQ(s.held(8, 1).base, Int(-1'094'000'000));
  EXPECT_EQ(s.held(8, 1).quote, Int(2'769'200'000LL));
  EXPECT_EQ(s.balance(8, 0), Int(100'026'154'000LL));
  EXPECT_EQ(s.funds(0).insurance, Int(15'692'400));
  EXPECT_EQ(s.funds(0).treasury, Int(10'461'600));
  EXPECT_EQ(s.funds(0).bad_debt, Int(0));
}

TEST(MachineSpec8, CloseFactorAboveFullLiquidationHf) {
  // §8 under close_factor with the price at 1840 instead of 1800:
  //   pnl = 7360 − 8000 = −640, H_maint = 1000 − 640 − 7360·0.05 (368) = −8 → LIQUIDATABLE
  //   HF_maint = 1000 / (368 + 640) = 1000/1008 ≥ 0.95 → allowed = roundup_lot(⌈4·0.5⌉) = 2 ETH.
  //   H_target(s) = 1000 − 640 − 18.4 s − 138(4 − s) = −192 + 119.6 s ≥ 0 ⇔ s ≥ 1.60535…
  //   → s* = 1.606 ETH (1.605 → −0.042 USDC, 1.606 → +0.0776).
  // Executed 2 ETH: T = 3680 USDC, F = 36.8 USDC → 18.4 / 11.04 / 7.36; excess 0.394 ETH.
  Scenario s;
  spec8_setup(s, kCloseFactor);
  s.applied(price_market(4000, 1, "1840"));
  const Outcome& out = s.applied(liquidate_perp(5000, 8, 7, 1));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre.value().h_maint, Int(-8'000'000));
  EXPECT_EQ(a.required.value(), Int(1'606'000'000));
  EXPECT_EQ(a.allowed.value(), Int(2'000'000'000));
  EXPECT_EQ(a.executed.value(), Int(2'000'000'000));
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::AllowedExcess));
  EXPECT_EQ(a.excess_size.value(), Int(394'000'000));
  EXPECT_EQ(a.penalty.value().total, Int(36'800'000));
  EXPECT_EQ(a.penalty.value().liquidator, Int(18'400'000));
  EXPECT_EQ(a.penalty.value().insurance, Int(11'040'000));
  EXPECT_EQ(a.penalty.value().treasury, Int(7'360'000));
  // Account 7: (4 − 2, −8000 + 3680 − 36.8) = (2, −4356.8).
  EXPECT_EQ(s.held(7, 1).base, Int(2'000'000'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(-4'356'800'000LL));
}

TEST(MachineSpec8, FullPolicyExecutesEverything) {
  Scenario s;
  spec8_setup(s, kFull);
  EXPECT_EQ(s.state().protocol.policy.kind, PolicyKind::Full);
  s.applied(price_market(4000, 1, "1800"));
  const Outcome& out = s.applied(liquidate_perp(5000, 8, 7, 1));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.required.value(), Int(2'906'000'000LL));
  EXPECT_EQ(a.allowed.value(), Int(4'000'000'000LL));
  EXPECT_EQ(a.executed.value(), Int(4'000'000'000LL));
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::AllowedExcess));
  EXPECT_EQ(a.penalty.value().total, Int(72'000'000));
  EXPECT_EQ(s.balance(7, 0), Int(128'000'000));
}

TEST(MachineSpec8, MaxBaseUnderPartial) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(price_market(4000, 1, "1800"));
  const Outcome& out = s.applied(liquidate_perp(5000, 8, 7, 1, R"(,"max_base":"1")"));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.required.value(), Int(2'906'000'000LL));
  EXPECT_EQ(a.allowed.value(), Int(2'906'000'000LL));
  EXPECT_EQ(a.requested.value(), Int(1'000'000'000));
  EXPECT_EQ(a.executed.value(), Int(1'000'000'000));
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::Under));
  // T = 1800, F = 18: 9 / 5.4 / 3.6.
  EXPECT_EQ(a.penalty.value().total, Int(18'000'000));
  EXPECT_EQ(a.penalty.value().liquidator, Int(9'000'000));
  EXPECT_EQ(a.penalty.value().insurance, Int(5'400'000));
  EXPECT_EQ(a.penalty.value().treasury, Int(3'600'000));
  // Post: (3, −8000 + 1800 − 18 = −6218); pnl 5400 − 6218 = −818;
  // H_target = 1000 − 818 − 5400·0.075 (405) = −223 USDC.
  EXPECT_EQ(s.held(7, 1).base, Int(3'000'000'000LL));
  EXPECT_EQ(s.held(7, 1).quote, Int(-6'218'000'000LL));
  EXPECT_EQ(a.post.value().h_target, Int(-223'000'000));
}

TEST(MachineSpec8, ShortPositionOnARisingPrice) {
  // Account 7 (1000 USDC) sells 4 at 2000: position (−4, +8000). At 2200:
  //   notional −8800, pnl −800, equity 200
  //   H_init = 200 − 880 = −680, H_target = 200 − 660 = −460, H_maint = 200 − 440 = −240
  // Closing s: the short pays ⌈T⌉ = 2200 s, F = 22 s; quote 8000 − 2222 s;
  //   pnl = −2200(4 − s) + 8000 − 2222 s = −800 − 22 s; req_target = 165(4 − s)
  //   H_target(s) = 1000 − 800 − 22 s − 660 + 165 s = −460 + 143 s ≥ 0 ⇔ s ≥ 3.21678…
  //   → s* = 3.217 ETH; H_target = −460 + 460.031 = 0.031 USDC = 31000 (3.216 → −0.112).
  //   T = 3.217·2200 = 7077.4 USDC, F = 70.774 USDC = 70774000:
  //   35387000 / ⌊70774000·0.3⌋ = 21232200 / 70774000 − 35387000 − 21232200 = 14154800.
  Scenario s;
  s.applied(kGenesisPartial);
  s.applied(kListEth);
  s.applied(kListPerp);
  s.applied(price_market(1000, 1, "2000"));
  s.applied(deposit(2000, 7, 0, "1000"));
  s.applied(deposit(2000, 8, 0, "100000"));
  s.applied(trade(3000, 1, 7, 8, "-4", "2000"));
  s.applied(price_market(4000, 1, "2200"));
  const Outcome& out = s.applied(liquidate_perp(5000, 8, 7, 1));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre.value().equity, Int(200'000'000));
  EXPECT_EQ(a.pre.value().h_init, Int(-680'000'000));
  EXPECT_EQ(a.pre.value().h_target, Int(-460'000'000));
  EXPECT_EQ(a.pre.value().h_maint, Int(-240'000'000));
  EXPECT_EQ(a.pre.value().status, AccountStatus::Liquidatable);
  EXPECT_EQ(a.required.value(), Int(3'217'000'000LL));
  EXPECT_EQ(a.executed.value(), Int(3'217'000'000LL));
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::Minimal));
  EXPECT_EQ(a.penalty.value().total, Int(70'774'000));
  EXPECT_EQ(a.penalty.value().liquidator, Int(35'387'000));
  EXPECT_EQ(a.penalty.value().insurance, Int(21'232'200));
  EXPECT_EQ(a.penalty.value().treasury, Int(14'154'800));
  // Account 7: (−4 + 3.217, 8000 − 7077.4 − 70.774) = (−0.783, 851.826).
  EXPECT_EQ(s.held(7, 1).base, Int(-783'000'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(851'826'000));
  ASSERT_TRUE(a.post);
  EXPECT_EQ(a.post.value().h_target, Int(31'000));
  // equity = 1000 + (−0.783·2200 + 851.826) = 1000 − 870.774 = 129.226.
  EXPECT_EQ(a.post.value().equity, Int(129'226'000));
  // Account 8 (long 4 at −8000) takes over −3.217 receiving 7077.4: (0.783, −922.6).
  EXPECT_EQ(s.held(8, 1).base, Int(783'000'000));
  EXPECT_EQ(s.held(8, 1).quote, Int(-922'600'000));
  EXPECT_EQ(s.balance(8, 0), Int(100'035'387'000LL));
}

// ==== 4. token liquidation ===============================================================
//
// Account 10: +1 ETH (10^18 wei), −1400 DAI (−1400·10^6). ETH falls to 1580:
//   H_maint  = 1580·0.9  − 1400·1.02 = 1422 − 1428 = −6      → LIQUIDATABLE
//   H_target = 1580·0.85 − 1400·1.05 = 1343 − 1470 = −127
//   H_init   = 1580·0.8  − 1400·1.1  = 1264 − 1540 = −276;  equity 1580 − 1400 = 180
// seize_exact(r) (r in DAI units, result in wei)
//   = r · 10^18 · 10^18 · 1.05·10^18 / (10^6 · 1580·10^18 · 10^18) = r · 105·10^9 / 158
// cap: r_max_C = ⌊10^18 · 158 / (105·10^9)⌋ = 1504761904 > 1400·10^6 → cap = 1400000000.
// ok(r): ⌊(10^18 − ⌈seize⌉) · 1343 / 10^12⌋ + ⌊−(1400·10^6 − r) · 1.05⌋ ≥ 0
//   (approximately −127 + 0.1575·r/10^6 ≥ 0 → r ≈ 806.349 DAI). Exactly:
//   r = 806349210: ⌈seize⌉ = ⌈84666667050·10^9/158⌉ = 535864981329113925,
//     ETH left 464135018670886075 → ⌊…·1343/10^12⌋ = ⌊623333330.075⌋ = 623333330;
//     debt 593650790 · 1.05 = 623333329.5 → ⌊−623333329.5⌋ = −623333330;  total 0 ≥ 0 ✓
//   r = 806349209: ⌈seize⌉ = 535864980664556963, ETH left 464135019335443037 → 623333330;
//     debt 593650791 · 1.05 = 623333330.55 → −623333331; total −1 < 0 ✗
//   and ok is monotonic, so r* = 806349210.
// Seizure: ⌊seize⌋ = 535864981329113924, ⌈⌉ = …925 (dust 1 wei);
//   base part ⌊r·10^12/1580⌋ = ⌊510347601265822784.8⌋ = 510347601265822784;
//   bonus_units = 535864981329113924 − 510347601265822784 = 25517380063291140
//   insurance ⌊bonus·0.3⌋ = 7655214018987342, liquidator share ⌊bonus·0.5⌋ = 12758690031645570,
//   treasury 25517380063291140 − 12758690031645570 − 7655214018987342 = 5103476012658228
//   liquidator gets 535864981329113924 − 7655214018987342 − 5103476012658228 = 523106291297468354.

TEST(MachineToken, RepaysRStarAndSeizesWithBonus) {
  Scenario s;
  token_setup(s);
  s.applied(deposit(2000, 20, 2, "10000"));
  s.applied(price_asset(3000, 1, "1580"));
  const Outcome& out = s.applied(liquidate_token(4000, 20, 10, 2, 1));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.kind, LiquidationKind::Token);
  EXPECT_EQ(a.liability, 2u);
  EXPECT_EQ(a.collateral, 1u);
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre.value().equity, Int(180'000'000));
  EXPECT_EQ(a.pre.value().h_init, Int(-276'000'000));
  EXPECT_EQ(a.pre.value().h_target, Int(-127'000'000));
  EXPECT_EQ(a.pre.value().h_maint, Int(-6'000'000));
  EXPECT_EQ(a.pre.value().status, AccountStatus::Liquidatable);
  EXPECT_EQ(a.required.value(), Int(806'349'210));
  EXPECT_EQ(a.allowed.value(), Int(806'349'210));
  EXPECT_EQ(a.executed.value(), Int(806'349'210));
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::Minimal));
  ASSERT_TRUE(a.seized);
  EXPECT_EQ(a.seized.value(), I("535864981329113925"));
  ASSERT_TRUE(a.penalty);
  EXPECT_EQ(a.penalty.value().total, I("25517380063291140"));
  EXPECT_EQ(a.penalty.value().liquidator, I("12758690031645570"));
  EXPECT_EQ(a.penalty.value().insurance, I("7655214018987342"));
  EXPECT_EQ(a.penalty.value().treasury, I("5103476012658228"));
  // Balances: account 10 ETH 10^18 − 535864981329113925, DAI −1400·10^6 + 806349210.
  EXPECT_EQ(s.balance(10, 1), I("464135018670886075"));
  EXPECT_EQ(s.balance(10, 2), Int(-593'650'790));
  // Liquidator 20: DAI 10000·10^6 − 806349210; ETH ⌊seize⌋ − insurance − treasury parts.
  EXPECT_EQ(s.balance(20, 2), Int(9'193'650'790LL));
  EXPECT_EQ(s.balance(20, 1), I("523106291297468354"));
  // insurance[ETH] = dust 1 + 7655214018987342; treasury[ETH] = 5103476012658228.
  EXPECT_EQ(s.funds(1).insurance, I("7655214018987343"));
  EXPECT_EQ(s.funds(1).treasury, I("5103476012658228"));
  // Post H_target = 0 (worked out above): exactly restored.
  ASSERT_TRUE(a.post);
  EXPECT_EQ(a.post.value().h_target, Int(0));
}

TEST(MachineToken, MaxRepayBelowRStarIsUnder) {
  // r = 100 DAI: seize_exact = 10^8·105·10^9/158 = 66455696202531645.57 → give 66455696202531646,
  // ⌊⌋ 66455696202531645; base part ⌊10^20/1580⌋ = 63291139240506329;
  // bonus 3164556962025316: insurance 949367088607594, liquidator share 1582278481012658,
  // treasury 3164556962025316 − 1582278481012658 − 949367088607594 = 632911392405064.
  Scenario s;
  token_setup(s);
  s.applied(deposit(2000, 20, 2, "10000"));
  s.applied(price_asset(3000, 1, "1580"));
  const Outcome& out = s.applied(liquidate_token(4000, 20, 10, 2, 1, R"(,"max_repay":"100")"));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.required.value(), Int(806'349'210));
  EXPECT_EQ(a.requested.value(), Int(100'000'000));
  EXPECT_EQ(a.executed.value(), Int(100'000'000));
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::Under));
  EXPECT_EQ(a.seized.value(), I("66455696202531646"));
  EXPECT_EQ(a.penalty.value().total, I("3164556962025316"));
  EXPECT_EQ(s.balance(10, 1), I("933544303797468354"));  // 10^18 − 66455696202531646
  EXPECT_EQ(s.balance(10, 2), Int(-1'300'000'000LL));
  // 66455696202531645 − 949367088607594 − 632911392405064 = 64873417721518987
  EXPECT_EQ(s.balance(20, 1), I("64873417721518987"));
  EXPECT_EQ(s.funds(1).insurance, I("949367088607595"));  // + 1 wei dust
  EXPECT_EQ(s.funds(1).treasury, I("632911392405064"));
}

// ==== 5. bankruptcy ===================================================================
//
// §8 account 7 at 1500: pnl = 6000 − 8000 = −2000, equity −1000 → BANKRUPT.
// H_target(s) = 1000 − 2000 − 15 s − 112.5(4 − s) = −1450 + 97.5 s < 0 for every s ≤ 4,
// so s* = |base| = 4 (K = 4000 lots, the search ends at hi). T = 6000, F = 60:
// 30 / 18 / 12. Account 7's quote −8000 + 6000 − 60 = −2060 settles: 1000 − 2060 = −1060 USDC,
// no position, nothing positive left → closed out. insurance[USDC] at that point:
// 500 deposited + 18 (penalty share) + 0 dust = 518 → covered 518, bad debt 1060 − 518 = 542.

TEST(MachineBankruptcy, InsuranceCoversPartTheRestIsBadDebt) {
  Scenario s;
  spec8_setup(s, "");
  s.applied(insurance_deposit(3000, 0, "500"));
  EXPECT_EQ(s.funds(0).insurance, Int(500'000'000));
  s.applied(price_market(4000, 1, "1500"));
  const Outcome& out = s.applied(liquidate_perp(5000, 8, 7, 1));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre.value().equity, Int(-1'000'000'000LL));
  EXPECT_EQ(a.pre.value().status, AccountStatus::Bankrupt);
  EXPECT_EQ(a.required.value(), Int(4'000'000'000LL));
  EXPECT_EQ(a.executed.value(), Int(4'000'000'000LL));
  EXPECT_EQ(verdict_name(a.verdict), verdict_name(Verdict::Minimal));
  EXPECT_EQ(a.penalty.value().total, Int(60'000'000));
  EXPECT_EQ(a.penalty.value().insurance, Int(18'000'000));
  EXPECT_NE(a.flags & kFlagBankruptcy, 0u);
  ASSERT_TRUE(a.bankrupt);
  ASSERT_EQ(a.bankrupt.value().lines.size(), 1u);
  EXPECT_EQ(a.bankrupt.value().lines[0].asset, 0u);
  EXPECT_EQ(a.bankrupt.value().lines[0].covered, Int(518'000'000));
  EXPECT_EQ(a.bankrupt.value().lines[0].bad_debt, Int(542'000'000));
  EXPECT_EQ(a.bankrupt.value().covered_value, Int(518'000'000));
  EXPECT_EQ(a.bankrupt.value().bad_debt_value, Int(542'000'000));
  EXPECT_EQ(s.funds(0).bad_debt, Int(542'000'000));
  EXPECT_EQ(s.funds(0).insurance, Int(0));
  EXPECT_EQ(s.funds(0).treasury, Int(12'000'000));
  ASSERT_NE(s.state().account(7), nullptr);  // never deleted
  EXPECT_TRUE(s.state().account(7)->balances.empty());
  EXPECT_TRUE(s.state().account(7)->positions.empty());
  // Account 8: (−4 + 4, 8000 − 6000) closes, +2000 settles, +30 share: 102030 USDC.
  EXPECT_EQ(s.balance(8, 0), Int(102'030'000'000LL));
}

TEST(ScenarioSelfCheck, DetectsBrokenConservation) {
  Scenario s;
  base_fixture(s);
  s.applied(deposit(2000, 1, 0, "100"));
  State broken = s.state();
  broken.accounts[1].balances[0] += 1;
  std::map<AssetId, Int> net{{0, Int(100'000'000)}};
  EXPECT_TRUE(scenario::conserved(s.state(), net));
  EXPECT_FALSE(scenario::conserved(broken, net));
  broken = s.state();
  broken.accounts[1].positions[1] = Position{Int(5), Int(0)};
  EXPECT_FALSE(scenario::conserved(broken, net));
}

}  // namespace
}  // namespace liql
