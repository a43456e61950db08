// engine/liquidation.h: the arithmetic of partial liquidation (SPEC §5.1–§5.3),
// checked on hand-built States. Expected integers are worked out by hand in the
// comments (quote = USDC, qd = 6; WAD = 10^18; ETH-PERP bd = 9, so one lot
// 0.001 ETH = 10^6 base units).

#include <gtest/gtest.h>

#include <vector>

#include "engine/liquidation.h"
#include "engine/policy.h"
#include "tests/engine_fixtures.h"
#include "tools/rng.h"

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
constexpr AssetId kBtc = 2;
constexpr MarketId kEthPerp = 1;
constexpr AccountId kSpecAccount = 7;

Policy partial_policy() { return Policy{PolicyKind::Partial, Int(0), Int(0)}; }
Policy full_policy() { return Policy{PolicyKind::Full, Int(0), Int(0)}; }
Policy close_factor_policy(std::string_view close_factor, std::string_view full_hf) {
  return Policy{PolicyKind::CloseFactor, W(close_factor), W(full_hf)};
}

// The SPEC §5.3 policies through the rule objects the machine uses (engine/policy.h);
// they read neither the account nor, for tokens, the state.
Int perp_allowed(const State& state, const Policy& policy, MarketId market, const Int& abs_base, const Health& maint,
                 const Int& required) {
  const Account none;
  return rule_for(policy)->perp_allowed(PerpCase{state, none, market, abs_base, maint, required});
}
Int token_allowed(const Policy& policy, const Int& abs_debt, const Health& maint, const Int& required, const Int& cap) {
  const State none_state;
  const Account none;
  return rule_for(policy)->token_allowed(TokenCase{none_state, none, 0, 0, abs_debt, maint, required, cap});
}

// H_target of `account` in `state` with its position in market 1 replaced.
Int target_with_position(const State& state, AccountId id, const Position& position) {
  State copy = state;
  Account& account = copy.accounts.at(id);
  if (position.base.is_zero()) {
    // SPEC §4.1: the position's quote settles into the quote balance.
    account.balances[kQuoteAsset] += position.quote;
    account.positions.erase(kEthPerp);
  } else {
    account.positions[kEthPerp] = position;
  }
  return account_health(copy, account, Level::Target).value;
}

// H_target of `account` in `state` with two token balances replaced.
Int target_with_balances(const State& state, AccountId id, AssetId a, const Int& balance_a, AssetId b,
                         const Int& balance_b) {
  State copy = state;
  Account& account = copy.accounts.at(id);
  account.balances[a] = balance_a;
  account.balances[b] = balance_b;
  return account_health(copy, account, Level::Target).value;
}

// ---------------------------------------------------------------------------
// The binary search of SPEC §5.1, exactly as written

TEST(LiquidationSearch, IsExactlyTheSpecBinarySearch) {
  // ok true on every k ≥ 6 → 6
  EXPECT_EQ(lower_bound_search(Int(10), [](const Int& k) { return k >= 6; }), Int(6));
  // nothing ok → count
  EXPECT_EQ(lower_bound_search(Int(10), [](const Int&) { return false; }), Int(10));
  // everything ok → 1
  EXPECT_EQ(lower_bound_search(Int(10), [](const Int&) { return true; }), Int(1));
  // count 1 → 1
  EXPECT_EQ(lower_bound_search(Int(1), [](const Int&) { return false; }), Int(1));
  // Non-monotonic ok = {3, 8, 9, 10}: lo=1,hi=10 → mid 5 no → lo 6; mid 8 yes → hi 8;
  // mid 7 no → lo 8 → 8 (not 3: the result is what this search gives).
  std::vector<int> probed;
  const Int k = lower_bound_search(Int(10), [&](const Int& mid) {
    probed.push_back(mid.convert_to<int>());
    return mid == 3 || mid >= 8;
  });
  EXPECT_EQ(k, Int(8));
  EXPECT_EQ(probed, (std::vector<int>{5, 8, 7}));
}

// ---------------------------------------------------------------------------
// SPEC §8 worked example: account 7 long 4 ETH-PERP (quote −8000) with 1000 USDC,
// price 1800.
//
// For a lot-aligned close of s base units (long → receives ⌊T⌋):
//   T = 1.8·s exactly (1800·10^18 · 10^6 / 10^27 per unit), F = ⌈0.01·T⌉ = 0.018·s,
//   position after = (4·10^9 − s, −8000·10^6 + 1.8·s − 0.018·s)
//   pnl = 1.8·(4·10^9 − s) − 8000·10^6 + 1.8·s − 0.018·s = −800·10^6 − 0.018·s
//   req_target = 0.135·(4·10^9 − s) = 540·10^6 − 0.135·s
//   H_target(s) = 1000·10^6 − 800·10^6 − 0.018·s − 540·10^6 + 0.135·s = −340·10^6 + 0.117·s
//   ≥ 0 ⇔ s ≥ 340·10^6 / 0.117 = 2905982905.98… → k* = 2906 lots, s* = 2906·10^6.

TEST(LiquidationSpecExample, PreHealth) {
  State state = spec_state("1800");
  const Account& account = state.accounts.at(kSpecAccount);
  // H_maint = 1000 − 800 − 360 = −160 USDC; H_target = 1000 − 800 − 540 = −340 USDC
  EXPECT_EQ(account_health(state, account, Level::Maint).value, usdc("-160"));
  EXPECT_EQ(account_health(state, account, Level::Target).value, usdc("-340"));
}

TEST(LiquidationSpecExample, RequiredSizeIs2906Lots) {
  State state = spec_state("1800");
  const RequiredSize required = perp_required(state, state.accounts.at(kSpecAccount), kEthPerp);
  EXPECT_EQ(required.size, Int(2906000000LL));  // 2.906 ETH
  // |base| − s* = 1.094 ETH ≥ min_position 0.01 ETH → no dust rule
  EXPECT_FALSE(required.dust_rule);
}

