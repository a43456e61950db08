// Micro-benchmarks of the pieces replay spends its time in (docs/PERFORMANCE.md):
// Int arithmetic and mul-div, health of accounts with 1 / 4 / 16 holdings, the
// s* and r* searches, one event's import, record encode/decode, the hash chain,
// the state hash and Machine::apply.
//
//   build-bench/bench/micro_bench --benchmark_min_time=0.05
//
// Inputs are the SPEC §8 protocol (USDC 6 decimals, ETH-PERP, ETH 18
// decimals) at realistic magnitudes: prices around 2000·10^18, balances of a few
// thousand whole units. Nothing here asserts a time.

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_inputs.h"
#include "engine/health.h"
#include "engine/int.h"
#include "engine/liquidation.h"
#include "engine/machine.h"
#include "ledger/ledger.h"
#include "replay/jsonl_import.h"
#include "replay/replay.h"
#include "schemas/event_check.h"
#include "schemas/sha256.h"
#include "tools/generate.h"

// Every operator new of this binary is counted: apply_events reports the
// heap allocations per event (issue 13: none on the hot path).
namespace {
std::atomic<uint64_t> allocations{0};
}  // namespace

// GCC 12 sees the free() of a pointer that operator new returned, not that
// this operator new is malloc (-Wmismatched-new-delete): a false positive of
// replacing the global operators.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace liql {
namespace {

using bench::levels;
using bench::ratio;
using bench::units;

// ---- inputs ---------------------------------------------------------------------

constexpr uint64_t kNow = 10'000;

// Genesis state: USDC (asset 0, 6 decimals), partial policy, shares 0.5 / 0.3;
// tokens 1..tokens (ETH-like, 18 decimals) and perps 1..perps (ETH-PERP-like).
State market_state(unsigned tokens, unsigned perps, std::string_view price) {
  State state;
  state.seq = 1;
  state.ts = kNow;
  state.protocol.policy.kind = PolicyKind::Partial;
  state.protocol.liquidator_share = ratio("0.5");
  state.protocol.insurance_share = ratio("0.3");
  Asset quote;
  quote.params.symbol = "USDC";
  quote.params.decimals = 6;
  quote.params.borrowable = true;
  quote.params.asset_weight = levels("1", "1", "1");
  quote.params.liab_weight = levels("1", "1", "1");
  quote.oracle = Oracle{wad(), 0, true};
  state.assets[kQuoteAsset] = quote;
  state.funds[kQuoteAsset] = Funds{};
  for (AssetId id = 1; id <= tokens; ++id) {
    Asset asset;
    asset.params.symbol = "T" + std::to_string(id);
    asset.params.decimals = 18;
    asset.params.borrowable = true;
    asset.params.max_oracle_age_us = 60'000'000;
    asset.params.asset_weight = levels("0.8", "0.85", "0.9");
    asset.params.liab_weight = levels("1.2", "1.15", "1.1");
    asset.params.liquidation_bonus = ratio("0.05");
    asset.oracle = Oracle{ratio(price), kNow, true};
    state.assets[id] = asset;
    state.funds[id] = Funds{};
  }
  for (MarketId id = 1; id <= perps; ++id) {
    Market market;
    market.params.symbol = "P" + std::to_string(id) + "-PERP";
    market.params.base_decimals = 9;
    market.params.margin = levels("0.1", "0.075", "0.05");
    market.params.liquidation_fee = ratio("0.01");
    market.params.lot_size = units("0.001", 9);
    market.params.min_position = units("0.01", 9);
    market.params.max_oracle_age_us = 60'000'000;
    market.params.max_trade_deviation = ratio("0.05");
    market.oracle = Oracle{ratio(price), kNow, true};
    state.markets[id] = market;
  }
  return state;
}

// An account with `holdings` entries: quote balance, then alternately token
// balances (collateral, the odd ones borrowed) and perp positions.
Account account_with(unsigned holdings) {
  Account account;
  account.balances[kQuoteAsset] = units("1000", 6);
  unsigned held = 1;
  for (unsigned i = 1; held < holdings; ++i) {
    account.balances[i] = units(i % 2 == 1 ? "3.5" : "-0.75", 18);
    if (++held == holdings) break;
    account.positions[i] = Position{units(i % 2 == 1 ? "4" : "-2", 9), units(i % 2 == 1 ? "-8000" : "4000", 6)};
    ++held;
  }
  return account;
}

// The SPEC §8 account 7 at ETH-PERP 1800, scaled: `scale` × (4 ETH long,
// −8000 USDC quote, 1000 USDC balance). Liquidatable; s* ≈ 0.73 of the position.
State perp_victim(unsigned scale) {
  State state = market_state(0, 1, "1800");
  Account account;
  account.balances[kQuoteAsset] = units("1000", 6) * scale;
  account.positions[1] = Position{units("4", 9) * scale, units("-8000", 6) * scale};
  state.accounts[7] = account;
  return state;
}

// 10 ETH collateral against 16000 USDC debt at ETH 1750: H_maint < 0 < equity.
State token_victim() {
  State state = market_state(1, 0, "1750");
  Account account;
  account.balances[kQuoteAsset] = units("-16000", 6);
  account.balances[1] = units("10", 18);
  state.accounts[7] = account;
  return state;
}

// ---- Int arithmetic ---------------------------------------------------------------

const Int kBalance = units("1234.567891", 6) * Int(1'000'000'000'000ULL);  // ~1.2·10^21
const Int kPrice = ratio("1999.123456789");                                 // ~2·10^21
const Int kWeight = ratio("0.85");

void BM_IntAdd(benchmark::State& s) {
  Int a = kBalance, b = kPrice;
  for (auto _ : s) {
    benchmark::DoNotOptimize(a);
    Int c = a + b;
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_IntAdd);

void BM_IntMul(benchmark::State& s) {
  Int a = kBalance, b = kPrice;
  for (auto _ : s) {
    benchmark::DoNotOptimize(a);
    Int c = a * b;
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_IntMul);

void BM_IntFdiv(benchmark::State& s) {
  Int a = kBalance * kPrice, b = wad();
  for (auto _ : s) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(fdiv(a, b));
  }
}
BENCHMARK(BM_IntFdiv);

void BM_WideMul4(benchmark::State& s) {
  // The shape of token_term's numerator: balance · price · 10^qd · weight.
  for (auto _ : s) {
    Wide n = Wide(kBalance) * Wide(kPrice) * pow10_wide(6) * Wide(kWeight);
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_WideMul4);

void BM_WideFdiv(benchmark::State& s) {
  const Wide n = Wide(kBalance) * Wide(kPrice) * pow10_wide(6) * Wide(kWeight);
  for (auto _ : s) benchmark::DoNotOptimize(fdiv(n, pow10_wide(54)));
}
BENCHMARK(BM_WideFdiv);

void BM_MuldivFloor(benchmark::State& s) {
  const Int a = units("52.308", 6), b = ratio("0.3");
  for (auto _ : s) benchmark::DoNotOptimize(muldiv_floor(a, b, wad()));
}
BENCHMARK(BM_MuldivFloor);

void BM_MuldivCeilNegative(benchmark::State& s) {
  const Int a = -units("52.308", 6), b = ratio("0.3");
  for (auto _ : s) benchmark::DoNotOptimize(muldiv_ceil(a, b, wad()));
}
BENCHMARK(BM_MuldivCeilNegative);

void BM_MuldivFloorLarge(benchmark::State& s) {
  // Operands beyond 64 bits: the 512-bit path whatever the implementation.
  const Int a = kBalance * 1000, b = kPrice;
  for (auto _ : s) benchmark::DoNotOptimize(muldiv_floor(a, b, wad()));
}
BENCHMARK(BM_MuldivFloorLarge);

void BM_Int128MulDivBaseline(benchmark::State& s) {
  // What the same ⌊a·b/c⌋ costs in native 128-bit arithmetic, for scale.
  __extension__ using U128 = unsigned __int128;
  U128 a = 52'308'000, b = 300'000'000'000'000'000ULL, c = kWad;
  for (auto _ : s) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(a * b / c);
  }
}
BENCHMARK(BM_Int128MulDivBaseline);

void BM_ParseUnits(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(parse_units("1999.123456789", 18));
}
BENCHMARK(BM_ParseUnits);

void BM_EncodeBe32(benchmark::State& s) {
  uint8_t out[32];
  const Int value = -kBalance;
  for (auto _ : s) {
    encode_be32(value, out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_EncodeBe32);

// ---- health -------------------------------------------------------------------------

void BM_AccountHealth(benchmark::State& s) {
  const unsigned holdings = static_cast<unsigned>(s.range(0));
  const State state = market_state(8, 8, "2000");
  const Account account = account_with(holdings);
  if (account.balances.size() + account.positions.size() != holdings) throw std::logic_error("holdings");
  for (auto _ : s) benchmark::DoNotOptimize(account_health(state, account, Level::Maint));
  s.SetLabel(std::to_string(holdings) + " holdings, one level");
}
BENCHMARK(BM_AccountHealth)->Arg(1)->Arg(4)->Arg(16);

void BM_HealthReport(benchmark::State& s) {
  const unsigned holdings = static_cast<unsigned>(s.range(0));
  const State state = market_state(8, 8, "2000");
  const Account account = account_with(holdings);
  for (auto _ : s) benchmark::DoNotOptimize(health_report(state, account));
  s.SetLabel(std::to_string(holdings) + " holdings, all four levels");
}
BENCHMARK(BM_HealthReport)->Arg(1)->Arg(4)->Arg(16);

// ---- the s* and r* searches ---------------------------------------------------------

void BM_PerpRequired(benchmark::State& s) {
  const State state = perp_victim(static_cast<unsigned>(s.range(0)));
  const Account& account = state.accounts.at(7);
  for (auto _ : s) benchmark::DoNotOptimize(perp_required(state, account, 1));
  s.SetLabel(std::to_string(4 * s.range(0)) + " ETH position, " + std::to_string(4000 * s.range(0)) + " lots");
}
BENCHMARK(BM_PerpRequired)->Arg(1)->Arg(100);

void BM_TokenRequired(benchmark::State& s) {
  const State state = token_victim();
  const Account& account = state.accounts.at(7);
  const Int cap = token_repay_cap(state, account, kQuoteAsset, 1);
  for (auto _ : s) benchmark::DoNotOptimize(token_required(state, account, kQuoteAsset, 1, cap));
}
BENCHMARK(BM_TokenRequired);

void BM_TokenRepayCap(benchmark::State& s) {
  const State state = token_victim();
  const Account& account = state.accounts.at(7);
  for (auto _ : s) benchmark::DoNotOptimize(token_repay_cap(state, account, kQuoteAsset, 1));
}
BENCHMARK(BM_TokenRepayCap);

// ---- events: import, record encode/decode, hash chain ---------------------------------

const std::vector<std::string> kSetup = {
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"})",
    R"({"type":"list_asset","ts":0,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":3600000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})",
    R"({"type":"list_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":3600000000,"max_trade_deviation":"0.05"})",
    R"({"type":"price","ts":1000,"market":1,"price":"2000"})",
    R"({"type":"price","ts":1000,"asset":1,"price":"2000"})",
    R"({"type":"deposit","ts":2000,"account":7,"asset":0,"amount":"100000"})",
    R"({"type":"deposit","ts":2000,"account":8,"asset":0,"amount":"10000000"})",
};
constexpr std::string_view kTrade = R"({"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"4.25","price":"2000.5"})";
constexpr std::string_view kTradeBack = R"({"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"-4.25","price":"2000.5"})";
constexpr std::string_view kDeposit = R"({"type":"deposit","ts":3000,"account":7,"asset":0,"amount":"12.345678"})";
constexpr std::string_view kPriceLine = R"({"type":"price","ts":3000,"market":1,"price":"2001.25"})";

