// The input boundary (SPEC §6.2, §8): bad input is refused with the line and
// the field, and nothing is written; good input round-trips exactly.

#include <gtest/gtest.h>

#include "replay/jsonl_export.h"
#include "replay/replay.h"
#include "tests/test_dirs.h"

namespace liql {
namespace {

const std::string kGenesis =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"})";
const std::string kListings =
    R"({"type":"list_asset","ts":0,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"}
{"type":"list_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"}
{"type":"price","ts":1000,"market":1,"price":"2000"}
{"type":"deposit","ts":2000,"account":7,"asset":0,"amount":"1000"})";

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions options;
    ASSERT_TRUE(Ledger::open(dir_.path("db"), options, &ledger_).is_ok());
    AppendResult result;
    InputError error;
    ASSERT_TRUE(append_jsonl(*ledger_, kGenesis + "\n" + kListings + "\n", &result, &error).is_ok())
        << error.to_string();
    ASSERT_EQ(result.head.seq, 5u);
    head_ = ledger_->head();
  }

  // Appends `text` expecting a refusal at `line`, naming `field`; the ledger must be unchanged.
  void expect_refused(const std::string& text, size_t line, const std::string& field) {
    AppendResult result;
    InputError error;
    const Status status = append_jsonl(*ledger_, text, &result, &error);
    ASSERT_FALSE(status.is_ok()) << text;
    EXPECT_EQ(status.code(), Status::Code::InvalidArgument);
    EXPECT_EQ(error.line, line) << error.to_string();
    EXPECT_EQ(error.field, field) << error.to_string();
    EXPECT_NE(status.message().find("line " + std::to_string(line)), std::string::npos) << status.message();
    EXPECT_EQ(ledger_->head().seq, head_.seq);
    EXPECT_EQ(ledger_->head().chain, head_.chain);
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Ledger> ledger_;
  Head head_;
};

const std::string kGoodDeposit = R"({"type":"deposit","ts":3000,"account":9,"asset":0,"amount":"5"})";

TEST_F(ImportTest, MalformedJsonNamesTheLine) {
  // Line 1 is good, line 2 is cut short: neither is written.
  expect_refused(kGoodDeposit + "\n" + R"({"type":"deposit","ts":3000,)" + "\n", 2, "");
}

TEST_F(ImportTest, NotAnObject) { expect_refused("[1,2,3]\n", 1, ""); }

// Symbols are UTF-8 (the log refuses anything else): multi-byte characters of
// every length pass the boundary and survive export → import.
TEST(ImportUtf8, MultiByteSymbolsRoundTrip) {
  MemoryRun run;
  InputError error;
  const std::string listing =
      R"({"type":"list_asset","ts":0,"asset":1,"symbol":"\u00c9\u20ac\ud835\udd3c","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})";
  ASSERT_TRUE(run.add_text(kGenesis + "\n" + listing, &error)) << error.to_string();
  ASSERT_EQ(run.events().size(), 2u);
  const std::string& bytes = run.events()[1];
  const auto* event = flatbuffers::GetRoot<fb::Event>(bytes.data());
  EXPECT_EQ(event->body_as_ListAsset()->symbol()->str(), "\xc3\x89\xe2\x82\xac\xf0\x9d\x94\xbc");
  MemoryRun again;
  ASSERT_TRUE(again.add_text(kGenesis + "\n" + event_to_json(*event), &error)) << error.to_string();
  EXPECT_EQ(again.events()[1], bytes);
}

// nlohmann::json throws out_of_range, not parse_error, for a number beyond a
// double; it used to escape the importer and terminate the process (found by
// fuzz/import_fuzz). Wherever it stands, the line is refused.
TEST_F(ImportTest, NumberBeyondADoubleIsRefused) {
  expect_refused(kGoodDeposit + "\n" + R"({"type":"deposit","ts":1e999,"account":9,"asset":0,"amount":"5"})", 2, "");
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":0,"amount":"5","x":-1e400})", 1, "");
}

TEST_F(ImportTest, UnknownTypeIsRefused) {
  expect_refused(kGoodDeposit + "\n" + R"({"type":"airdrop","ts":3000,"account":1})", 2, "type");
}

