// The keeper index (engine/keeper.h): after every price event its set of
// liquidatable accounts must be exactly the one a brute-force scan of every
// account gives (SPEC §3: status LIQUIDATABLE or BANKRUPT, for accounts whose
// prices are all present), while re-evaluating only the accounts whose band a
// price crossed.

#include "engine/keeper.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/health.h"
#include "engine/machine.h"
#include "replay/replay.h"
#include "tests/engine_fixtures.h"
#include "tools/generate.h"
#include "tools/rng.h"

namespace liql {
namespace {

using fixtures::dec;
using fixtures::usdc;
using fixtures::W;

// ---- the reference: every account, exactly --------------------------------------------

std::set<AccountId> brute_force(const State& state) {
  std::set<AccountId> out;
  for (AccountId id : state.sorted_account_ids()) {
    const Account& account = state.accounts.at(id);
    if (!priced(state, account)) continue;
    const AccountStatus status = health_report(state, account).status;
    if (status == AccountStatus::Liquidatable || status == AccountStatus::Bankrupt) out.insert(id);
  }
  return out;
}

std::string describe(const std::set<AccountId>& got, const std::set<AccountId>& want) {
  std::string text = "missing:";
  for (AccountId id : want) {
    if (!got.count(id)) text.append(" ").append(std::to_string(id));
  }
  text += " extra:";
  for (AccountId id : got) {
    if (!want.count(id)) text.append(" ").append(std::to_string(id));
  }
  return text;
}

// ---- generated markets through the state machine ----------------------------------------

struct MarketRunStats {
  uint64_t events = 0, price_events = 0, compared = 0, max_liquidatable = 0;
  uint64_t price_reevaluated = 0;
  uint64_t accounts = 0;
};

// Feeds the generator's lines through a MemoryRun, every event and outcome to
// the index, and compares with the brute force after every price event (and
// after every event when `every_event`).
MarketRunStats run_market(const GenerateOptions& options, bool every_event) {
  MarketRunStats stats;
  MemoryRun run;
  KeeperIndex index;
  size_t line_number = 0;
  EXPECT_TRUE(generate_market(options, [&](std::string_view line) {
    InputError error;
    if (!run.add_line(line, ++line_number, &error)) {
      ADD_FAILURE() << error.to_string();
      return;
    }
    const std::string& bytes = run.events().back();
    const fb::Event* event = flatbuffers::GetRoot<fb::Event>(bytes.data());
    const Outcome& outcome = run.outcomes().back();
    const State& state = run.machine().state();
    index.on_event(state, *event, outcome);
    ++stats.events;
    const bool price = event->body_type() == fb::Body::Price;
    if (price) ++stats.price_events;
    if (price || every_event) {
      const std::set<AccountId> want = brute_force(state);
      ++stats.compared;
      stats.max_liquidatable = std::max<uint64_t>(stats.max_liquidatable, want.size());
      EXPECT_EQ(index.liquidatable(), want)
          << "seed " << options.seed << " line " << line_number << ": " << describe(index.liquidatable(), want) << "\n"
          << line;
    }
  }).is_ok());
  stats.price_reevaluated = index.stats().price_reevaluated;
  stats.accounts = run.machine().state().accounts.size();
  return stats;
}

void expect_market_matches(uint64_t seed, uint64_t accounts, uint64_t events, uint32_t crash, bool every_event) {
  GenerateOptions options;
  options.seed = seed;
  options.accounts = accounts;
  options.events = events;
  options.crash_pct = crash;
  const MarketRunStats stats = run_market(options, every_event);
  EXPECT_GT(stats.max_liquidatable, 0u) << "the crash should make someone liquidatable";
  // The point of the index: a price update looks at few accounts. A brute
  // force looks at every account on every price event.
  const double per_update = stats.price_events ? double(stats.price_reevaluated) / double(stats.price_events) : 0;
  std::printf(
      "seed %llu: %llu accounts, %llu events, %llu price events, %llu comparisons, max %llu liquidatable, "
      "%.1f accounts re-evaluated per price update (brute force: %llu)\n",
      (unsigned long long)seed, (unsigned long long)stats.accounts, (unsigned long long)stats.events,
      (unsigned long long)stats.price_events, (unsigned long long)stats.compared,
      (unsigned long long)stats.max_liquidatable, per_update, (unsigned long long)stats.accounts);
  EXPECT_LT(stats.price_reevaluated * 4, stats.price_events * stats.accounts);
}

TEST(KeeperGenerated, Seed1Accounts300EveryEvent) { expect_market_matches(1, 300, 5000, 40, true); }
TEST(KeeperGenerated, Seed2Accounts600Crash60) { expect_market_matches(2, 600, 12000, 60, false); }
TEST(KeeperGenerated, Seed3Accounts1000Crash40) { expect_market_matches(3, 1000, 15000, 40, false); }
TEST(KeeperGenerated, Seed4Accounts800Crash80) { expect_market_matches(4, 800, 12000, 80, false); }
TEST(KeeperGenerated, Seed5Accounts400Crash25) { expect_market_matches(5, 400, 8000, 25, false); }

// ---- hand-made: one long perp -----------------------------------------------------------

void set_market_price(State& state, MarketId market, const Int& price) {
  state.markets.at(market).oracle.price = price;
}
void set_asset_price(State& state, AssetId asset, const Int& price) { state.assets.at(asset).oracle.price = price; }

// SPEC §8 account 7: 1000 USDC, long 4 ETH-PERP (base 4·10^9, quote −8000·10^6);
// ETH-PERP base_decimals 9, maint margin 0.05; USDC 6 decimals.
// With P the WAD-scaled price:
//   notional = ⌊4·10^9 · P · 10^6 / 10^27⌋ = ⌊4P / 10^12⌋
//   req      = ⌈4·10^9 · P · 10^6 · 5·10^16 / 10^45⌉ = ⌈P / (5·10^12)⌉
//   H_maint  = 1000·10^6 + ⌊4P/10^12⌋ − 8000·10^6 − ⌈P/(5·10^12)⌉
// At P⁰ = 2000·10^18: H⁰ = 1000e6 + 8000e6 − 8000e6 − 400e6 = 600·10^6.
// R = 2 (one perp term: a floor and a ceil), budget S = H⁰ − R + 1 = 599 999 999.
// s = (4·10^9·10^18 − 4·10^9·5·10^16)·10^6 / 10^45 = 3.8·10^33 / 10^45.
// Band: P may fall by ⌊S·10^45 / (3.8·10^33)⌋ = ⌊599 999 999·10^12 / 3.8⌋
//     = ⌊157 894 736 578 947 368 421.05…⌋ = 157 894 736 578 947 368 421,
// so L = 2000·10^18 − 157 894 736 578 947 368 421 = 1 842 105 263 421 052 631 579
// (fires when P < L).
// At L: ⌊4L/10^12⌋ = ⌊7 368 421 053.68…⌋ = 7 368 421 053, ⌈L/(5·10^12)⌉ =
// ⌈368 421 052.68…⌉ = 368 421 053, H = 0 (healthy, as promised: the bound is
// tight here). Same at L − 1.
// The true edge: H = 0 at P_ok = 1 842 105 263 250·10^9 (4P/10^12 = 7 368 421 053
// exactly, ⌈368 421 052.65⌉ = 368 421 053), and for every P < P_ok
// ⌊4P/10^12⌋ ≤ 7 368 421 052 while ⌈P/(5·10^12)⌉ ≥ 368 421 053 as long as
// P > 1 842 105 260·10^12 (and H ≤ −12 below that): H < 0. So the first price,
// going down, at which the account is liquidatable is P_ok − 1.
// The conservative margin L − P_ok = 171 052 631 579 (≈ 1.7·10^-7 USDC per
// ETH) is below R/s = 2·10^12/3.8 ≈ 526 315 789 474: the rounding allowance.
const Int kL = fixtures::dec("1842105263421052631579", 0);
const Int kPok = fixtures::dec("1842105263250000000000", 0);

TEST(KeeperHandMade, LongPerpTriggerFiresAtTheHandComputedPrice) {
  State state = fixtures::spec_state("2000");
  ASSERT_EQ(account_health(state, state.accounts.at(7), Level::Maint).value, usdc("600"));
  KeeperIndex index;
  index.rebuild(state);
  EXPECT_TRUE(index.liquidatable().empty());
  const auto triggers = index.triggers(7);
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_EQ(triggers[0].instrument, Instrument::market(1));
  EXPECT_TRUE(triggers[0].fires_below);
  EXPECT_EQ(triggers[0].price, kL);
  EXPECT_LT(triggers[0].price - kPok, Int(526'315'789'474LL)) << "margin beyond the rounding allowance";

  // Down to L: inside the band, nobody is looked at.
  for (const Int& price : {W("1950"), W("1900"), W("1842.2"), kL}) {
    set_market_price(state, 1, price);
    index.on_price(state, Instrument::market(1));
    EXPECT_EQ(index.stats().last_update_reevaluated, 0u) << price;
    EXPECT_TRUE(index.liquidatable().empty());
  }
  // One unit below L: crossed, re-evaluated exactly: H = 0, still healthy,
  // now within the rounding allowance (H − R + 1 < 0): tight, any move re-evaluates it.
  set_market_price(state, 1, kL - 1);
  index.on_price(state, Instrument::market(1));
  EXPECT_EQ(index.stats().last_update_reevaluated, 1u);
  EXPECT_EQ(account_health(state, state.accounts.at(7), Level::Maint).value, Int(0));
  EXPECT_TRUE(index.liquidatable().empty());
  EXPECT_TRUE(index.tight(7));
  // The last healthy price: H = 0, not liquidatable.
  set_market_price(state, 1, kPok);
  index.on_price(state, Instrument::market(1));
  EXPECT_EQ(account_health(state, state.accounts.at(7), Level::Maint).value, Int(0));
  EXPECT_TRUE(index.liquidatable().empty());
  // One unit lower: H = −1, reported.
  set_market_price(state, 1, kPok - 1);
  index.on_price(state, Instrument::market(1));
  EXPECT_EQ(account_health(state, state.accounts.at(7), Level::Maint).value, Int(-1));
  EXPECT_EQ(index.liquidatable(), std::set<AccountId>{7});
  // And back: no longer liquidatable.
  set_market_price(state, 1, kPok);
  index.on_price(state, Instrument::market(1));
  EXPECT_TRUE(index.liquidatable().empty());
}

// From a healthy band straight to 1800 (SPEC §8: H_maint = −160 USDC), then
// back up through the liquidatable band:
//   H⁰ = 1000e6 + 7200e6 − 8000e6 − 360e6 = −160·10^6, budget S = −H⁰ − R
//   = 159 999 998; the price may rise by ⌊159 999 998·10^12 / 3.8⌋ =
//   ⌊42 105 262 631 578 947 368.42…⌋ before anyone looks:
//   U = 1 842 105 262 631 578 947 368 (fires when P > U), still below the last
//   liquidatable price P_ok − 1.
TEST(KeeperHandMade, LongPerpLiquidatableBandAfterAJump) {
  State state = fixtures::spec_state("2000");
  KeeperIndex index;
  index.rebuild(state);
  set_market_price(state, 1, W("1800"));
  index.on_price(state, Instrument::market(1));
  EXPECT_EQ(index.stats().last_update_reevaluated, 1u);
  EXPECT_EQ(index.liquidatable(), std::set<AccountId>{7});
  const auto triggers = index.triggers(7);
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_FALSE(triggers[0].fires_below);
  const Int upper = dec("1842105262631578947368", 0);
  EXPECT_EQ(triggers[0].price, upper);
  EXPECT_LT(upper, kPok - 1);
  set_market_price(state, 1, upper);
  index.on_price(state, Instrument::market(1));
  EXPECT_EQ(index.stats().last_update_reevaluated, 0u);
  set_market_price(state, 1, upper + 1);
  index.on_price(state, Instrument::market(1));
  EXPECT_EQ(index.stats().last_update_reevaluated, 1u);
  EXPECT_EQ(index.liquidatable(), std::set<AccountId>{7});
  set_market_price(state, 1, W("1900"));
  index.on_price(state, Instrument::market(1));
  EXPECT_TRUE(index.liquidatable().empty());
}

// ---- hand-made: cross margin, both prices move ------------------------------------------

// Account 9: 10 ETH collateral (asset 1, maint weight 0.9), short 10 ETH-PERP
// entered at 2000 (quote +20 000 USDC), 15 000 USDC borrowed.
// H_maint ≈ 9·P_eth − 15 000 + 20 000 − 10.5·P_perp: 2000 USDC at 2000/2000.
// Spot and perp rising together by x cost 1.5x: liquidatable near 3333.
// The perp alone rising: near 2190; the spot alone falling: near 1778.
State cross_state() {
  State state = fixtures::base_state();
  state.assets[1] = fixtures::eth_token("2000", state.ts);
  state.markets[1] = fixtures::eth_perp("2000", state.ts);
  Account account;
  account.balances[kQuoteAsset] = usdc("-15000");
  account.balances[1] = dec("10", 18);
  account.positions[1] = Position{dec("-10", 9), usdc("20000")};
  state.accounts[9] = account;
  // A bystander with a long perp and a liquidatable one-token borrower.
  Account other;
  other.balances[kQuoteAsset] = usdc("500");
  other.positions[1] = Position{dec("1.5", 9), usdc("-3000")};
  state.accounts[10] = other;
  Account borrower;
  borrower.balances[kQuoteAsset] = usdc("-3300");
  borrower.balances[1] = dec("2", 18);
  state.accounts[11] = borrower;
  return state;
}

TEST(KeeperHandMade, CrossMarginBothPricesMoveAtOnce) {
  State state = cross_state();
  ASSERT_EQ(account_health(state, state.accounts.at(9), Level::Maint).value, usdc("2000"));
  KeeperIndex index;
  index.rebuild(state);
  EXPECT_EQ(index.liquidatable(), brute_force(state));
  // The budget is split over ETH (fires when it falls) and ETH-PERP (fires when it rises).
  const auto triggers = index.triggers(9);
  ASSERT_EQ(triggers.size(), 2u);
  for (const KeeperTrigger& t : triggers) {
    EXPECT_EQ(t.fires_below, t.instrument == Instrument::asset(1)) << t.price;
  }
  // Both up together in uneven steps, each update checked on its own, until
  // well past the edge; then both down again.
  Int price = W("2000");
  bool seen = false;
  uint64_t steps = 0;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 400; ++i) {
      const Int step = W("4.13") + W("0.01") * Int(i % 7);
      price += round == 0 ? step : Int(-step);
      if (price < W("1500")) break;
      set_asset_price(state, 1, price);
      index.on_price(state, Instrument::asset(1));
      ASSERT_EQ(index.liquidatable(), brute_force(state)) << "asset step " << i << " at " << price;
      set_market_price(state, 1, price + W("0.5"));
      index.on_price(state, Instrument::market(1));
      ASSERT_EQ(index.liquidatable(), brute_force(state)) << "perp step " << i << " at " << price;
      seen = seen || index.liquidatable().count(9);
      ++steps;
    }
  }
  EXPECT_TRUE(seen);
  // Opposite moves: spot down, perp up (the hedge breaks on both sides).
  for (int i = 0; i < 300; ++i) {
    set_asset_price(state, 1, state.assets.at(1).oracle.price - W("1.7"));
    index.on_price(state, Instrument::asset(1));
    ASSERT_EQ(index.liquidatable(), brute_force(state)) << i;
    set_market_price(state, 1, state.markets.at(1).oracle.price + W("1.3"));
    index.on_price(state, Instrument::market(1));
    ASSERT_EQ(index.liquidatable(), brute_force(state)) << i;
  }
  EXPECT_EQ(index.liquidatable().count(9), 1u);
  std::printf("%llu steps, %llu updates, %llu accounts re-evaluated\n", (unsigned long long)steps,
              (unsigned long long)index.stats().updates, (unsigned long long)index.stats().price_reevaluated);
}

// ---- random states, random walks, random edits ----------------------------------------------


// Assets with decimals 0, 8, 18, 30 and markets with base decimals 0, 4, 9, 18;
// one market with maint margin = WAD (a long there has no price sensitivity,
// only rounding), one asset with maint weight 0.
State random_state(Rng& rng, int accounts) {
  State state = fixtures::base_state();
  auto random_price = [&] {  // 1.000 … 50 000.999, the two draws in a fixed order
    const Int whole = Int(1 + rng.below(50000));
    const Int thousandths = Int(rng.below(1000));
    return Int(whole * wad() + thousandths * pow10(15));
  };
  const unsigned asset_decimals[] = {0, 8, 18, 30};
  const char* asset_maint[] = {"0.9", "0.75", "0", "0.95"};
  const char* liab_maint[] = {"1.1", "1.3", "1.05", "1"};
  for (AssetId id = 1; id <= 4; ++id) {
    Asset asset = fixtures::eth_token("1", state.ts);
    asset.params.decimals = asset_decimals[id - 1];
    asset.params.asset_weight = fixtures::levels("0", "0", asset_maint[id - 1]);
    asset.params.liab_weight = fixtures::levels("2", "2", liab_maint[id - 1]);
    asset.oracle.price = random_price();
    state.assets[id] = asset;
  }
  const unsigned base_decimals[] = {0, 4, 9, 18};
  const char* margins[] = {"0.05", "0.1", "1", "0.0333"};
  for (MarketId id = 1; id <= 4; ++id) {
    Market market = fixtures::eth_perp("1", state.ts);
    market.params.base_decimals = base_decimals[id - 1];
    market.params.margin = fixtures::levels("1", "1", margins[id - 1]);
    market.oracle.price = random_price();
    state.markets[id] = market;
  }
  // Holding sizes: a few base units (rounding is all there is), worth 10^2…10^5
  // quote units (a 0.01% move changes a term by about one unit: the rounding
  // allowance matters), or whole units.
  auto size = [&](const Int& price, unsigned decimals) -> Int {
    switch (rng.below(3)) {
      case 0:
        return Int(1 + rng.below(9));
      case 1: {
        const Int target = Int(100 + rng.below(100'000));  // quote base units (6 decimals)
        const Int units = target * pow10(decimals) * wad() / (price * pow10(6));
        return units.is_zero() ? Int(1) : units;
      }
      default:
        return Int(1 + rng.below(50)) * pow10(decimals);
    }
  };
  for (int i = 0; i < accounts; ++i) {
    Account account;
    const int holdings = 1 + int(rng.below(4));
    for (int h = 0; h < holdings; ++h) {
      const bool negative = rng.below(2) == 0;
      if (rng.below(2) == 0) {
        const AssetId asset = AssetId(1 + rng.below(4));
        const Asset& a = state.assets.at(asset);
        const Int amount = size(a.oracle.price, a.params.decimals);
        account.balances[asset] = negative ? Int(-amount) : amount;
      } else {
        const MarketId market = MarketId(1 + rng.below(4));
        const Market& m = state.markets.at(market);
        Int base = size(m.oracle.price, m.params.base_decimals);
        if (negative) base = -base;
        account.positions[market] = Position{base, -notional(state, market, base)};
      }
    }
    // The quote balance puts H_maint near 0: within a few units for a third of
    // the accounts, within a few percent of the holdings for the rest.
    Account probe = account;
    probe.balances.erase(kQuoteAsset);
    const Int h = account_health(state, probe, Level::Maint).value;
    const Int spread = rng.below(3) == 0 ? Int(3) : abs(h) / 20 + 100;
    const Int quote = -h + Int(rng.signed_between(-1000, 1000)) * spread / 1000;
    if (!quote.is_zero()) account.balances[kQuoteAsset] = quote;
    state.accounts[AccountId(100 + i)] = account;
  }
  return state;
}

TEST(KeeperRandom, WalksAndEditsMatchBruteForceAfterEveryUpdate) {
  for (uint64_t seed : {11u, 12u, 13u}) {
    Rng rng(seed);
    State state = random_state(rng, 150);
    KeeperIndex index;
    index.rebuild(state);
    ASSERT_EQ(index.liquidatable(), brute_force(state)) << "seed " << seed;
    uint64_t reevaluated = 0, updates = 0, changes = 0;
    std::set<AccountId> previous = index.liquidatable();
    for (int step = 0; step < 2500; ++step) {
      const uint64_t kind = rng.below(20);
      if (kind == 0) {
        // An account changes (a trade, a deposit): re-evaluated on its own.
        AccountId id = 100 + rng.below(150);
        Account& account = state.accounts.at(id);
        account.balances[kQuoteAsset] += Int(rng.signed_between(-2000, 2000)) * pow10(6);
        if (account.balances[kQuoteAsset].is_zero()) account.balances.erase(kQuoteAsset);
        const std::vector<AccountId> ids{id};
        index.on_accounts(state, ids);
      } else {
        const bool market = rng.below(2) == 0;
        const uint32_t id = uint32_t(1 + rng.below(4));
        Int& price = market ? state.markets.at(id).oracle.price : state.assets.at(id).oracle.price;
        // Moves of one unit, 0.01%, 0.5%, 5%.
        const uint64_t size = rng.below(4);
        Int delta = size == 0 ? Int(1) : size == 1 ? price / 10'000 : size == 2 ? price / 200 : price / 20;
        if (delta.is_zero()) delta = 1;
        delta *= rng.signed_between(-3, 3);
        if ((price + delta).sign() > 0) price += delta;
        index.on_price(state, market ? Instrument::market(id) : Instrument::asset(id));
        reevaluated += index.stats().last_update_reevaluated;
        ++updates;
      }
      ASSERT_EQ(index.liquidatable(), brute_force(state))
          << "seed " << seed << " step " << step << ": " << describe(index.liquidatable(), brute_force(state));
      for (AccountId id : index.liquidatable()) changes += !previous.count(id);
      for (AccountId id : previous) changes += !index.liquidatable().count(id);
      previous = index.liquidatable();
    }
    std::printf("seed %llu: %.2f accounts re-evaluated per update (of 150), %llu status changes, %zu liquidatable\n",
                (unsigned long long)seed, double(reevaluated) / double(updates), (unsigned long long)changes,
                previous.size());
    EXPECT_GT(changes, 100u);
  }
}

// ---- the band promise, checked at every price near its edge ----------------------------------

// One account holding a token (decimals 0) and/or a perp (base decimals 0)
// sized so that one raw price unit moves a term by about one quote unit: every
// price is a different rounding case. H⁰ is put within a few dozen units of 0
// (either side). Inside its bands the account's status must not change: the
// promise is checked at every price pair of a 41 × 41 grid at the corner of
// the bands (the extreme the index allows), or along 2000 prices for one band.
TEST(KeeperBands, StatusHoldsEverywhereInsideTheBands) {
  Rng rng(99);
  uint64_t checked = 0, tight = 0;
  for (int trial = 0; trial < 600; ++trial) {
    State state = fixtures::base_state();
    Asset token = fixtures::eth_token("1", state.ts);
    token.params.decimals = 0;
    token.params.asset_weight = Levels{0, 0, Int(100 + rng.below(900)) * pow10(15)};  // maint 0.1…0.999
    token.params.liab_weight = Levels{9 * wad(), 9 * wad(), wad() + Int(rng.below(1000)) * pow10(15)};  // 1…1.999
    token.oracle.price = Int(1'000'000 + rng.below(9'000'000));
    state.assets[1] = token;
    Market market = fixtures::eth_perp("1", state.ts);
    market.params.base_decimals = 0;
    market.params.margin = Levels{wad(), wad(), Int(1 + rng.below(999)) * pow10(15)};  // maint 0.001…0.999
    market.oracle.price = Int(1'000'000 + rng.below(9'000'000));
    state.markets[1] = market;
    Account account;
    const uint64_t shape = rng.below(3);  // token, perp, both
    auto big = [&] { return Int(static_cast<int64_t>(100'000'000'000LL + rng.below(10'000'000'000'000ULL))); };
    if (shape != 1) account.balances[1] = rng.below(2) ? big() : Int(-big());
    if (shape != 0) {
      const Int base = rng.below(2) ? big() : Int(-big());
      account.positions[1] = Position{base, -notional(state, 1, base) + Int(rng.signed_between(-5, 5))};
    }
    const Int h = account_health(state, account, Level::Maint).value;
    const Int quote = -h + Int(rng.signed_between(-40, 40));
    if (!quote.is_zero()) account.balances[kQuoteAsset] = quote;
    state.accounts[1] = account;
    const bool under = account_health(state, account, Level::Maint).value.sign() < 0;

    KeeperIndex index;
    index.rebuild(state);
    ASSERT_EQ(index.liquidatable().count(1) == 1, under);
    if (index.tight(1)) {
      ++tight;
      continue;
    }
    // Per instrument: the prices to try, from the band's edge inwards (or
    // around P⁰ when the band is unbounded).
    auto prices = [&](Instrument instrument, const Int& p0, size_t count) {
      std::vector<Int> out;
      for (const KeeperTrigger& t : index.triggers(1)) {
        if (t.instrument != instrument) continue;
        for (size_t i = 0; i < count; ++i) out.push_back(t.fires_below ? Int(t.price + i) : Int(t.price - i));
        return out;
      }
      for (size_t i = 0; i < count; ++i) out.push_back(p0 + Int(static_cast<int64_t>(i)) - Int(count / 2));
      return out;
    };
    const Int p0_asset = state.assets.at(1).oracle.price, p0_market = state.markets.at(1).oracle.price;
    const size_t count = shape == 2 ? 41 : 2000;
    const std::vector<Int> asset_prices =
        shape != 1 ? prices(Instrument::asset(1), p0_asset, count) : std::vector<Int>{p0_asset};
    const std::vector<Int> market_prices =
        shape != 0 ? prices(Instrument::market(1), p0_market, count) : std::vector<Int>{p0_market};
    for (const Int& pa : asset_prices) {
      for (const Int& pm : market_prices) {
        if (pa.sign() <= 0 || pm.sign() <= 0) continue;
        state.assets.at(1).oracle.price = pa;
        state.markets.at(1).oracle.price = pm;
        const Int now = account_health(state, state.accounts.at(1), Level::Maint).value;
        ASSERT_EQ(now.sign() < 0, under) << "trial " << trial << " shape " << shape << " at " << pa << " / " << pm
                                         << ": H = " << now;
        ++checked;
      }
    }
  }
  std::printf("%llu price points checked inside bands, %llu tight accounts\n", (unsigned long long)checked,
              (unsigned long long)tight);
}

// ---- through the log: parked accounts, governance ------------------------------------------

class Driver {
 public:
  void line(std::string_view text) {
    InputError error;
    ASSERT_TRUE(run_.add_line(text, ++line_number_, &error)) << error.to_string();
    const fb::Event* event = flatbuffers::GetRoot<fb::Event>(run_.events().back().data());
    index_.on_event(run_.machine().state(), *event, run_.outcomes().back());
    ASSERT_EQ(index_.liquidatable(), brute_force(run_.machine().state()))
        << "after line " << line_number_ << ": " << text;
  }
  const KeeperIndex& index() const { return index_; }
  const State& state() const { return run_.machine().state(); }

 private:
  MemoryRun run_;
  KeeperIndex index_;
  size_t line_number_ = 0;
};

constexpr std::string_view kGenesis =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"})";
constexpr std::string_view kListEth =
    R"({"type":"list_asset","ts":0,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})";
constexpr std::string_view kListPerp =
    R"({"type":"list_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})";

TEST(KeeperLog, SpecExampleParkedAccountsAndGovernance) {
  Driver d;
  d.line(kGenesis);
  d.line(kListEth);
  d.line(kListPerp);
  // ETH has no price yet: account 5's ETH cannot be valued, it is parked.
  d.line(R"({"type":"deposit","ts":500,"account":5,"asset":1,"amount":"1"})");
  EXPECT_TRUE(d.index().parked(5));
  d.line(R"({"type":"price","ts":1000,"market":1,"price":"2000"})");
  d.line(R"({"type":"deposit","ts":2000,"account":7,"asset":0,"amount":"1000"})");
  d.line(R"({"type":"deposit","ts":2000,"account":8,"asset":0,"amount":"100000"})");
  d.line(R"({"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"4","price":"2000"})");
  EXPECT_TRUE(d.index().liquidatable().empty());
  d.line(R"({"type":"price","ts":3500,"asset":1,"price":"2000"})");
  EXPECT_FALSE(d.index().parked(5));
  d.line(R"({"type":"price","ts":4000,"market":1,"price":"1800"})");
  EXPECT_EQ(d.index().liquidatable(), std::set<AccountId>{7});
  // Governance: a lower maintenance margin (0.01) lifts account 7 out:
  // 1000 + 7200 − 8000 − 72 = 128 USDC.
  d.line(
      R"({"type":"set_market","ts":4100,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.01"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})");
  EXPECT_TRUE(d.index().liquidatable().empty());
  d.line(
      R"({"type":"set_market","ts":4200,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})");
  EXPECT_EQ(d.index().liquidatable(), std::set<AccountId>{7});
  // A rejected event changes nothing.
  d.line(R"({"type":"withdraw","ts":4300,"account":7,"asset":0,"amount":"999"})");
  // The liquidation brings account 7 back to its target; the liquidator is touched too.
  d.line(R"({"type":"liquidate_perp","ts":5000,"liquidator":8,"account":7,"market":1})");
  EXPECT_TRUE(d.index().liquidatable().empty());
  d.line(R"({"type":"price","ts":6000,"market":1,"price":"1700"})");
  EXPECT_EQ(d.index().liquidatable(), std::set<AccountId>{7});
  d.line(R"({"type":"deposit","ts":6500,"account":7,"asset":0,"amount":"500"})");
  EXPECT_TRUE(d.index().liquidatable().empty());
  // Account 5 goes long on its ETH collateral (H_maint = 0.9·2000 − 0.05·6800 =
  // 1460), then ETH halves (560) and the perp falls to 1550 (900 − 600 − 310 = −10).
  d.line(R"({"type":"trade","ts":7000,"market":1,"taker":5,"maker":8,"base":"4","price":"1700"})");
  EXPECT_TRUE(d.index().liquidatable().empty());
  d.line(R"({"type":"price","ts":8000,"asset":1,"price":"1000"})");
  EXPECT_EQ(d.index().liquidatable().count(5), 0u);
  d.line(R"({"type":"price","ts":9000,"market":1,"price":"1600"})");
  EXPECT_EQ(d.index().liquidatable().count(5), 0u);
  d.line(R"({"type":"price","ts":10000,"market":1,"price":"1550"})");
  EXPECT_EQ(d.index().liquidatable().count(5), 1u);
  // Governance on the token: maint weight 0.95 → 950 − 600 − 310 = 40, healthy again.
  d.line(
      R"({"type":"set_asset","ts":11000,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.95"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})");
  EXPECT_EQ(d.index().liquidatable().count(5), 0u);
}

}  // namespace
}  // namespace liql
