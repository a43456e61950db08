// Keeper scan (engine/keeper.h): after each price update, find every
// liquidatable account.
//
//   build-keeper/bench/keeper_bench --benchmark_min_time=1
//
// The state is built directly (no log): USDC (6 decimals), ETH (18) and BTC
// (8) tokens, ETH-PERP (base 9 decimals, maint 5%) and BTC-PERP (base 8, maint
// 4%). N accounts, deterministic (splitmix64):
//   * N − 100 ordinary accounts at 1–3× leverage: a single perp, two perps, or
//     ETH/BTC collateral against USDC debt (LTV 10–50%, some with a perp too);
//   * 100 "at risk" accounts (the same count at every N), single perps whose
//     liquidation price lies within −1%…+3% of the start price: the price walk
//     keeps pushing them in and out of liquidation.
// The timed loop is a closed random walk of ±0.1% steps on one of the four
// feeds per update, reflected inside ±4% of the start prices (8192 updates,
// then the same path back). Each iteration: set one price, KeeperIndex::on_price.
// The index is rebuilt once, outside the timed loop.
//
// BM_KeeperScan/N      the index, N = 10^3 … 10^6 accounts
// BM_KeeperScanDense/N the same with 1% of N at risk (cost follows the number
//                      of accounts near the edge, not N)
// BM_KeeperNaive/N     a full scan of every account's H_maint per update
//
// Counters: reevals = accounts re-evaluated exactly per update, liquidatable =
// size of the set at the end, rebuild_s = one-off index build time.

#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "bench/bench_inputs.h"
#include "engine/health.h"
#include "engine/int.h"
#include "engine/keeper.h"
#include "engine/state.h"
#include "tools/rng.h"