TEST_F(ImportTest, UnknownFieldIsRefused) {
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":0,"amount":"5","memo":"x"})", 1, "memo");
  expect_refused(
      R"({"type":"list_asset","ts":3000,"asset":2,"symbol":"BTC","decimals":8,"borrowable":true,"max_oracle_age_us":1,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9","extra":"1"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})",
      1, "asset_weight.extra");
}

TEST_F(ImportTest, MissingFieldIsRefused) {
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":0})", 1, "amount");
  expect_refused(R"({"type":"deposit","account":9,"asset":0,"amount":"1"})", 1, "ts");
}

TEST_F(ImportTest, TooManyDecimalsForTheAsset) {
  // USDC has 6 decimals: 1.0000001 has 7.
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":0,"amount":"1.0000001"})", 1, "amount");
  // ETH-PERP has base_decimals 9: 0.0000000001 has 10.
  expect_refused(R"({"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"0.0000000001","price":"2000"})",
                 1, "base");
  // A listing earlier in the same batch sets the decimals for later lines.
  expect_refused(
      R"({"type":"list_asset","ts":3000,"asset":2,"symbol":"BTC","decimals":8,"borrowable":true,"max_oracle_age_us":1,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"}
{"type":"deposit","ts":3000,"account":9,"asset":2,"amount":"0.000000001"})",
      2, "amount");
}

TEST_F(ImportTest, NegativeAmountIsRefused) {
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":0,"amount":"-5"})", 1, "amount");
  expect_refused(R"({"type":"price","ts":3000,"market":1,"price":"-2000"})", 1, "price");
}

TEST_F(ImportTest, NumbersMustBeDecimalStrings) {
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":0,"amount":5})", 1, "amount");
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":0,"amount":"1e3"})", 1, "amount");
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":0,"amount":"1."})", 1, "amount");
}

TEST_F(ImportTest, IdOutOfRangeIsRefused) {
  // Asset ids are u32: 2^32 = 4294967296 is out of range.
  expect_refused(R"({"type":"deposit","ts":3000,"account":9,"asset":4294967296,"amount":"1"})", 1, "asset");
  // Account ids are u64: 2^64 = 18446744073709551616 is out of range; negative too.
  expect_refused(R"({"type":"deposit","ts":3000,"account":18446744073709551616,"asset":0,"amount":"1"})", 1,
                 "account");
  expect_refused(R"({"type":"deposit","ts":3000,"account":-1,"asset":0,"amount":"1"})", 1, "account");
  expect_refused(R"({"type":"deposit","ts":3000,"account":"9","asset":0,"amount":"1"})", 1, "account");
}

TEST_F(ImportTest, DecreasingTsIsRefused) {
  // The head's ts is 2000.
  expect_refused(R"({"type":"deposit","ts":1999,"account":9,"asset":0,"amount":"1"})", 1, "ts");
  // Within one batch too.
  expect_refused(kGoodDeposit + "\n" + R"({"type":"deposit","ts":2500,"account":9,"asset":0,"amount":"1"})", 2,
                 "ts");
}

TEST_F(ImportTest, SecondGenesisIsRefused) { expect_refused(kGenesis, 1, "type"); }

TEST_F(ImportTest, PublishTsAfterTsIsRefused) {
  expect_refused(R"({"type":"price","ts":3000,"market":1,"price":"2000","publish_ts":3001})", 1, "publish_ts");
}

TEST_F(ImportTest, PriceNeedsExactlyOneOfAssetAndMarket) {
  expect_refused(R"({"type":"price","ts":3000,"asset":1,"market":1,"price":"2000"})", 1, "market");
  expect_refused(R"({"type":"price","ts":3000,"price":"2000"})", 1, "asset");
}

TEST_F(ImportTest, GoodLinesAfterABadOneAreNotWrittenEither) {
  expect_refused(kGoodDeposit + "\n" + kGoodDeposit + "\n" + "{oops\n", 3, "");
}