// The machine after kSetup; its state is the importer's head.
Machine setup_machine() {
  MemoryRun run;
  InputError error;
  for (size_t i = 0; i < kSetup.size(); ++i) {
    if (!run.add_line(kSetup[i], i + 1, &error)) throw std::runtime_error("bench setup: " + error.to_string());
  }
  return run.machine();
}

// One JSON line → its Event buffer, against the state after kSetup.
std::string import_one(const State& head, std::string_view line) {
  JsonlImporter importer(head);
  InputError error;
  if (!importer.add_line(line, 1, &error)) throw std::runtime_error("bench import: " + error.to_string());
  return importer.events().front();
}

void BM_ImportTradeLine(benchmark::State& s) {
  const Machine machine = setup_machine();
  for (auto _ : s) benchmark::DoNotOptimize(import_one(machine.state(), kTrade));
}
BENCHMARK(BM_ImportTradeLine);

// What Ledger::append does per event besides RocksDB (ledger/ledger.cc encode_record).
void encode_record(flatbuffers::FlatBufferBuilder& builder, uint64_t seq, std::string_view event, const Hash& chain) {
  builder.Clear();
  builder.ForceVectorAlignment(event.size(), 1, 8);
  auto event_offset = builder.CreateVector(reinterpret_cast<const uint8_t*>(event.data()), event.size());
  auto chain_offset = builder.CreateVector(chain.data(), chain.size());
  fb::FinishRecordBuffer(builder, fb::CreateRecord(builder, seq, event_offset, chain_offset));
}