namespace liql {
namespace {

using bench::levels;
using bench::ratio;
using bench::units;

constexpr uint64_t kNow = 10'000;
constexpr AssetId kEth = 1, kBtc = 2;
constexpr MarketId kEthPerp = 1, kBtcPerp = 2;
constexpr unsigned kQd = 6;

State protocol_state() {
  State state;
  state.seq = 1;
  state.ts = kNow;
  state.protocol.liquidator_share = ratio("0.5");
  state.protocol.insurance_share = ratio("0.3");
  Asset quote;
  quote.params.symbol = "USDC";
  quote.params.decimals = kQd;
  quote.params.asset_weight = levels("1", "1", "1");
  quote.params.liab_weight = levels("1", "1", "1");
  state.assets[kQuoteAsset] = quote;
  auto token = [&](AssetId id, std::string_view symbol, unsigned decimals, std::string_view price) {
    Asset asset;
    asset.params.symbol = std::string(symbol);
    asset.params.decimals = decimals;
    asset.params.borrowable = true;
    asset.params.max_oracle_age_us = 3'600'000'000ULL;
    asset.params.asset_weight = levels("0.8", "0.85", "0.9");
    asset.params.liab_weight = levels("1.2", "1.15", "1.1");
    asset.params.liquidation_bonus = ratio("0.05");
    asset.oracle = Oracle{ratio(price), kNow, true};
    state.assets[id] = asset;
  };
  token(kEth, "ETH", 18, "2000");
  token(kBtc, "BTC", 8, "40000");
  auto perp = [&](MarketId id, std::string_view symbol, unsigned bd, std::string_view maint, std::string_view price) {
    Market market;
    market.params.symbol = std::string(symbol);
    market.params.base_decimals = bd;
    market.params.margin = levels("0.1", "0.075", maint);
    market.params.liquidation_fee = ratio("0.01");
    market.params.lot_size = Int(1);
    market.params.max_oracle_age_us = 3'600'000'000ULL;
    market.params.max_trade_deviation = ratio("0.05");
    market.oracle = Oracle{ratio(price), kNow, true};
    state.markets[id] = market;
  };
  perp(kEthPerp, "ETH-PERP", 9, "0.05", "2000");
  perp(kBtcPerp, "BTC-PERP", 8, "0.04", "40000");
  return state;
}

// A position of roughly `usd` dollars of notional in `market`, entered at the
// oracle price (quote = −notional).
Position position_of(const State& state, MarketId market, uint64_t usd, bool long_side) {
  const Market& m = state.markets.at(market);
  // base units = usd · 10^bd · WAD / P
  Int base = Int(usd) * pow10(m.params.base_decimals) * wad() / m.oracle.price;
  if (base.is_zero()) base = 1;
  if (!long_side) base = -base;
  return Position{base, -notional(state, market, base)};
}

// x · num / den in quote base units, for a whole-dollar amount x.
Int dollars(uint64_t usd, uint64_t num = 1, uint64_t den = 1) { return Int(usd) * pow10(kQd) * num / den; }

Account ordinary_account(const State& state, Rng& rng) {
  Account account;
  const uint64_t kind = rng.below(20);
  const uint64_t leverage_permille = rng.between(1000, 3000);
  if (kind < 7) {  // one perp
    const MarketId market = rng.below(2) == 0 ? kEthPerp : kBtcPerp;
    const uint64_t usd = rng.between(1'000, 200'000);
    account.positions[market] = position_of(state, market, usd, rng.below(2) == 0);
    account.balances[kQuoteAsset] = dollars(usd, 1000, leverage_permille);
  } else if (kind < 13) {  // two perps, either sides
    const uint64_t eth = rng.between(1'000, 100'000), btc = rng.between(1'000, 100'000);
    account.positions[kEthPerp] = position_of(state, kEthPerp, eth, rng.below(2) == 0);
    account.positions[kBtcPerp] = position_of(state, kBtcPerp, btc, rng.below(2) == 0);
    account.balances[kQuoteAsset] = dollars(eth + btc, 1000, leverage_permille);
  } else {  // token collateral against USDC debt, sometimes a perp as well
    const AssetId asset = rng.below(2) == 0 ? kEth : kBtc;
    const uint64_t usd = rng.between(2'000, 300'000);
    const Asset& a = state.assets.at(asset);
    account.balances[asset] = Int(usd) * pow10(a.params.decimals) * wad() / a.oracle.price;
    const uint64_t ltv_permille = rng.between(100, 500);
    account.balances[kQuoteAsset] = -dollars(usd, ltv_permille, 1000);
    if (rng.below(10) < 3) {
      const MarketId market = rng.below(2) == 0 ? kEthPerp : kBtcPerp;
      const uint64_t perp_usd = rng.between(500, usd / 2);
      const bool long_side = rng.below(2) == 0;
      account.positions[market] = position_of(state, market, perp_usd, long_side);
    }
  }
  return account;
}

// A single perp whose liquidation price is u away from the start price,
// u ∈ [−1%, +3%] against the position (u < 0: starts liquidatable):
// long  C = X·(m + (1 − m)·u), short C = X·(m + (1 + m)·u).
Account at_risk_account(const State& state, Rng& rng) {
  Account account;
  const MarketId market = rng.below(2) == 0 ? kEthPerp : kBtcPerp;
  const bool long_side = rng.below(2) == 0;
  const uint64_t usd = rng.between(1'000, 100'000);
  const Position position = position_of(state, market, usd, long_side);
  account.positions[market] = position;
  const Int m_ppm = state.markets.at(market).params.margin.maint / Int(1'000'000'000'000ULL);  // WAD → ppm
  const Int u_ppm = Int(static_cast<int64_t>(rng.between(0, 40'000)) - 10'000);
  const Int x = abs(position.quote);
  const Int side = long_side ? Int(1'000'000) - m_ppm : Int(1'000'000) + m_ppm;
  account.balances[kQuoteAsset] = x * (m_ppm * 1'000'000 + side * u_ppm) / Int(1'000'000'000'000LL);
  return account;
}

struct Update {
  Instrument instrument;
  Int price;
};

// A closed ±0.1% walk over the four feeds, reflected inside ±4%: forward
// `steps` updates, then the same path back to the start prices.
std::vector<Update> price_walk(const State& start, size_t steps) {
  Rng rng(2024);
  const Instrument feeds[] = {Instrument::asset(kEth), Instrument::asset(kBtc), Instrument::market(kEthPerp),
                              Instrument::market(kBtcPerp)};
  std::map<Instrument, Int> price, origin;
  for (const Instrument& feed : feeds) {
    const Int& p = feed.kind == Instrument::Kind::Asset ? start.assets.at(feed.id).oracle.price
                                                        : start.markets.at(feed.id).oracle.price;
    price[feed] = origin[feed] = p;
  }
  std::vector<Update> forward, back;
  for (size_t i = 0; i < steps; ++i) {
    const Instrument feed = feeds[rng.below(4)];
    const Int before = price[feed];
    const Int step = before / 1000;
    Int next = rng.below(2) == 0 ? before + step : before - step;
    const Int lo = origin[feed] * 96 / 100, hi = origin[feed] * 104 / 100;
    if (next < lo || next > hi) next = next < lo ? before + step : before - step;
    price[feed] = next;
    forward.push_back(Update{feed, next});
    back.push_back(Update{feed, before});
  }
  forward.insert(forward.end(), back.rbegin(), back.rend());
  return forward;
}

struct Fixture {
  State state;
  KeeperIndex index;
  std::vector<Update> walk;
  size_t next = 0;
  double rebuild_seconds = 0;

  void apply(const Update& update) {
    Oracle& oracle = update.instrument.kind == Instrument::Kind::Asset ? state.assets.at(update.instrument.id).oracle
                                                                       : state.markets.at(update.instrument.id).oracle;
    oracle.price = update.price;
  }
  const Update& take() {
    const Update& update = walk[next];
    next = (next + 1) % walk.size();
    return update;
  }
};

// Built once per (N, at-risk count, with index) and kept: Google Benchmark
// calls a benchmark function several times while it settles the iteration count.
Fixture& fixture(uint64_t n, uint64_t at_risk, bool with_index) {
  static std::map<std::tuple<uint64_t, uint64_t, bool>, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[{n, at_risk, with_index}];
  if (slot) return *slot;
  slot = std::make_unique<Fixture>();
  Fixture& f = *slot;
  f.state = protocol_state();
  Rng rng(n * 7919 + at_risk);
  const uint64_t stride = at_risk == 0 ? 0 : n / at_risk;
  f.state.accounts.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const bool risky = stride != 0 && i % stride == 0 && i / stride < at_risk;
    f.state.accounts[1000 + i] = risky ? at_risk_account(f.state, rng) : ordinary_account(f.state, rng);
  }
  f.walk = price_walk(f.state, 8192);
  if (with_index) {
    const auto t0 = std::chrono::steady_clock::now();
    f.index.rebuild(f.state);
    f.rebuild_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return f;
}

void keeper_scan(benchmark::State& s, uint64_t n, uint64_t at_risk) {
  Fixture& f = fixture(n, at_risk, true);
  const uint64_t before = f.index.stats().price_reevaluated;
  for (auto _ : s) {
    const Update& update = f.take();
    f.apply(update);
    f.index.on_price(f.state, update.instrument);
  }
  s.counters["reevals"] =
      benchmark::Counter(double(f.index.stats().price_reevaluated - before), benchmark::Counter::kAvgIterations);
  s.counters["liquidatable"] = double(f.index.liquidatable().size());
  s.counters["rebuild_s"] = f.rebuild_seconds;
  s.counters["entries"] = double(f.index.entries());
}

void BM_KeeperScan(benchmark::State& s) { keeper_scan(s, uint64_t(s.range(0)), 100); }
BENCHMARK(BM_KeeperScan)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

void BM_KeeperScanDense(benchmark::State& s) { keeper_scan(s, uint64_t(s.range(0)), uint64_t(s.range(0)) / 100); }
BENCHMARK(BM_KeeperScanDense)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

void BM_KeeperNaive(benchmark::State& s) {
  const uint64_t n = uint64_t(s.range(0));
  Fixture& f = fixture(n, 100, false);
  uint64_t liquidatable = 0;
  for (auto _ : s) {
    const Update& update = f.take();
    f.apply(update);
    liquidatable = 0;
    for (const auto& [id, account] : f.state.accounts) {
      liquidatable += account_health(f.state, account, Level::Maint).value.sign() < 0;
    }
    benchmark::DoNotOptimize(liquidatable);
  }
  s.counters["reevals"] = double(n);
  s.counters["liquidatable"] = double(liquidatable);
}
BENCHMARK(BM_KeeperNaive)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace liql