TEST(LiquidationSpecExample, OneLotLessDoesNotReachTarget) {
  State state = spec_state("1800");
  // s* = 2906·10^6: T = 1.8 · 2906·10^6 = 5230.8·10^6, F = ⌈52.308·10^6⌉ = 52308000
  //   position after = (1094·10^6, −8000·10^6 + 5230.8·10^6 − 52.308·10^6 = −2821508000)
  //   notional 1.8 · 1094·10^6 = 1969.2·10^6; pnl = 1969.2 − 2821.508 = −852.308 USDC
  //   req_target = 1969.2 × 0.075 = 147.69; H_target = 1000 − 852.308 − 147.69 = +0.002 USDC = 2000
  EXPECT_EQ(target_with_position(state, kSpecAccount, Position{Int(1094000000), Int(-2821508000LL)}), Int(2000));
  // s* − lot = 2905·10^6: T = 5229·10^6, F = 52.29·10^6
  //   position after = (1095·10^6, −8000 + 5229 − 52.29 = −2823.29 USDC)
  //   notional 1971; pnl = −852.29; req = 1971 × 0.075 = 147.825
  //   H_target = 1000 − 852.29 − 147.825 = −0.115 USDC = −115000 < 0
  EXPECT_EQ(target_with_position(state, kSpecAccount, Position{Int(1095000000), Int(-2823290000LL)}), Int(-115000));

  // The engine's own building blocks give the same positions.
  const Position& position = state.accounts.at(kSpecAccount).positions.at(kEthPerp);
  for (const auto& [size, quote_after] : std::vector<std::pair<Int, Int>>{{Int(2906000000LL), Int(-2821508000LL)},
                                                                          {Int(2905000000LL), Int(-2823290000LL)}}) {
    const PerpTransfer transfer = perp_transfer(state, kEthPerp, size);
    const Int penalty = perp_penalty(state, kEthPerp, transfer.floor);
    const Position after = position_after_close(position, transfer, size, penalty);
    EXPECT_EQ(after.base, Int(4000000000LL) - size);
    EXPECT_EQ(after.quote, quote_after);
  }
}

TEST(LiquidationSpecExample, PenaltyForRequiredSizeAndItsSplit) {
  State state = spec_state("1800");
  // T = 1.8 · 2906·10^6 = 5230800000 exactly, so ⌊T⌋ = ⌈T⌉
  const PerpTransfer transfer = perp_transfer(state, kEthPerp, Int(2906000000LL));
  EXPECT_EQ(transfer.floor, Int(5230800000LL));
  EXPECT_EQ(transfer.ceil, Int(5230800000LL));
  // F = ⌈5230800000 · 0.01⌉ = 52308000 (52.308 USDC)
  EXPECT_EQ(perp_penalty(state, kEthPerp, transfer.floor), Int(52308000));
  EXPECT_EQ(perp_penalty_for_size(state, kEthPerp, Int(2906000000LL)), Int(52308000));
  // split 0.5 / 0.3: liquidator ⌊26154000⌋ = 26154000; insurance ⌊15692400⌋ = 15692400;
  // treasury 52308000 − 26154000 − 15692400 = 10461600
  const PenaltySplit split = split_penalty(state.protocol, Int(52308000));
  EXPECT_EQ(split.total, Int(52308000));
  EXPECT_EQ(split.liquidator, Int(26154000));
  EXPECT_EQ(split.insurance, Int(15692400));
  EXPECT_EQ(split.treasury, Int(10461600));
}

TEST(LiquidationSpecExample, CloseFactorAllowsEverythingBelowFullLiquidationHf) {
  State state = spec_state("1800");
  const Account& account = state.accounts.at(kSpecAccount);
  const Health maint = account_health(state, account, Level::Maint);
  const Int required = perp_required(state, account, kEthPerp).size;
  // HF_maint = 1000/1160 < 0.95 (10^18 · 1000·10^6 < 0.95·10^18 · 1160·10^6 = 1102·10^24) → the whole 4 ETH
  EXPECT_EQ(perp_allowed(state, close_factor_policy("0.5", "0.95"), kEthPerp, Int(4000000000LL), maint, required),
            Int(4000000000LL));
  // penalty for 4 ETH: T = 7200·10^6, F = 72·10^6 → 36 / 21.6 / 14.4 USDC
  EXPECT_EQ(perp_penalty_for_size(state, kEthPerp, Int(4000000000LL)), usdc("72"));
  const PenaltySplit split = split_penalty(state.protocol, usdc("72"));
  EXPECT_EQ(split.liquidator, usdc("36"));
  EXPECT_EQ(split.insurance, usdc("21.6"));
  EXPECT_EQ(split.treasury, usdc("14.4"));
  // Under partial the same liquidation is allowed exactly s* = 2.906 ETH.
  EXPECT_EQ(perp_allowed(state, partial_policy(), kEthPerp, Int(4000000000LL), maint, required), Int(2906000000LL));
}

// ---------------------------------------------------------------------------
// Policies

TEST(LiquidationPerpPolicy, FullAllowsWholePosition) {
  State state = spec_state("1800");
  const Health maint = account_health(state, state.accounts.at(kSpecAccount), Level::Maint);
  EXPECT_EQ(perp_allowed(state, full_policy(), kEthPerp, Int(4000000000LL), maint, Int(2906000000LL)),
            Int(4000000000LL));
  // whatever s* is
  EXPECT_EQ(perp_allowed(state, full_policy(), kEthPerp, Int(4000000000LL), maint, Int(1000000)), Int(4000000000LL));
}

TEST(LiquidationPerpPolicy, PartialAllowsRequired) {
  State state = spec_state("1800");
  const Health maint = account_health(state, state.accounts.at(kSpecAccount), Level::Maint);
  EXPECT_EQ(perp_allowed(state, partial_policy(), kEthPerp, Int(4000000000LL), maint, Int(1234000000)),
            Int(1234000000));
}

