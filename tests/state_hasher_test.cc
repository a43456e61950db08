// StateHasher (engine/state.h) must give exactly state_hash(state), the
// SHA-256 of the full canonical encoding, whatever the events did.

#include <gtest/gtest.h>

#include "replay/generate.h"
#include "replay/replay.h"

namespace liql {
namespace {

// Feeds a generated market to a MemoryRun and hashes every `every` events.
void check_incremental_hash(uint64_t seed, uint64_t every) {
  GenerateOptions options;
  options.seed = seed;
  options.accounts = 200;
  options.events = 3000;
  MemoryRun run;
  StateHasher hasher;
  size_t line_number = 0;
  size_t checked = 0;
  generate_market(options, [&](std::string_view line) {
    InputError error;
    ASSERT_TRUE(run.add_line(line, ++line_number, &error)) << error.to_string();
    hasher.touch(run.outcomes().back().touched);
    if (line_number % every != 0) return;
    ASSERT_EQ(hasher.hash(run.machine().state()), state_hash(run.machine().state())) << "after line " << line_number;
    ++checked;
  });
  EXPECT_EQ(checked, options.events / every);
}

TEST(StateHasher, EqualsTheFullHashAfterEveryEvent) { check_incremental_hash(7, 1); }

TEST(StateHasher, EqualsTheFullHashWhenChangesPileUpBetweenHashes) { check_incremental_hash(8, 37); }

TEST(StateHasher, RejectedEventsTouchNothing) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_line(
      R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"liquidator_share":"0.5","insurance_share":"0.3"})",
      1, &error));
  ASSERT_TRUE(run.add_line(R"({"type":"deposit","ts":1,"account":3,"asset":0,"amount":"5"})", 2, &error));
  EXPECT_EQ(run.outcomes().back().touched, std::vector<AccountId>{3});
  // USDC is not borrowable: withdrawing 6 of 5 is rejected and changes nothing.
  ASSERT_TRUE(run.add_line(R"({"type":"withdraw","ts":2,"account":3,"asset":0,"amount":"6"})", 3, &error));
  EXPECT_FALSE(run.outcomes().back().applied());
  EXPECT_TRUE(run.outcomes().back().touched.empty());
}

}  // namespace
}  // namespace liql
