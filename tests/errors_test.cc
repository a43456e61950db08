// Errors and invariants (issue 11): what the library does when a step of the
// state machine throws what no rule expects, when an event or a snapshot
// breaks SPEC §3's publish_ts ≤ ts, and the REQUIRES of the arithmetic that
// are now checked.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "engine/int.h"
#include "engine/liquidation.h"
#include "replay/replay.h"
#include "tests/event_lines.h"
#include "tests/test_dirs.h"

// ---- allocation failure on demand ---------------------------------------------
//
// operator new of this test binary fails once, with std::bad_alloc, at the
// n-th allocation of the thread that armed it. Not under AddressSanitizer,
// whose runtime brings its own operator new.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIQL_TEST_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LIQL_TEST_UNDER_ASAN 1
#endif

namespace {
thread_local long allocations_before_failure = -1;  // -1: none fails
thread_local bool failure_injected = false;
}  // namespace

#ifndef LIQL_TEST_UNDER_ASAN
// Replaced in this binary only: allocates with malloc, frees with free.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (allocations_before_failure == 0) {
    allocations_before_failure = -1;
    failure_injected = true;
    throw std::bad_alloc();
  }
  if (allocations_before_failure > 0) --allocations_before_failure;
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }
#endif

namespace liql {
namespace {

std::vector<std::string> spec8_events() {
  MemoryRun run;
  InputError error;
  EXPECT_TRUE(run.add_text(lines::kSpec8Example, &error)) << error.to_string();
  return run.events();
}

const fb::Event& event_of(const std::string& bytes) { return *flatbuffers::GetRoot<fb::Event>(bytes.data()); }

// A rule with a bug: sizing a liquidation reads a map entry that is not there.
class ThrowingRule : public LiquidationRule {
 public:
  std::string name() const override { return "throwing"; }
  Int perp_allowed(const PerpCase&) const override { throw std::out_of_range("test rule: no such entry"); }
  Int token_allowed(const TokenCase&) const override { throw std::out_of_range("test rule: no such entry"); }
  std::unique_ptr<LiquidationRule> clone() const override { return std::make_unique<ThrowingRule>(); }
};

// A std::out_of_range inside a step used to escape Machine::apply and
// terminate the process (std::terminate through replay). Now replay stops at
// that seq with Internal naming it, the state that of the event before, and
// the visitor never sees the event.
TEST(MachineFault, AnExceptionInAStepStopsReplayAtItsSeqWithTheStateBefore) {
  testing::ScratchDir dir;
  std::unique_ptr<Ledger> ledger;
  ASSERT_TRUE(Ledger::open(dir.path("db"), LedgerOptions{}, &ledger).is_ok());
  AppendResult appended;
  InputError error;
  ASSERT_TRUE(append_jsonl(*ledger, lines::kSpec8Example, &appended, &error, 0).is_ok()) << error.to_string();
  ASSERT_EQ(ledger->head().seq, 10u);  // seq 10: the liquidation of account 7

  Machine before;
  ReplayCounts before_counts;
  ASSERT_TRUE(replay(*ledger, 9, &before, &before_counts).is_ok());
  Machine machine;
  machine.pin_rule(std::make_shared<ThrowingRule>());
  ReplayCounts counts;
  uint64_t visited = 0;
  const Status s = replay(*ledger, kHeadSeq, &machine, &counts, [&](const EventView&) {
    ++visited;
    return Status::ok();
  });
  EXPECT_EQ(s.code(), Status::Code::Internal) << s.to_string();
  EXPECT_NE(s.message().find("seq 10: the state machine failed on a liquidate_perp event (test rule: no such entry); "
                             "the state is that of seq 9"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(visited, 9u);
  EXPECT_EQ(counts.applied + counts.rejected, 9u);
  EXPECT_EQ(machine.state().seq, 9u);
  EXPECT_TRUE(machine.state() == before.state());
  EXPECT_EQ(state_hash(machine.state()), state_hash(before.state()));

  // The machine goes on from that state: without the rule, seq 10 applies as in the log.
  Machine whole;
  ReplayCounts whole_counts;
  ASSERT_TRUE(replay(*ledger, kHeadSeq, &whole, &whole_counts).is_ok());
  machine.pin_rule(nullptr);
  Outcome outcome;
  const std::vector<std::string> events = spec8_events();
  ASSERT_TRUE(machine.apply(event_of(events[9]), 10, &outcome).is_ok());
  EXPECT_TRUE(outcome.applied());
  EXPECT_TRUE(machine.state() == whole.state());
}

// Every allocation a step makes may fail (std::bad_alloc): for each event of
// SPEC §8's example (genesis, governance, listings, prices, deposits creating
// accounts, a trade, a liquidation) and each of its allocations in turn, the
// failed apply is Internal and leaves the state exactly as it was; the
// allocation after the last one is never reached, and the event applies.
TEST(MachineFault, AFailedAllocationAnywhereInAnEventLeavesTheStateAsItWas) {
#ifdef LIQL_TEST_UNDER_ASAN
  GTEST_SKIP() << "AddressSanitizer brings its own operator new";
#endif
  const std::vector<std::string> events = spec8_events();
  Machine machine;
  for (size_t i = 0; i < events.size(); ++i) {
    const uint64_t seq = i + 1;
    const fb::Event& event = event_of(events[i]);
    Machine expected = machine;
    Outcome expected_outcome;
    ASSERT_TRUE(expected.apply(event, seq, &expected_outcome).is_ok());
    long failures = 0;
    for (long n = 0; n < 10'000; ++n) {
      Machine trial = machine;
      Outcome outcome;
      failure_injected = false;
      allocations_before_failure = n;
      const Status s = trial.apply(event, seq, &outcome);
      allocations_before_failure = -1;
      if (s.is_ok()) {  // no allocation failed, or only an invariant check's (Debug), which is skipped
        EXPECT_TRUE(trial.state() == expected.state()) << "seq " << seq << ", allocation " << n;
        EXPECT_EQ(outcome.reason, expected_outcome.reason);
        if (!failure_injected) break;
        continue;
      }
      ++failures;
      EXPECT_TRUE(failure_injected);
      EXPECT_EQ(s.code(), Status::Code::Internal) << s.to_string();
      EXPECT_NE(s.message().find("seq " + std::to_string(seq) + ": "), std::string::npos) << s.message();
      EXPECT_TRUE(trial.state() == machine.state()) << "seq " << seq << ", allocation " << n << " failed";
    }
    // Every event but a price allocates (its outcome's touched list, an account, a listing, a totals entry).
    if (event.body_type() != fb::Body::Price) {
      EXPECT_GT(failures, 0) << "seq " << seq;
    }
    machine = std::move(expected);
  }
}

// SPEC §3's publish_ts ≤ ts for an event given to the machine directly: it is
// refused (InvalidArgument naming the seq), nothing changes, not even seq;
// the same price published at its ts then applies.
TEST(PublishTs, TheMachineRefusesAPricePublishedAfterItsTs) {
  const std::vector<std::string> events = spec8_events();
  Machine machine;
  Outcome outcome;
  for (size_t i = 0; i < 4; ++i) ASSERT_TRUE(machine.apply(event_of(events[i]), i + 1, &outcome).is_ok());
  const State before = machine.state();
  auto price = [](uint64_t publish_ts) {
    flatbuffers::FlatBufferBuilder builder;
    builder.Finish(fb::CreateEvent(builder, 1000, fb::Body::Price,
                                   fb::CreatePriceDirect(builder, flatbuffers::nullopt, 1, "2000", publish_ts).Union()));
    return std::string(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
  };
  const Status s = machine.apply(event_of(price(1001)), 5, &outcome);
  EXPECT_EQ(s.code(), Status::Code::InvalidArgument);
  EXPECT_EQ(s.message(), "seq 5: price publish_ts 1001 is after the event's ts 1000");
  EXPECT_TRUE(machine.state() == before);
  ASSERT_TRUE(machine.apply(event_of(price(1000)), 5, &outcome).is_ok());
  EXPECT_TRUE(outcome.applied());
  EXPECT_EQ(machine.state().markets.at(1).oracle.publish_ts, 1000u);
  EXPECT_EQ(machine.state().seq, 5u);
}

// Nor an event before the state's ts (the log's rule, which keeps every stored
// publish_ts ≤ the state's ts): a price at ts 999 after one at 1000 would
// leave a state decode_state refuses.
TEST(PublishTs, TheMachineRefusesAnEventBeforeTheStatesTs) {
  const std::vector<std::string> events = spec8_events();
  Machine machine;
  Outcome outcome;
  for (size_t i = 0; i < 5; ++i) ASSERT_TRUE(machine.apply(event_of(events[i]), i + 1, &outcome).is_ok());
  ASSERT_EQ(machine.state().ts, 1000u);
  const State before = machine.state();
  flatbuffers::FlatBufferBuilder builder;
  builder.Finish(fb::CreateEvent(builder, 999, fb::Body::Price,
                                 fb::CreatePriceDirect(builder, flatbuffers::nullopt, 1, "2000", 999).Union()));
  const Status s = machine.apply(*flatbuffers::GetRoot<fb::Event>(builder.GetBufferPointer()), 6, &outcome);
  EXPECT_EQ(s.code(), Status::Code::InvalidArgument);
  EXPECT_EQ(s.message(), "seq 6: ts 999 is before the state's ts 1000 (ts never decreases)");
  EXPECT_TRUE(machine.state() == before);
}

State spec8_state() {
  MemoryRun run;
  InputError error;
  EXPECT_TRUE(run.add_text(lines::kSpec8Example, &error)) << error.to_string();
  return run.machine().state();
}

void expect_refused(const State& state, const std::string& why) {
  const Result<State> decoded = decode_state(encode_state(state));
  ASSERT_FALSE(decoded.is_ok()) << why;
  EXPECT_EQ(decoded.status().code(), Status::Code::Corruption);
  EXPECT_NE(decoded.status().message().find(why), std::string::npos) << decoded.status().message();
}

// A snapshot cannot hold a price from after its own ts (seq 10 is at ts 5000;
// the perp's price was published at 4000), for an asset or a market.
TEST(PublishTs, DecodeStateRefusesAPricePublishedAfterTheStatesTs) {
  const State good = spec8_state();
  ASSERT_EQ(good.ts, 5000u);
  ASSERT_EQ(good.markets.at(1).oracle.publish_ts, 4000u);
  ASSERT_TRUE(decode_state(encode_state(good)).is_ok());
  State state = good;
  state.markets.at(1).oracle.publish_ts = 5000;  // at ts: still a state the machine could be in
  EXPECT_TRUE(decode_state(encode_state(state)).is_ok());
  state.markets.at(1).oracle.publish_ts = 5001;
  expect_refused(state, "state encoding: price of market 1 published after ts");
  state = good;
  state.assets.at(1).oracle = Oracle{Int(2000) * wad(), 5001, true};
  expect_refused(state, "state encoding: price of asset 1 published after ts");
}

// What the engine divides by comes from the state: decode_state refuses a
// snapshot whose divisors are not > 0 before any can reach fdiv's assertion.
TEST(Divisors, DecodeStateRefusesDivisorsThatAreNotPositive) {
  const State good = spec8_state();
  State state = good;
  state.markets.at(1).params.lot_size = 0;  // roundup_lot, perp_required's search count
  expect_refused(state, "invalid parameters of market 1");
  state = good;
  state.markets.at(1).oracle.price = 0;  // the token seizure's P_C, the keeper's bands
  expect_refused(state, "price of market 1");
  state = good;
  state.assets.at(1).params.liquidation_bonus = -wad();  // WAD + bonus in the seizure rate
  expect_refused(state, "invalid parameters of asset 1");
}

// Boost throws std::overflow_error on a division by 0, which the machine
// would have reported as ARITHMETIC_OVERFLOW, a verdict about the event; a
// divisor ≤ 0 is a bug of the engine instead, and stops the process.
TEST(DivisorsDeathTest, DivisionHelpersAssertAPositiveDivisor) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)fdiv(Int(7), Int(0)), "fdiv: divisor > 0");
  EXPECT_DEATH((void)cdiv(Int(7), Int(-2)), "cdiv: divisor > 0");
  EXPECT_DEATH((void)fdiv(Wide(7), Wide(0)), "fdiv: divisor > 0");
  EXPECT_DEATH((void)cdiv(Wide(7), Wide(0)), "cdiv: divisor > 0");
  EXPECT_DEATH((void)muldiv_floor(Int(7), Int(3), Int(0)), "muldiv_floor: divisor > 0");
  EXPECT_DEATH((void)muldiv_ceil(Int(7), Int(3), Int(-1)), "muldiv_ceil: divisor > 0");
  EXPECT_DEATH((void)divide(Wide(7), Wide(0), Rounding::TowardZero), "divide: den > 0");
  EXPECT_DEATH((void)compare_fractions(Wide(1), Wide(0), Wide(1), Wide(2)), "denominators > 0");
}

// Without the check, a search over [1, 0] would return 1: a size nobody asked for.
TEST(DivisorsDeathTest, LowerBoundSearchAssertsACountOfAtLeastOne) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EQ(lower_bound_search(Int(1), [](const Int&) { return false; }), Int(1));
  EXPECT_DEATH((void)lower_bound_search(Int(0), [](const Int&) { return true; }), "count ≥ 1");
}

}  // namespace
}  // namespace liql