TEST(LiquidationPerpPolicy, CloseFactorAboveThresholdRoundsUpToLotAndCaps) {
  State state = spec_state("1800");
  const Health maint = account_health(state, state.accounts.at(kSpecAccount), Level::Maint);
  // HF_maint = 0.862… ≥ 0.8 → the close-factor branch.
  // 0.5 · 4·10^9 = 2·10^9, already a multiple of 10^6 → 2·10^9 (the policy's own rule, not s*)
  EXPECT_EQ(perp_allowed(state, close_factor_policy("0.5", "0.8"), kEthPerp, Int(4000000000LL), maint,
                         Int(2906000000LL)),
            Int(2000000000LL));
  // 0.33333333 · 4·10^9 = 1333333320 → round up to a lot: ⌈1333.33332⌉ · 10^6 = 1334·10^6
  EXPECT_EQ(perp_allowed(state, close_factor_policy("0.33333333", "0.8"), kEthPerp, Int(4000000000LL), maint,
                         Int(2906000000LL)),
            Int(1334000000LL));
  // |base| = 4000500000 (not lot-aligned), 0.9999 → 4000099950 → 4001·10^6 > |base| → capped at 4000500000
  EXPECT_EQ(perp_allowed(state, close_factor_policy("0.9999", "0.8"), kEthPerp, Int(4000500000LL), maint,
                         Int(2906000000LL)),
            Int(4000500000LL));
  // Non-integer |base|·cf: 4000500001 · 0.5 = 2000250000.5 → cdiv 2000250001 → 2001·10^6
  EXPECT_EQ(perp_allowed(state, close_factor_policy("0.5", "0.8"), kEthPerp, Int(4000500001LL), maint,
                         Int(2906000000LL)),
            Int(2001000000LL));
}

TEST(LiquidationPerpPolicy, CloseFactorThresholdIsStrict) {
  State state = spec_state("1800");
  // HF exactly 0.95 (A = 95, L = 100) is not below 0.95 → close factor 0.5 → 2·10^9
  const Health at_threshold{Int(-5), Int(95), Int(100)};
  EXPECT_EQ(perp_allowed(state, close_factor_policy("0.5", "0.95"), kEthPerp, Int(4000000000LL), at_threshold,
                         Int(1000000)),
            Int(2000000000LL));
  // one wei of WAD above → below → everything
  EXPECT_EQ(perp_allowed(state, close_factor_policy("0.5", "0.950000000000000001"), kEthPerp, Int(4000000000LL),
                         at_threshold, Int(1000000)),
            Int(4000000000LL));
}

// ---------------------------------------------------------------------------
// Dust rule and "nothing reaches the target"

TEST(LiquidationPerpRequired, DustRuleRaisesToWholePosition) {
  State state = spec_state("1800");
  // s* = 2.906 ETH leaves 1.094 ETH = 1094000000. With min_position 1.1 ETH:
  // 0 < 1094000000 < 1100000000 → s* = |base| = 4·10^9, dust flag.
  state.markets[kEthPerp].params.min_position = dec("1.1", 9);
  RequiredSize required = perp_required(state, state.accounts.at(kSpecAccount), kEthPerp);
  EXPECT_EQ(required.size, Int(4000000000LL));
  EXPECT_TRUE(required.dust_rule);

  // One base unit above the leftover: still dust.
  state.markets[kEthPerp].params.min_position = Int(1094000001);
  required = perp_required(state, state.accounts.at(kSpecAccount), kEthPerp);
  EXPECT_EQ(required.size, Int(4000000000LL));
  EXPECT_TRUE(required.dust_rule);

  // Leftover == min_position is not below it → s* stays 2.906 ETH.
  state.markets[kEthPerp].params.min_position = Int(1094000000);
  required = perp_required(state, state.accounts.at(kSpecAccount), kEthPerp);
  EXPECT_EQ(required.size, Int(2906000000LL));
  EXPECT_FALSE(required.dust_rule);
}

TEST(LiquidationPerpRequired, NothingReachesTargetGivesWholeUnalignedPosition) {
  // 100 USDC, long 4.0005 ETH bought at 2000 (quote −8001·10^6), price 1800.
  // K = ⌈4000500000 / 10^6⌉ = 4001, size(4001) = min(4001·10^6, 4000500000) = 4000500000.
  // Even a full close: ⌊T⌋ = 1.8 · 4000500000 = 7200900000, F = 72009000,
  // quote after = −8001·10^6 + 7200.9·10^6 − 72.009·10^6 = −872.109·10^6,
  // H_target = 100 − 872.109 < 0, and smaller closes leave a requirement on top.
  // → no k reaches the target, s* = |base| = 4000500000; leftover 0 → no dust flag.
  State state = spec_state("1800");
  Account& account = state.accounts.at(kSpecAccount);
  account.balances[kQuoteAsset] = usdc("100");
  account.positions[kEthPerp] = Position{Int(4000500000LL), usdc("-8001")};
  EXPECT_EQ(target_with_position(state, kSpecAccount, Position{Int(0), Int(-872109000LL)}), Int(-772109000LL));
  const RequiredSize required = perp_required(state, account, kEthPerp);
  EXPECT_EQ(required.size, Int(4000500000LL));
  EXPECT_FALSE(required.dust_rule);
}

TEST(LiquidationPerpRequired, OtherHoldingsCount) {
  // The spec account plus 0.1 ETH token collateral at 2000 (target weight 0.85 → +170 USDC):
  // H_target(s) = −340·10^6 + 170·10^6 + 0.117·s ≥ 0 ⇔ s ≥ 1452991452.99 → s* = 1453·10^6.
  // s = 1453·10^6: −170·10^6 + 170.001·10^6 = +1000 ; s = 1452·10^6: −170·10^6 + 169.884·10^6 = −116000
  State state = spec_state("1800");
  state.assets[kEth] = eth_token("2000", state.ts);
  state.accounts.at(kSpecAccount).balances[kEth] = dec("0.1", 18);
  EXPECT_EQ(account_health(state, state.accounts.at(kSpecAccount), Level::Target).value, usdc("-170"));
  const RequiredSize required = perp_required(state, state.accounts.at(kSpecAccount), kEthPerp);
  EXPECT_EQ(required.size, Int(1453000000LL));
  // after 1453 lots: T = 2615.4·10^6, F = 26.154·10^6, position (2547·10^6, −8000 + 2615.4 − 26.154 = −5410.754 USDC)
  //   notional 4584.6; pnl −826.154; req 343.845; H = 1000 + 170 − 826.154 − 343.845 = 0.001 USDC
  EXPECT_EQ(target_with_position(state, kSpecAccount, Position{Int(2547000000LL), Int(-5410754000LL)}), Int(1000));
  // after 1452 lots: T = 2613.6, F = 26.136; position (2548·10^6, −5412.536)
  //   notional 4586.4; pnl −826.136; req 343.98; H = 1170 − 826.136 − 343.98 = −0.116 USDC
  EXPECT_EQ(target_with_position(state, kSpecAccount, Position{Int(2548000000LL), Int(-5412536000LL)}), Int(-116000));
}