void BM_RecordEncode(benchmark::State& s) {
  const Machine machine = setup_machine();
  const std::string event = import_one(machine.state(), kTrade);
  flatbuffers::FlatBufferBuilder builder(1024);
  Hash chain{};
  uint64_t seq = 1;
  for (auto _ : s) {
    encode_record(builder, seq++, event, chain);
    benchmark::DoNotOptimize(builder.GetBufferPointer());
  }
  s.SetLabel("trade event " + std::to_string(event.size()) + " B, record " + std::to_string(builder.GetSize()) + " B");
}
BENCHMARK(BM_RecordEncode);

// What the log reader does per record besides RocksDB: decode_record_value
// (outer and nested FlatBuffers verifier, seq, structural check of the event)
// and, with Arg 1, the chain check SHA-256(previous ‖ event).
void BM_RecordDecode(benchmark::State& s) {
  const Machine machine = setup_machine();
  const std::string event = import_one(machine.state(), kTrade);
  flatbuffers::FlatBufferBuilder builder(1024);
  const Hash previous{};
  const Hash chain = chain_next(previous, std::span(reinterpret_cast<const uint8_t*>(event.data()), event.size()));
  encode_record(builder, 2, event, chain);
  std::vector<uint64_t> aligned(builder.GetSize() / 8 + 1);
  std::memcpy(aligned.data(), builder.GetBufferPointer(), builder.GetSize());
  const std::string_view value(reinterpret_cast<const char*>(aligned.data()), builder.GetSize());
  const bool with_chain = s.range(0) != 0;
  AlignedScratch scratch;
  LogRecord record;
  for (auto _ : s) {
    if (!decode_record_value(2, value, &scratch, &record).is_ok()) throw std::runtime_error("decode");
    benchmark::DoNotOptimize(record.event);
    if (with_chain && chain_next(previous, record.event_bytes) != record.chain) throw std::runtime_error("chain");
  }
  s.SetLabel(with_chain ? "decode_record_value + chain" : "decode_record_value");
}
BENCHMARK(BM_RecordDecode)->Arg(0)->Arg(1);