TEST(ImportGenesis, MissingGenesisIsRefused) {
  testing::ScratchDir dir;
  std::unique_ptr<Ledger> ledger;
  ASSERT_TRUE(Ledger::open(dir.path("db"), LedgerOptions{}, &ledger).is_ok());
  AppendResult result;
  InputError error;
  EXPECT_FALSE(append_jsonl(*ledger, kGoodDeposit, &result, &error).is_ok());
  EXPECT_EQ(error.line, 1u);
  EXPECT_EQ(error.field, "type");
  EXPECT_EQ(ledger->head().seq, 0u);
}

TEST(ImportGenesis, InvalidGenesisParametersAreRefused) {
  testing::ScratchDir dir;
  std::unique_ptr<Ledger> ledger;
  ASSERT_TRUE(Ledger::open(dir.path("db"), LedgerOptions{}, &ledger).is_ok());
  AppendResult result;
  InputError error;
  // liquidator_share 0.8 + insurance_share 0.3 = 1.1 > 1 (SPEC §2: sum ≤ WAD).
  const std::string bad =
      R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.8","insurance_share":"0.3"})";
  EXPECT_FALSE(append_jsonl(*ledger, bad, &result, &error).is_ok());
  EXPECT_EQ(error.line, 1u);
  EXPECT_EQ(error.field, "insurance_share");
  // close_factor policy without its parameters.
  const std::string no_factor =
      R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"close_factor","liquidator_share":"0.5","insurance_share":"0.3"})";
  EXPECT_FALSE(append_jsonl(*ledger, no_factor, &result, &error).is_ok());
  EXPECT_EQ(error.field, "close_factor");
  // quote_decimals beyond 36.
  const std::string wide =
      R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":37,"liquidator_share":"0.5","insurance_share":"0.3"})";
  EXPECT_FALSE(append_jsonl(*ledger, wide, &result, &error).is_ok());
  EXPECT_EQ(error.field, "quote_decimals");
  EXPECT_EQ(ledger->head().seq, 0u);
}

// Export writes the same format; importing it gives the same bytes, so the
// same chain hashes (SPEC §8).
TEST(ImportRoundTrip, ExportThenImportGivesTheSameChain) {
  testing::ScratchDir dir;
  std::unique_ptr<Ledger> first, second;
  ASSERT_TRUE(Ledger::open(dir.path("a"), LedgerOptions{}, &first).is_ok());
  ASSERT_TRUE(Ledger::open(dir.path("b"), LedgerOptions{}, &second).is_ok());
  // Keys in another order, non-canonical decimals ("1000.000", "0.50"), and
  // optional fields: all must survive as the same event bytes.
  const std::string input = kGenesis + "\n" + kListings + "\n" +
                            R"({"ts":2500,"amount":"1000.000","asset":0,"account":8,"type":"deposit"}
{"type":"set_protocol","ts":2600,"policy":"close_factor","close_factor":"0.50","full_liquidation_hf":"0.95"}
{"type":"price","ts":2700,"market":1,"price":"2000.5","publish_ts":2650}
{"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"-0.5","price":"2000"}
{"type":"liquidate_perp","ts":3100,"liquidator":8,"account":7,"market":1,"max_base":"0.1"}
{"type":"liquidate_token","ts":3200,"liquidator":8,"account":7,"liability_asset":1,"collateral_asset":0}
{"type":"insurance_deposit","ts":3300,"asset":0,"amount":"7.25"})";
  AppendResult result;
  InputError error;
  ASSERT_TRUE(append_jsonl(*first, input, &result, &error).is_ok()) << error.to_string();
  ASSERT_EQ(result.head.seq, 12u);

  std::string exported;
  auto reader = first->read(1, kHeadSeq);
  LogRecord record;
  while (reader->next(&record)) exported += event_to_json(*record.event) + "\n";
  ASSERT_TRUE(reader->status().is_ok());
  EXPECT_NE(exported.find(R"("amount":"1000")"), std::string::npos) << "canonical decimals";

  ASSERT_TRUE(append_jsonl(*second, exported, &result, &error).is_ok()) << error.to_string();
  EXPECT_EQ(second->head().seq, first->head().seq);
  EXPECT_EQ(second->head().chain, first->head().chain);
}

}  // namespace
}  // namespace liql