// ---------------------------------------------------------------------------
// A short position: account 9 deposited 1000 USDC and sold 4 ETH at 2000
// (position (−4·10^9, +8000·10^6)); price rises to 2200.
//   notional(−4·10^9) = −8800·10^6, pnl = −800·10^6
//   H_maint = 1000 − 800 − 8800×0.05 (440) = −240 ; H_target = 1000 − 800 − 660 = −460
// Closing s (short pays ⌈T⌉): T = 2.2·s, F = ⌈0.022·s⌉ (exact for lots)
//   position after = (−4·10^9 + s, 8000·10^6 − 2.2·s − 0.022·s)
//   pnl = −2.2·(4·10^9 − s) + 8000·10^6 − 2.2·s − 0.022·s = −800·10^6 − 0.022·s
//   req_target = 0.165·(4·10^9 − s) = 660·10^6 − 0.165·s
//   H_target(s) = −460·10^6 + 0.143·s ≥ 0 ⇔ s ≥ 3216783216.78… → s* = 3217·10^6

State short_state() {
  State state = base_state();
  state.markets[kEthPerp] = eth_perp("2200", state.ts);
  Account account;
  account.balances[kQuoteAsset] = usdc("1000");
  account.positions[kEthPerp] = Position{dec("-4", 9), usdc("8000")};
  state.accounts[9] = account;
  return state;
}

TEST(LiquidationShort, HealthAndRequiredSize) {
  State state = short_state();
  const Account& account = state.accounts.at(9);
  EXPECT_EQ(account_health(state, account, Level::Maint).value, usdc("-240"));
  EXPECT_EQ(account_health(state, account, Level::Target).value, usdc("-460"));
  const RequiredSize required = perp_required(state, account, kEthPerp);
  EXPECT_EQ(required.size, Int(3217000000LL));
  EXPECT_FALSE(required.dust_rule);  // leftover 0.783 ETH ≥ 0.01
  // penalty: ⌊T⌋ = 2.2 · 3217·10^6 = 7077.4·10^6; F = ⌈70.774·10^6⌉ = 70774000
  EXPECT_EQ(perp_penalty_for_size(state, kEthPerp, Int(3217000000LL)), Int(70774000));
}

TEST(LiquidationShort, TargetAtRequiredAndOneLotLess) {
  State state = short_state();
  // s* = 3217·10^6: quote after = 8000 − 7077.4 − 70.774 = 851.826 USDC, base −783·10^6
  //   notional −1722.6; pnl = −870.774; req = 1722.6 × 0.075 = 129.195; H = 1000 − 870.774 − 129.195 = +0.031
  EXPECT_EQ(target_with_position(state, 9, Position{Int(-783000000), Int(851826000)}), Int(31000));
  // 3216·10^6: T = 7075.2, F = 70.752; quote 854.048, base −784·10^6
  //   notional −1724.8; pnl −870.752; req 129.36; H = 1000 − 870.752 − 129.36 = −0.112
  EXPECT_EQ(target_with_position(state, 9, Position{Int(-784000000), Int(854048000)}), Int(-112000));
  const Position& position = state.accounts.at(9).positions.at(kEthPerp);
  const Int size(3217000000LL);
  const PerpTransfer transfer = perp_transfer(state, kEthPerp, size);
  const Position after = position_after_close(position, transfer, size, perp_penalty(state, kEthPerp, transfer.floor));
  EXPECT_EQ(after.base, Int(-783000000));
  EXPECT_EQ(after.quote, Int(851826000));
}

// ---------------------------------------------------------------------------
// s* on random markets and accounts: perp_required skips the probes whose
// answer its real-valued bound already knows (engine/liquidation.cc); the
// answer must be exactly the SPEC §5.1 search evaluated at every probe.

// SPEC §5.1 as written: every probe closes size(k) with its transfer and
// penalty and recomputes the changed position's H_target term.
Int required_by_every_probe(const State& state, const Account& account, MarketId market) {
  const Position& position = account.positions.at(market);
  const MarketParams& params = state.markets.at(market).params;
  const Int abs_base = abs(position.base);
  Account without = account;
  without.positions.erase(market);
  const Int rest = account_health(state, without, Level::Target).value;
  const auto size_of = [&](const Int& k) { return k * params.lot_size < abs_base ? k * params.lot_size : abs_base; };
  const Int k = lower_bound_search(cdiv(abs_base, params.lot_size), [&](const Int& probe) {
    const Int size = size_of(probe);
    const PerpTransfer transfer = perp_transfer(state, market, size);
    const Position after = position_after_close(position, transfer, size, perp_penalty(state, market, transfer.floor));
    return (rest + perp_term(state, market, after, Level::Target).term()).sign() >= 0;
  });
  Int size = size_of(k);
  const Int left = abs_base - size;
  if (left.sign() > 0 && left < params.min_position) size = abs_base;
  return size;
}