void BM_ChainNext(benchmark::State& s) {
  const std::string event(static_cast<size_t>(s.range(0)), 'x');
  Hash chain{};
  for (auto _ : s) {
    chain = chain_next(chain, std::span(reinterpret_cast<const uint8_t*>(event.data()), event.size()));
    benchmark::DoNotOptimize(chain);
  }
  s.SetBytesProcessed(s.iterations() * (s.range(0) + 32));
}
BENCHMARK(BM_ChainNext)->Arg(200)->Arg(400);

// ---- state hash and apply ------------------------------------------------------------

// N accounts, each with a USDC balance, one collateral (token 1 or 2, in
// turn, so that the upper nodes of the commitment carry three assets) and one
// perp position: the shape issue 8 states the commitment's memory for.
State commitment_state(int64_t accounts) {
  State state = market_state(2, 1, "2000");
  for (int64_t i = 0; i < accounts; ++i) {
    Account& account = create_account(state, static_cast<AccountId>(1000 + i));
    account.balances[kQuoteAsset] = units("1000", 6) + Int(i);
    account.balances[static_cast<AssetId>(1 + i % 2)] = units("3.5", 18);
    account.positions[1] = Position{units("4", 9), units("-8000", 6)};
  }
  return state;
}

// The state hash from scratch (state_hash: every leaf, every node): what a
// snapshot restore costs, and what every audit record cost before SPEC v2.
void BM_StateHashFull(benchmark::State& s) {
  const State state = commitment_state(s.range(0));
  for (auto _ : s) benchmark::DoNotOptimize(state_hash(state));
  s.SetLabel(std::to_string(s.range(0)) + " accounts");
  s.SetItemsProcessed(s.iterations() * s.range(0));
}
BENCHMARK(BM_StateHashFull)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

