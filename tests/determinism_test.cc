// Determinism inside one build (SPEC §7): the same log gives the same state
// hash after every event however it is replayed — twice in one process, from
// the ledger or in memory, from genesis or through a re-import of `export` —
// and a state's hash survives encode → decode → encode and any order or bucket
// count of the account map. Across builds (gcc/clang, Debug/Release) the same
// is checked by scripts/determinism.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/state.h"
#include "replay/audit.h"
#include "replay/jsonl_export.h"
#include "replay/replay.h"
#include "tests/test_dirs.h"
#include "tools/generate.h"

namespace liql {
namespace {

// What one event left behind: the state hash after it, its reason code and,
// for a liquidation, its audit record (with that hash) as `audit --format jsonl`
// prints it.
struct EventTrace {
  std::string state_hash;
  Reason reason = Reason::None;
  std::string audit;
  bool operator==(const EventTrace&) const = default;
};

void PrintTo(const EventTrace& trace, std::ostream* out) {
  *out << "{" << trace.state_hash << " reason " << static_cast<int>(trace.reason) << " " << trace.audit << "}";
}

EventTrace trace_of(uint64_t seq, uint64_t ts, const Outcome& outcome, const State& state) {
  EventTrace trace{to_hex(state_hash(state)), outcome.reason, ""};
  if (outcome.audit) trace.audit = audit_json(AuditRecord{seq, ts, *outcome.audit, state_hash(state)});
  return trace;
}

// One market of the synthetic generator as JSON Lines text.
std::string market(uint64_t seed, uint64_t accounts, uint64_t events, uint32_t crash_pct) {
  GenerateOptions options;
  options.seed = seed;
  options.accounts = accounts;
  options.events = events;
  options.crash_pct = crash_pct;
  std::string text;
  EXPECT_TRUE(generate_market(options, [&](std::string_view line) {
    text.append(line);
    text += '\n';
  }).is_ok());
  return text;
}

std::string spec_example() {
  std::ifstream in(std::string(LIQL_SOURCE_DIR) + "/tests/data/spec_example.jsonl", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Applies the log line by line in memory; element i is the trace of seq i + 1.
// `each_state` sees the state after every event.
template <typename EachState>
std::vector<EventTrace> memory_traces(const std::string& text, EachState each_state) {
  std::vector<EventTrace> traces;
  MemoryRun run;
  InputError error;
  const bool accepted = for_each_line(text, [&](std::string_view line, size_t number) {
    const size_t before = run.outcomes().size();
    if (!run.add_line(line, number, &error)) return false;
    for (size_t i = before; i < run.outcomes().size(); ++i) {
      const auto* event = flatbuffers::GetRoot<fb::Event>(run.events()[i].data());
      traces.push_back(trace_of(i + 1, event->ts(), run.outcomes()[i], run.machine().state()));
      each_state(run.machine().state());
    }
    return true;
  });
  EXPECT_TRUE(accepted) << error.to_string();
  return traces;
}

std::vector<EventTrace> memory_traces(const std::string& text) {
  return memory_traces(text, [](const State&) {});
}

// The ledger path: append, then replay from genesis.
class LedgerRun {
 public:
  explicit LedgerRun(const std::string& path) {
    LedgerOptions options;
    status_ = Ledger::open(path, options, &ledger_);
  }
  ::testing::AssertionResult append(const std::string& text, uint64_t snapshot_every) {
    if (!status_.is_ok()) return ::testing::AssertionFailure() << status_.to_string();
    AppendResult result;
    InputError error;
    const Status status = append_jsonl(*ledger_, text, &result, &error, snapshot_every);
    if (!status.is_ok()) return ::testing::AssertionFailure() << status.to_string() << " " << error.to_string();
    return ::testing::AssertionSuccess();
  }
  std::vector<EventTrace> replay_traces() {
    std::vector<EventTrace> traces;
    Machine machine;
    ReplayCounts counts;
    const Status status = replay(*ledger_, kHeadSeq, &machine, &counts, [&](const EventView& view) {
      traces.push_back(trace_of(view.record.seq, view.record.event->ts(), view.outcome, view.state));
      // The incremental hash `replay --trace` prints equals the full one.
      EXPECT_EQ(to_hex(view.hash()), traces.back().state_hash) << "seq " << view.record.seq;
      return Status::ok();
    });
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    return traces;
  }
  // What `liqledger export` prints.
  std::string export_text() {
    std::string text;
    std::unique_ptr<LogReader> reader = ledger_->read(1, kHeadSeq);
    LogRecord record;
    while (reader->next(&record)) text += event_to_json(*record.event) + "\n";
    EXPECT_TRUE(reader->status().is_ok()) << reader->status().to_string();
    return text;
  }
  Head head() const { return ledger_->head(); }

 private:
  Status status_;
  std::unique_ptr<Ledger> ledger_;
};

// The first seq at which two traces differ, for a readable failure.
::testing::AssertionResult same_traces(const std::vector<EventTrace>& first, const std::vector<EventTrace>& second) {
  for (size_t i = 0; i < first.size() && i < second.size(); ++i) {
    if (!(first[i] == second[i])) {
      return ::testing::AssertionFailure() << "first difference at seq " << i + 1 << ":\n  "
                                           << ::testing::PrintToString(first[i]) << "\n  "
                                           << ::testing::PrintToString(second[i]);
    }
  }
  if (first.size() != second.size()) {
    return ::testing::AssertionFailure() << "lengths differ: " << first.size() << " vs " << second.size();
  }
  return ::testing::AssertionSuccess();
}

size_t count_audits(const std::vector<EventTrace>& traces) {
  size_t audits = 0;
  for (const EventTrace& trace : traces) audits += trace.audit.empty() ? 0 : 1;
  return audits;
}

struct Log {
  const char* name;
  std::string text;
};

std::vector<Log> logs() {
  return {
      {"spec_example", spec_example()},
      {"seed5_crash40", market(5, 150, 2500, 40)},
      {"seed9_crash80", market(9, 300, 3000, 80)},
  };
}

TEST(Determinism, ReplayingTheSameLogTwiceGivesTheSameHashAfterEveryEvent) {
  for (const Log& log : logs()) {
    SCOPED_TRACE(log.name);
    const std::vector<EventTrace> first = memory_traces(log.text);
    const std::vector<EventTrace> second = memory_traces(log.text);
    ASSERT_GT(first.size(), 0u);
    EXPECT_TRUE(same_traces(first, second));

    // The ledger path, twice, gives the same as the memory path.
    testing::ScratchDir dir;
    LedgerRun ledger(dir.path(std::string(log.name) + ".db"));
    ASSERT_TRUE(ledger.append(log.text, 0));
    EXPECT_TRUE(same_traces(first, ledger.replay_traces()));
    EXPECT_TRUE(same_traces(first, ledger.replay_traces()));
  }
}

TEST(Determinism, GeneratedMarketsHaveLiquidationsToCompare) {
  // The comparisons above mean something only if the markets exercise the
  // liquidation paths, not only deposits and prices.
  const std::vector<EventTrace> traces = memory_traces(market(9, 300, 3000, 80));
  EXPECT_GT(count_audits(traces), 10u);
  size_t rejected = 0;
  for (const EventTrace& trace : traces) rejected += trace.reason == Reason::None ? 0 : 1;
  EXPECT_LT(rejected, traces.size());
}

TEST(Determinism, ReplayFromGenesisEqualsReplayOfTheReimportedExport) {
  for (const Log& log : logs()) {
    SCOPED_TRACE(log.name);
    testing::ScratchDir dir;
    LedgerRun original(dir.path("original.db"));
    ASSERT_TRUE(original.append(log.text, 500));
    const std::vector<EventTrace> from_genesis = original.replay_traces();
    const std::string exported = original.export_text();

    LedgerRun reimported(dir.path("reimported.db"));
    ASSERT_TRUE(reimported.append(exported, 0));
    EXPECT_TRUE(same_traces(from_genesis, reimported.replay_traces()));
    // The same event bytes, so the same chain, and the same export again.
    EXPECT_EQ(reimported.head().seq, original.head().seq);
    EXPECT_EQ(to_hex(reimported.head().chain), to_hex(original.head().chain));
    EXPECT_EQ(reimported.export_text(), exported);
    // And in memory, without a ledger.
    EXPECT_TRUE(same_traces(from_genesis, memory_traces(exported)));
  }
}

TEST(Determinism, ExportAppendedInChunksGivesTheSameHashesAndChain) {
  // Appending the export in several batches goes through the importer with a
  // non-empty head each time: it must not change a single event.
  const std::string text = market(5, 150, 2500, 40);
  testing::ScratchDir dir;
  LedgerRun whole(dir.path("whole.db"));
  ASSERT_TRUE(whole.append(text, 0));
  LedgerRun chunks(dir.path("chunks.db"));
  std::string chunk;
  size_t lines = 0;
  for_each_line(whole.export_text(), [&](std::string_view line, size_t) {
    chunk.append(line);
    chunk += '\n';
    if (++lines % 377 == 0) {
      EXPECT_TRUE(chunks.append(chunk, 200));
      chunk.clear();
    }
    return true;
  });
  ASSERT_TRUE(chunks.append(chunk, 200));
  EXPECT_TRUE(same_traces(whole.replay_traces(), chunks.replay_traces()));
  EXPECT_EQ(to_hex(chunks.head().chain), to_hex(whole.head().chain));
}

// encode → decode → encode gives the same bytes, hash and state; the hash does
// not depend on the account map's insertion order or bucket count.
void check_round_trip(const State& state) {
  const std::string bytes = encode_state(state);
  const State decoded = decode_state(bytes).value();
  ASSERT_EQ(encode_state(decoded), bytes) << "seq " << state.seq;
  EXPECT_EQ(state_hash(decoded), state_hash(state)) << "seq " << state.seq;
  EXPECT_TRUE(decoded == state) << "seq " << state.seq;

  State reordered = state;
  reordered.accounts.clear();
  const std::vector<AccountId> ids = state.sorted_account_ids();
  for (auto id = ids.rbegin(); id != ids.rend(); ++id) reordered.accounts.emplace(*id, state.accounts.at(*id));
  reordered.accounts.rehash(4 * ids.size() + 101);
  EXPECT_EQ(encode_state(reordered), bytes) << "seq " << state.seq;
}

TEST(Determinism, StateHashSurvivesEncodeDecodeEncode) {
  for (const Log& log : logs()) {
    SCOPED_TRACE(log.name);
    uint64_t checked = 0;
    memory_traces(log.text, [&](const State& state) {
      // Every event of the small logs; every 97th (and the last few) of the long ones.
      if (state.seq < 40 || state.seq % 97 == 0) {
        check_round_trip(state);
        ++checked;
      }
    });
    EXPECT_GT(checked, 0u);
    MemoryRun run;
    InputError error;
    ASSERT_TRUE(run.add_text(log.text, &error)) << error.to_string();
    check_round_trip(run.machine().state());
  }
}

TEST(Determinism, StateHashOfTheEmptyStateIsStable) {
  const State empty;
  EXPECT_EQ(encode_state(decode_state(encode_state(empty)).value()), encode_state(empty));
  EXPECT_EQ(state_hash(State{}), state_hash(empty));
}

}  // namespace
}  // namespace liql