TEST(LiquidationPerpRequired, EqualsTheSearchThatEvaluatesEveryProbe) {
  Rng rng(20261201);
  int near_the_boundary = 0;  // cases whose s* is neither the first lot nor the whole position
  for (int i = 0; i < 10000; ++i) {
    State state = base_state();
    Market market = eth_perp("2000", state.ts);
    market.params.base_decimals = static_cast<uint32_t>(rng.between(0, 18));
    // fee < margin_target ≤ WAD, the listing rule; margins in 10^-4 steps, some 1 unit apart.
    const uint64_t target = rng.between(2, 10'000);
    market.params.margin = Levels{Int(target + 1) * pow10(14), Int(target) * pow10(14), Int(target - 1) * pow10(14)};
    market.params.liquidation_fee = Int(rng.below(target)) * pow10(14) + Int(rng.below(3));
    // lots from one base unit (many lots inside the bound's margin) to 10^6
    market.params.lot_size = pow10(static_cast<unsigned>(rng.below(7))) * Int(rng.between(1, 9));
    market.params.min_position = Int(rng.below(4)) * market.params.lot_size;
    market.oracle.price = Int(rng.between(1, 5'000'000)) * pow10(static_cast<unsigned>(rng.between(10, 20))) +
                          Int(rng.below(1000));
    state.markets[kEthPerp] = market;
    Account account;
    const int64_t sign = rng.chance(500) ? 1 : -1;
    Int base = Int(rng.between(1, 100'000)) * market.params.lot_size * Int(rng.between(1, 1000));
    if (rng.chance(300)) base += Int(rng.below(1000));  // not lot-aligned
    // Entry near the oracle: the quote is −base·entry, the account's collateral
    // sized so that it sits just under or around its target.
    const Int notional_now = notional(state, kEthPerp, base);
    account.positions[kEthPerp] =
        Position{Int(sign) * base, Int(-sign) * notional_now + Int(rng.signed_between(-1000, 1000))};
    const Int requirement = muldiv_ceil(notional_now, market.params.margin.target, wad());
    account.balances[kQuoteAsset] = requirement * Int(rng.between(0, 120)) / 100 + Int(rng.signed_between(-50, 50));
    if (account.balances[kQuoteAsset].is_zero()) account.balances.erase(kQuoteAsset);
    state.accounts[kSpecAccount] = account;

    const Int expected = required_by_every_probe(state, account, kEthPerp);
    ASSERT_EQ(perp_required(state, account, kEthPerp).size, expected)
        << "case " << i << ": base " << (Int(sign) * base).str() << " lot " << market.params.lot_size.str()
        << " price " << market.oracle.price.str() << " bd " << market.params.base_decimals;
    if (expected > market.params.lot_size && expected < base) ++near_the_boundary;
  }
  // The cases must reach the bound's ambiguous window, not only its two ends.
  EXPECT_GT(near_the_boundary, 3000) << near_the_boundary;  // 3567 of 10000 with this seed
}

TEST(LiquidationTransfer, PayerPaysCeilingReceiverGetsFloor) {
  State state = base_state();
  state.markets[kEthPerp] = eth_perp("2000.5");
  // 1 base unit: T = 2.0005 → ⌊T⌋ = 2, ⌈T⌉ = 3
  const PerpTransfer transfer = perp_transfer(state, kEthPerp, Int(1));
  EXPECT_EQ(transfer.floor, Int(2));
  EXPECT_EQ(transfer.ceil, Int(3));
  // F = ⌈2 · 0.01⌉ = ⌈0.02⌉ = 1 (computed on ⌊T⌋, rounded up)
  const Int penalty = perp_penalty(state, kEthPerp, transfer.floor);
  EXPECT_EQ(penalty, Int(1));
  // A long receives ⌊T⌋: quote −8000·10^6 + 2 − 1
  const Position long_after = position_after_close(Position{dec("4", 9), usdc("-8000")}, transfer, Int(1), penalty);
  EXPECT_EQ(long_after.base, Int(3999999999LL));
  EXPECT_EQ(long_after.quote, Int(-7999999999LL));
  // A short pays ⌈T⌉: quote 8000·10^6 − 3 − 1
  const Position short_after = position_after_close(Position{dec("-4", 9), usdc("8000")}, transfer, Int(1), penalty);
  EXPECT_EQ(short_after.base, Int(-3999999999LL));
  EXPECT_EQ(short_after.quote, Int(7999999996LL));
  // Penalty rounds up: ⌈5230800001 · 0.01⌉ = ⌈52308000.01⌉ = 52308001
  EXPECT_EQ(perp_penalty(state, kEthPerp, Int(5230800001LL)), Int(52308001));
}

TEST(LiquidationSplit, FloorsAndTreasuryRemainder) {
  State state = base_state();
  // F = 7: liquidator ⌊3.5⌋ = 3, insurance ⌊2.1⌋ = 2, treasury 7 − 3 − 2 = 2
  const PenaltySplit split = split_penalty(state.protocol, Int(7));
  EXPECT_EQ(split.liquidator, Int(3));
  EXPECT_EQ(split.insurance, Int(2));
  EXPECT_EQ(split.treasury, Int(2));
  // F = 1: 0, 0, 1
  const PenaltySplit one = split_penalty(state.protocol, Int(1));
  EXPECT_EQ(one.liquidator, Int(0));
  EXPECT_EQ(one.insurance, Int(0));
  EXPECT_EQ(one.treasury, Int(1));
}

// ---------------------------------------------------------------------------
// Token liquidation (SPEC §5.2)
//
// seize_exact(r) = r · P_L · 10^{d_C} · (WAD + bonus_C) / (10^{d_L} · P_C · WAD)
// account gives ⌈seize_exact⌉, liquidator ⌊seize_exact⌋,
// bonus_units = ⌊seize_exact⌋ − ⌊r · P_L · 10^{d_C} / (10^{d_L} · P_C)⌋

TEST(LiquidationTokenSeizure, UsdcDebtEthCollateral) {
  State state = base_state();
  state.assets[kEth] = eth_token("1700");  // bonus 0.05
  // r = 1000 USDC = 10^9: seize_exact = 10^9 · 10^18 · 10^18 · 1.05·10^18 / (10^6 · 1700·10^18 · 10^18)
  //   = 1.05·10^21 / 1700 = 617647058823529411.76… → ⌈⌉ 617647058823529412, ⌊⌋ 617647058823529411
  // without bonus: 10^21 / 1700 = 588235294117647058.82… → 588235294117647058
  // bonus_units = 617647058823529411 − 588235294117647058 = 29411764705882353
  const Seizure seizure = token_seizure(state, kQuoteAsset, kEth, usdc("1000"));
  EXPECT_EQ(seizure.ceil, Int("617647058823529412"));
  EXPECT_EQ(seizure.floor, Int("617647058823529411"));
  EXPECT_EQ(seizure.bonus, Int("29411764705882353"));
  // bonus split like the perp penalty (0.5 / 0.3):
  //   liquidator ⌊14705882352941176.5⌋ = 14705882352941176
  //   insurance ⌊8823529411764705.9⌋ = 8823529411764705
  //   treasury 29411764705882353 − 14705882352941176 − 8823529411764705 = 5882352941176472
  const PenaltySplit split = split_penalty(state.protocol, seizure.bonus);
  EXPECT_EQ(split.liquidator, Int("14705882352941176"));
  EXPECT_EQ(split.insurance, Int("8823529411764705"));
  EXPECT_EQ(split.treasury, Int("5882352941176472"));
}

TEST(LiquidationTokenSeizure, ExactSeizureHasEqualCeilAndFloor) {
  State state = base_state();
  state.assets[kEth] = eth_token("1750");
  // r = 10^9: 1.05·10^21 / 1750 = 6·10^17 exactly; without bonus 10^21/1750 = 571428571428571428.57 → …428
  // bonus_units = 6·10^17 − 571428571428571428 = 28571428571428572
  const Seizure seizure = token_seizure(state, kQuoteAsset, kEth, usdc("1000"));
  EXPECT_EQ(seizure.ceil, Int("600000000000000000"));
  EXPECT_EQ(seizure.floor, Int("600000000000000000"));
  EXPECT_EQ(seizure.bonus, Int("28571428571428572"));
}

TEST(LiquidationTokenSeizure, EthDebtBtcCollateral) {
  State state = base_state();
  state.assets[kEth] = eth_token("2000");
  Asset btc = eth_token("60000");
  btc.params.symbol = "BTC";
  btc.params.decimals = 8;
  btc.params.liquidation_bonus = W("0.1");
  state.assets[kBtc] = btc;
  // r = 1 ETH = 10^18 wei: seize_exact = 10^18 · 2000·10^18 · 10^8 · 1.1·10^18 / (10^18 · 60000·10^18 · 10^18)
  //   = 2000 · 1.1 · 10^8 / 60000 = 3666666.67 sat → ⌈⌉ 3666667, ⌊⌋ 3666666
  // without bonus: 2000·10^8/60000 = 3333333.33 → 3333333; bonus_units = 333333
  const Seizure seizure = token_seizure(state, kEth, kBtc, dec("1", 18));
  EXPECT_EQ(seizure.ceil, Int(3666667));
  EXPECT_EQ(seizure.floor, Int(3666666));
  EXPECT_EQ(seizure.bonus, Int(333333));
}

// Account 20: 1 ETH collateral, −1550 USDC debt, ETH at 1700 (bonus 0.05).
//   maint: 1700 × 0.9 = 1530 − 1550 = −20 (LIQUIDATABLE); target: 1445 − 1550 = −105;
//   HF_maint = 1530/1550 = 0.98709677…
State usdc_debt_state(std::string_view eth_balance = "1") {
  State state = base_state();
  state.assets[kEth] = eth_token("1700", state.ts);
  Account account;
  account.balances[kQuoteAsset] = usdc("-1550");
  account.balances[kEth] = dec(eth_balance, 18);
  state.accounts[20] = account;
  return state;
}

TEST(LiquidationTokenCap, DebtOrCollateralBinds) {
  {
    // r_max_C = ⌊b_C · 10^{d_L} · P_C · WAD / (P_L · 10^{d_C} · (WAD + bonus))⌋
    //         = ⌊10^18 · 1700 / 1.05·10^12⌋ = ⌊1619047619.05⌋ = 1619047619 > |b_L| = 1550·10^6
    State state = usdc_debt_state("1");
    EXPECT_EQ(token_repay_cap(state, state.accounts.at(20), kQuoteAsset, kEth), usdc("1550"));
  }
  {
    // 0.5 ETH: r_max_C = ⌊5·10^17 · 1700 / 1.05·10^12⌋ = ⌊809523809.52⌋ = 809523809 < 1550·10^6
    //   ⌈seize(809523809)⌉ = ⌈809523809 · 1.05·10^12 / 1700⌉ = ⌈499999999676470588.24⌉ = 499999999676470589 ≤ 5·10^17
    //   ⌈seize(809523810)⌉ = 500000000294117648 > 5·10^17
    State state = usdc_debt_state("0.5");
    EXPECT_EQ(token_repay_cap(state, state.accounts.at(20), kQuoteAsset, kEth), Int(809523809));
    EXPECT_EQ(token_seizure(state, kQuoteAsset, kEth, Int(809523809)).ceil, Int("499999999676470589"));
    EXPECT_EQ(token_seizure(state, kQuoteAsset, kEth, Int(809523810)).ceil, Int("500000000294117648"));
  }
  {
    // 1 wei of collateral: r_max_C = ⌊1 · 1700 / 1.05·10^12⌋ = 0 → cap 0 (NOTHING_TO_LIQUIDATE upstream)
    State state = usdc_debt_state("0.000000000000000001");
    EXPECT_EQ(token_repay_cap(state, state.accounts.at(20), kQuoteAsset, kEth), Int(0));
  }
}

// r* on random assets and accounts against the SPEC §5.2 search evaluated at
// every probe (token_required skips the probes its bound already knows).
Int repay_by_every_probe(const State& state, const Account& account, AssetId liability, AssetId collateral,
                         const Int& cap) {
  Account without = account;
  without.balances.erase(liability);
  without.balances.erase(collateral);
  const Int rest = account_health(state, without, Level::Target).value;
  const Int debt = account.balance(liability), held = account.balance(collateral);
  return lower_bound_search(cap, [&](const Int& repay) {
    const Int seized = token_seizure(state, liability, collateral, repay).ceil;
    return (rest + token_term(state, liability, debt + repay, Level::Target) +
            token_term(state, collateral, held - seized, Level::Target))
               .sign() >= 0;
  });
}

TEST(LiquidationTokenRequired, EqualsTheSearchThatEvaluatesEveryProbe) {
  Rng rng(20261202);
  int inside = 0;  // cases whose r* is neither 1 nor the cap
  for (int i = 0; i < 5000; ++i) {
    State state = base_state();
    // Two tokens besides USDC; weights in 10^-3 steps, liability weight ≥ 1.
    for (AssetId id : {kEth, kBtc}) {
      Asset asset = eth_token("1");
      asset.params.decimals = static_cast<uint32_t>(rng.between(0, 24));
      const uint64_t asset_w = rng.between(100, 999), liab_w = rng.between(1000, 1500);
      asset.params.asset_weight = Levels{Int(asset_w - 50) * pow10(15), Int(asset_w) * pow10(15), Int(asset_w) * pow10(15)};
      asset.params.liab_weight = Levels{Int(liab_w + 50) * pow10(15), Int(liab_w) * pow10(15), Int(liab_w) * pow10(15)};
      asset.params.liquidation_bonus = Int(rng.below(150)) * pow10(15) + Int(rng.below(3));
      asset.oracle.price = Int(rng.between(1, 9'000'000)) * pow10(static_cast<unsigned>(rng.between(8, 22))) +
                           Int(rng.below(1000));
      state.assets[id] = asset;
    }
    // liability and collateral among USDC, ETH, BTC, distinct
    const AssetId liability = static_cast<AssetId>(rng.below(3));
    const AssetId collateral = static_cast<AssetId>((liability + 1 + rng.below(2)) % 3);
    Account account;
    const Int held = pow10(static_cast<unsigned>(rng.between(0, 30))) * Int(rng.between(1, 999'999));
    account.balances[collateral] = held;
    // Debt worth about the collateral's weighted value: under the target, or just around it.
    const Int held_value = token_term(state, collateral, held, Level::Target);
    const Int debt_value = held_value * Int(rng.between(80, 140)) / 100 + Int(rng.signed_between(0, 20));
    // value → units of L: ⌈v · 10^d_L · WAD² / (P_L · w_L · 10^qd)⌉ roughly, via the seizure's rate at 1 unit
    const AssetParams& l = state.assets.at(liability).params;
    const Int unit_value = token_term(state, liability, Int(-1) * pow10(l.decimals), Level::Target);  // < 0
    Int debt = debt_value.is_zero() || unit_value.is_zero()
                   ? Int(-1)
                   : -(debt_value * pow10(l.decimals) / -unit_value) - Int(rng.below(5)) - 1;
    account.balances[liability] = debt;
    state.accounts[20] = account;
    const Int cap = token_repay_cap(state, account, liability, collateral);
    if (cap.sign() <= 0) continue;
    const Int expected = repay_by_every_probe(state, account, liability, collateral, cap);
    ASSERT_EQ(token_required(state, account, liability, collateral, cap), expected)
        << "case " << i << ": L " << liability << " C " << collateral << " debt " << debt.str() << " held "
        << held.str() << " cap " << cap.str();
    if (expected > 1 && expected < cap) ++inside;
  }
  EXPECT_GT(inside, 2000) << inside;  // 2273 of 5000 with this seed
}

TEST(LiquidationTokenRequired, UsdcDebtEthCollateral) {
  State state = usdc_debt_state("1");
  const Account& account = state.accounts.at(20);
  EXPECT_EQ(account_health(state, account, Level::Maint).value, usdc("-20"));
  EXPECT_EQ(account_health(state, account, Level::Target).value, usdc("-105"));
  // H_target(r) = (−1550·10^6 + r) + ⌊(10^18 − ⌈seize(r)⌉) · 1700 · 0.85 · 10^6 / 10^18⌋
  //             ≈ −105·10^6 + r · (1 − 0.85 · 1.05) = −105·10^6 + 0.1075·r → r ≈ 976744186.05
  const Int cap = token_repay_cap(state, account, kQuoteAsset, kEth);
  ASSERT_EQ(cap, usdc("1550"));
  const Int required = token_required(state, account, kQuoteAsset, kEth, cap);
  EXPECT_EQ(required, Int(976744187));

  // r* = 976744187: seize = 1025581396350000000000 / 1700 = 603283174323529411.76 → ⌈⌉ 603283174323529412
  //   ETH left 396716825676470588; term = ⌊396716825676470588 · 1445 / 10^9⌋ = ⌊573255813.10249…⌋ = 573255813
  //   USDC −1550·10^6 + 976744187 = −573255813 → H_target = 0 (≥ 0)
  EXPECT_EQ(target_with_balances(state, 20, kQuoteAsset, Int(-573255813), kEth, Int("396716825676470588")), Int(0));
  EXPECT_EQ(token_seizure(state, kQuoteAsset, kEth, Int(976744187)).ceil, Int("603283174323529412"));
  // r* − 1 = 976744186: seize = 1025581395300000000000 / 1700 = 603283173705882352.94 → 603283173705882353
  //   ETH left 396716826294117647; term = ⌊573255813.99499…⌋ = 573255813
  //   USDC −573255814 → H_target = −1 (< 0)
  EXPECT_EQ(target_with_balances(state, 20, kQuoteAsset, Int(-573255814), kEth, Int("396716826294117647")), Int(-1));
  EXPECT_EQ(token_seizure(state, kQuoteAsset, kEth, Int(976744186)).ceil, Int("603283173705882353"));
}

// Account 21: 3000 USDC collateral, −1.4 ETH debt, ETH at 2000; the quote asset's bonus is 0.
//   maint: 3000 − 1.4·2000·1.1 (3080) = −80; target: 3000 − 3220 = −220; HF_maint = 3000/3080 = 0.974…
State eth_debt_state(std::string_view quote_balance = "3000", std::string_view eth_debt = "-1.4") {
  State state = base_state();
  state.assets[kEth] = eth_token("2000", state.ts);
  Account account;
  account.balances[kQuoteAsset] = usdc(quote_balance);
  account.balances[kEth] = dec(eth_debt, 18);
  state.accounts[21] = account;
  return state;
}

TEST(LiquidationTokenRequired, EthDebtUsdcCollateralUsesLiabilityWeight) {
  State state = eth_debt_state();
  const Account& account = state.accounts.at(21);
  EXPECT_EQ(account_health(state, account, Level::Maint).value, usdc("-80"));
  EXPECT_EQ(account_health(state, account, Level::Target).value, usdc("-220"));
  // seize(r) = r · 2000·10^18 · 10^6 · 10^18 / (10^18 · 10^18 · 10^18) = 2r/10^9 (USDC units)
  // cap = min(1.4·10^18, ⌊3000·10^6 · 10^9 / 2⌋ = 1.5·10^18) = 1.4·10^18
  const Int cap = token_repay_cap(state, account, kEth, kQuoteAsset);
  ASSERT_EQ(cap, dec("1.4", 18));
  // H_target(r) = 3000·10^6 − ⌈2r/10^9⌉ + ⌊(−1.4·10^18 + r) · 2000 · 1.15 · 10^6 / 10^18⌋
  //             ≈ −220·10^6 + 0.3·10^-9·r → r ≈ 7.3333·10^17
  const Int required = token_required(state, account, kEth, kQuoteAsset, cap);
  EXPECT_EQ(required, Int("733333333913043479"));

  // r* = 733333333913043479: seize = ⌈1466666667826086958 / 10^9⌉ = 1466666668 → USDC 1533333332
  //   debt −1.4·10^18 + r* = −666666666086956521; term = ⌊−666666666086956521 · 23 / 10^10⌋
  //   = ⌊−15333333319999999983 / 10^10⌋ = ⌊−1533333331.9999999983⌋ = −1533333332 → H = 0
  EXPECT_EQ(target_with_balances(state, 21, kQuoteAsset, Int(1533333332), kEth, Int("-666666666086956521")), Int(0));
  EXPECT_EQ(token_seizure(state, kEth, kQuoteAsset, Int("733333333913043479")).ceil, Int(1466666668));
  // r* − 1: seize = ⌈1466666667826086956 / 10^9⌉ = 1466666668 → USDC 1533333332
  //   debt −666666666086956522; ·23 = −15333333320000000006 → ⌊−1533333332.0000000006⌋ = −1533333333 → H = −1
  EXPECT_EQ(target_with_balances(state, 21, kQuoteAsset, Int(1533333332), kEth, Int("-666666666086956522")), Int(-1));
  EXPECT_EQ(token_seizure(state, kEth, kQuoteAsset, Int("733333333913043478")).ceil, Int(1466666668));
  // No bonus on the quote asset → bonus_units 0.
  EXPECT_EQ(token_seizure(state, kEth, kQuoteAsset, Int("733333333913043479")).bonus, Int(0));
}

TEST(LiquidationTokenRequired, NothingReachesTargetGivesCap) {
  // 1000 USDC against −1 ETH at 2000: cap = min(10^18, ⌊1000·10^6 · 10^9 / 2⌋ = 5·10^17) = 5·10^17.
  // Repaying the cap: USDC 0, debt −0.5 ETH → H_target = −0.5 · 2000 · 1.15 = −1150 USDC < 0,
  // and every smaller r is worse → r* = cap.
  State state = eth_debt_state("1000", "-1");
  const Account& account = state.accounts.at(21);
  const Int cap = token_repay_cap(state, account, kEth, kQuoteAsset);
  ASSERT_EQ(cap, dec("0.5", 18));
  EXPECT_EQ(target_with_balances(state, 21, kQuoteAsset, Int(0), kEth, dec("-0.5", 18)), usdc("-1150"));
  EXPECT_EQ(token_required(state, account, kEth, kQuoteAsset, cap), dec("0.5", 18));
}

TEST(LiquidationTokenAllowed, EachPolicy) {
  State state = usdc_debt_state("1");
  const Account& account = state.accounts.at(20);
  const Health maint = account_health(state, account, Level::Maint);
  // A = 1530·10^6, L = 1550·10^6 → HF = 0.98709677…
  ASSERT_EQ(maint.assets, usdc("1530"));
  ASSERT_EQ(maint.liabilities, usdc("1550"));
  const Int abs_debt = usdc("1550");
  const Int cap = usdc("1550");
  const Int required(976744187);

  EXPECT_EQ(token_allowed(partial_policy(), abs_debt, maint, required, cap), required);
  EXPECT_EQ(token_allowed(full_policy(), abs_debt, maint, required, cap), cap);
  // HF 0.987 ≥ 0.95 → ⌈1550·10^6 · 0.5⌉ = 775·10^6
  EXPECT_EQ(token_allowed(close_factor_policy("0.5", "0.95"), abs_debt, maint, required, cap), usdc("775"));
  // HF 0.987 < 0.99 (10^18·1530 < 0.99·10^18·1550 = 1534.5·10^18) → the cap
  EXPECT_EQ(token_allowed(close_factor_policy("0.5", "0.99"), abs_debt, maint, required, cap), cap);
  // ⌈1550·10^6 · 0.333333333333333333⌉ = ⌈516666666.666666666…⌉ = 516666667
  EXPECT_EQ(token_allowed(close_factor_policy("0.333333333333333333", "0.95"), abs_debt, maint, required, cap),
            Int(516666667));
}

TEST(LiquidationTokenAllowed, CappedByCollateral) {
  State state = usdc_debt_state("0.5");
  const Account& account = state.accounts.at(20);
  // maint: 0.5 · 1700 · 0.9 = 765 vs 1550 → HF 0.4935 < 0.95
  const Health maint = account_health(state, account, Level::Maint);
  const Int cap = token_repay_cap(state, account, kQuoteAsset, kEth);
  ASSERT_EQ(cap, Int(809523809));
  const Int abs_debt = usdc("1550");
  // below the full-liquidation HF → the cap (not |b_L|)
  EXPECT_EQ(token_allowed(close_factor_policy("0.5", "0.95"), abs_debt, maint, Int(1), cap), cap);
  // above it (threshold 0.4): ⌈1550·10^6 · 0.6⌉ = 930·10^6 > cap → cap
  EXPECT_EQ(token_allowed(close_factor_policy("0.6", "0.4"), abs_debt, maint, Int(1), cap), cap);
  // ⌈1550·10^6 · 0.5⌉ = 775·10^6 < cap → 775·10^6
  EXPECT_EQ(token_allowed(close_factor_policy("0.5", "0.4"), abs_debt, maint, Int(1), cap), usdc("775"));
  EXPECT_EQ(token_allowed(full_policy(), abs_debt, maint, Int(1), cap), cap);
}

}  // namespace
}  // namespace liql