// One account changed, then the state hash (Commitment, SPEC §7.2): the cost
// of a hash after an event that touches one account, O(log n); and the
// tree's memory per account (the counter bytes_per_account).
void BM_CommitmentOneTouched(benchmark::State& s) {
  State state = commitment_state(s.range(0));
  Commitment commitment;
  benchmark::DoNotOptimize(commitment.hash(state));
  uint64_t step = 0;
  for (auto _ : s) {
    const uint64_t index = (step++ * 7919) % state.order.size();
    const AccountId id = state.order[index];
    state.accounts.at(id).balances[kQuoteAsset] += 1;
    commitment.touch(std::span(&id, 1));
    benchmark::DoNotOptimize(commitment.hash(state));
  }
  s.counters["bytes_per_account"] = double(commitment.memory_bytes()) / double(s.range(0));
  s.SetLabel(std::to_string(s.range(0)) + " accounts");
}
BENCHMARK(BM_CommitmentOneTouched)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

// The heap an account holds in the state (issue 13): commitment_state(N)
// built under mallinfo2, its bytes per account (the counter bytes_per_account,
// allocator overhead included; the commitment's tree is apart, above).
void BM_StateMemory(benchmark::State& s) {
  double per_account = 0;
  for (auto _ : s) {
    const size_t before = mallinfo2().uordblks;
    State state = commitment_state(s.range(0));
    per_account = double(mallinfo2().uordblks - before) / double(s.range(0));
    benchmark::DoNotOptimize(state);
  }
  s.counters["bytes_per_account"] = per_account;
  s.SetLabel(std::to_string(s.range(0)) + " accounts");
}
BENCHMARK(BM_StateMemory)->Arg(100000)->Unit(benchmark::kMillisecond);

// An account looked up by id and read, ids in a scattered order (the cache
// misses of State::account in the replay profile).
void BM_AccountLookup(benchmark::State& s) {
  const State state = commitment_state(s.range(0));
  uint64_t step = 0;
  for (auto _ : s) {
    const AccountId id = state.order[(step++ * 7919) % state.order.size()];
    benchmark::DoNotOptimize(state.account(id)->balances.size());
  }
  s.SetLabel(std::to_string(s.range(0)) + " accounts");
}
BENCHMARK(BM_AccountLookup)->Arg(10000)->Arg(1000000);

