// The account view (`liqledger account`) on holdings whose health does not fit
// 256 bits: every balance fits the state, but balance × price overflows. The
// view shows no health instead of terminating on the uncaught overflow
// (found while fuzzing; the CLI used to abort).

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "replay/account_view.h"
#include "replay/replay.h"

namespace liql {
namespace {

const std::string kHuge =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"list_asset","ts":0,"asset":1,"symbol":"ETH","decimals":0,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"}
{"type":"price","ts":1000,"asset":1,"price":"100000000000000000000000000000000000000000000000000000000"}
{"type":"deposit","ts":2000,"account":7,"asset":1,"amount":"1000000000000000000000000000000000000000000000000000000000000000000000000"}
{"type":"deposit","ts":2000,"account":8,"asset":0,"amount":"5"})";

TEST(AccountView, HealthBeyond256BitsIsShownAsUnavailable) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(kHuge, &error)) << error.to_string();
  ASSERT_TRUE(run.outcomes()[3].applied());
  const State& state = run.machine().state();

  const auto json = nlohmann::json::parse(account_json(state, 7));
  EXPECT_TRUE(json["health"].is_null());
  EXPECT_EQ(json["health_error"], "ARITHMETIC_OVERFLOW");
  EXPECT_FALSE(json.contains("equity"));
  EXPECT_EQ(json["balances"][0]["amount"], "1000000000000000000000000000000000000000000000000000000000000000000000000");
  EXPECT_NE(account_text(state, 7).find("health   unavailable (arithmetic overflow"), std::string::npos);

  // An ordinary account of the same state still shows its health.
  const auto other = nlohmann::json::parse(account_json(state, 8));
  EXPECT_EQ(other["equity"], "5000000");
  EXPECT_FALSE(other.contains("health_error"));
}

}  // namespace
}  // namespace liql
