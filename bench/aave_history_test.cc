// bench/aave_history.h: the synthetic Aave history is deterministic, has
// exactly the events asked for, imports whole (replay/aave_import.h), and
// every line of the import's output is accepted and applied by the engine,
// liquidations included (no INVALID_RECORD: nothing seizes more than the
// account holds or repays more than it owes).

#include "bench/aave_history.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "replay/aave_import.h"
#include "replay/replay.h"

namespace liql {
namespace {

bench::AaveHistory generate(uint64_t events, uint64_t users = 0, uint64_t seed = 7) {
  bench::AaveHistoryOptions options;
  options.events = events;
  options.users = users;
  options.seed = seed;
  return bench::generate_aave_history(options);
}

ImportResult import(const bench::AaveHistory& history) {
  AaveMarket market;
  std::string error;
  EXPECT_TRUE(parse_aave_market(history.market_json, &market, &error)) << error;
  ImportResult result;
  ImportError import_error;
  EXPECT_TRUE(import_aave(market, {ImportInput{"events.jsonl", history.events_jsonl}}, {}, &result, &import_error))
      << import_error.to_string();
  return result;
}

uint64_t lines(const std::string& text) {
  uint64_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

TEST(AaveHistory, ExactlyTheEventsAskedFor) {
  for (uint64_t events : {1, 2, 3, 4, 5, 6, 7, 50, 333}) {
    const bench::AaveHistory history = generate(events);
    EXPECT_EQ(history.events, events);
    EXPECT_EQ(lines(history.events_jsonl), events);
    EXPECT_EQ(import(history).events, events) << events;
  }
}

TEST(AaveHistory, Deterministic) {
  EXPECT_EQ(generate(5000).events_jsonl, generate(5000).events_jsonl);
  EXPECT_NE(generate(5000, 0, 1).events_jsonl, generate(5000, 0, 2).events_jsonl);
}

TEST(AaveHistory, ImportsAndReplaysWithLiquidations) {
  const bench::AaveHistory history = generate(40'000, 1'000);
  for (const char* event : {"Supply", "Borrow", "Repay", "Withdraw", "ReserveDataUpdated", "AnswerUpdated",
                            "LiquidationCall"}) {
    EXPECT_GT(history.by_event.count(event) ? history.by_event.at(event) : 0, 0u) << event;
  }
  const ImportResult result = import(history);
  EXPECT_EQ(result.events, 40'000u);
  EXPECT_TRUE(result.skipped.empty());

  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(result.jsonl, &error)) << error.to_string();
  ASSERT_EQ(run.outcomes().size(), result.lines);
  uint64_t liquidations = 0, invalid = 0, rejected = 0;
  std::map<std::string, uint64_t> verdicts;
  for (const Outcome& outcome : run.outcomes()) {
    if (!outcome.applied()) ++rejected;
    if (outcome.audit && outcome.audit->kind == LiquidationKind::Token) {
      ++liquidations;
      ++verdicts[std::string(verdict_name(outcome.audit->verdict))];
      if (outcome.reason == Reason::InvalidRecord) ++invalid;
    }
  }
  EXPECT_EQ(liquidations, history.by_event.at("LiquidationCall"));
  EXPECT_GE(liquidations, 20u);
  EXPECT_EQ(invalid, 0u);
  EXPECT_EQ(rejected, 0u);
  // Liquidations of accounts the engine too finds liquidatable, for the most part.
  EXPECT_LE(verdicts["WRONGFUL"] * 10, liquidations);
  std::string summary;
  for (const auto& [verdict, count] : verdicts) summary += verdict + " " + std::to_string(count) + "  ";
  std::printf("%llu liquidations: %s\n", static_cast<unsigned long long>(liquidations), summary.c_str());
}

}  // namespace
}  // namespace liql