// The copy of an account the machine's journal keeps before an event changes
// it (a quote balance, one collateral, one position).
void BM_AccountCopy(benchmark::State& s) {
  const State state = commitment_state(1);
  const Account& account = state.accounts.at(state.order[0]);
  for (auto _ : s) {
    Account copy = account;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_AccountCopy);

void apply_events(benchmark::State& s, std::vector<std::string_view> lines) {
  Machine machine = setup_machine();
  std::vector<std::string> events;
  for (std::string_view line : lines) events.push_back(import_one(machine.state(), line));
  std::vector<const fb::Event*> roots;
  for (const std::string& event : events) roots.push_back(flatbuffers::GetRoot<fb::Event>(event.data()));
  uint64_t applied = 0;
  Outcome outcome;  // reused, as replay does
  const uint64_t allocations_before = allocations.load();
  for (auto _ : s) {
    for (const fb::Event* event : roots) {
      if (!machine.apply(*event, machine.state().seq + 1, &outcome).is_ok()) s.SkipWithError("apply failed");
      applied += outcome.applied();
    }
  }
  if (applied != s.iterations() * roots.size()) s.SkipWithError("an event was rejected");
  s.SetItemsProcessed(s.iterations() * roots.size());
  s.counters["allocs_per_event"] = double(allocations.load() - allocations_before) / double(applied);
}

void BM_ApplyDeposit(benchmark::State& s) { apply_events(s, {kDeposit}); }
BENCHMARK(BM_ApplyDeposit);
void BM_ApplyPrice(benchmark::State& s) { apply_events(s, {kPriceLine}); }
BENCHMARK(BM_ApplyPrice);
void BM_ApplyTradePair(benchmark::State& s) { apply_events(s, {kTrade, kTradeBack}); }
BENCHMARK(BM_ApplyTradePair);

// The generator's market (seed 42, crash 40 %, 20 events per account) as Event
// buffers, built once per size: what replay applies, without the read.
const std::vector<std::string>& market_events(uint64_t accounts) {
  static std::map<uint64_t, std::vector<std::string>> built;
  auto [it, fresh] = built.try_emplace(accounts);
  if (!fresh) return it->second;
  std::vector<std::string> lines;
  GenerateOptions options;
  options.seed = 42;
  options.accounts = accounts;
  options.events = 20 * accounts;
  Status status = generate_market(options, [&](std::string_view line) { lines.emplace_back(line); });
  if (!status.is_ok()) throw std::runtime_error("bench generate: " + status.to_string());
  JsonlImporter importer{State{}};
  InputError error;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!importer.add_line(lines[i], i + 1, &error)) throw std::runtime_error("bench import: " + error.to_string());
  }
  it->second = importer.events();
  return it->second;
}

// Machine::apply over the whole market from genesis, one thread: the apply
// half of plain replay (the read-ahead thread does the other, in parallel).
void BM_ApplyMarket(benchmark::State& s) {
  const std::vector<std::string>& events = market_events(static_cast<uint64_t>(s.range(0)));
  Outcome outcome;
  for (auto _ : s) {
    Machine machine;
    for (size_t i = 0; i < events.size(); ++i) {
      const auto* event = flatbuffers::GetRoot<fb::Event>(events[i].data());
      if (!machine.apply(*event, i + 1, &outcome).is_ok()) s.SkipWithError("apply failed");
    }
    benchmark::DoNotOptimize(machine.state().seq);
    s.PauseTiming();  // the state's destruction is not replay's
    machine = Machine();
    s.ResumeTiming();
  }
  s.SetItemsProcessed(s.iterations() * events.size());
}
BENCHMARK(BM_ApplyMarket)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace liql
