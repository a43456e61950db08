// The liqledger binary end to end: the exact command lines of the README,
// their output formats, exit codes and error messages.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli_run.h"
#include "tests/raw_db.h"
#include "tests/event_lines.h"
#include "tests/test_dirs.h"

namespace liql {
namespace {

using testing::cli;
using testing::CliRun;
using lines::lines_of;
using testing::slurp;

// SPEC §8's example, with close_factor policy in force.

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path("example.jsonl")) << lines::kSpec8Example;
    db_ = dir_.path("db");
    const CliRun run = cli("append " + db_ + " " + dir_.path("example.jsonl"));
    ASSERT_EQ(run.exit_code, 0);
    ASSERT_EQ(run.out, "appended 10 events, head seq 10\n");
  }
  testing::ScratchDir dir_;
  std::string db_;
};

TEST_F(CliTest, ReplayJsonHasTheDocumentedFields) {
  const CliRun run = cli("replay " + db_ + " --json");
  ASSERT_EQ(run.exit_code, 0);
  const auto out = nlohmann::json::parse(run.out);
  EXPECT_EQ(out["seq"], 10);
  EXPECT_EQ(out["ts"], 5000);
  EXPECT_EQ(out["accounts"], 2);
  EXPECT_EQ(out["events_applied"], 10);
  EXPECT_EQ(out["events_rejected"], 0);
  EXPECT_EQ(out["state_hash"].get<std::string>().size(), 64u);
  // The root sums (SPEC §7.2). After the liquidation of SPEC §8 (4 ETH closed
  // at 1800, penalty 72): account 7 settles 1000 − 8000 + 7200 − 72 = 128
  // USDC; account 8 settles 100000 + (8000 − 7200) + 36 = 100836 USDC; no
  // debts. 128 + 100836 = 100964 USDC, the other 36 are insurance (21.6) and
  // treasury (14.4), which the accounts' sums do not hold.
  EXPECT_EQ(out["totals"], nlohmann::json::parse(R"([{"asset":0,"credit":"100964000000","debit":"0"}])"));
}

// SPEC §5.5: in observe mode a withdrawal that breaks the rules is applied and
// its trace line carries the flags. 100 USDC deposited, 150 withdrawn: the
// balance goes to −50 on a non-borrowable asset (NOT_BORROWABLE) and
// H_init = −50 USDC < 0 (INSUFFICIENT_HEALTH); flags print in bit order.
TEST(CliObserve, TraceLinesCarryTheFlags) {
  testing::ScratchDir dir;
  std::ofstream(dir.path("observe.jsonl"))
      << R"({"type":"genesis","ts":0,"mode":"observe","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"deposit","ts":1,"account":7,"asset":0,"amount":"100"}
{"type":"withdraw","ts":2,"account":7,"asset":0,"amount":"150"}
)";
  ASSERT_EQ(cli("append " + dir.path("db") + " " + dir.path("observe.jsonl")).exit_code, 0);
  const auto lines = lines_of(cli("replay " + dir.path("db") + " --trace").out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_FALSE(nlohmann::json::parse(lines[1]).contains("flags"));
  const auto withdrawal = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(withdrawal["result"], "applied");
  EXPECT_EQ(withdrawal["flags"], nlohmann::json::parse(R"(["INSUFFICIENT_HEALTH","NOT_BORROWABLE"])"));
  const auto summary = nlohmann::json::parse(cli("replay " + dir.path("db") + " --json").out);
  EXPECT_EQ(summary["totals"], nlohmann::json::parse(R"([{"asset":0,"credit":"0","debit":"50000000"}])"));
}

// The proofs of a generated market (300 accounts: a tree of 9 levels, stored
// nodes and the right edge below them) verified by the independent reference
// of tools/state_commitment_ref.py, written from SPEC §7 alone.
TEST(CliProof, ProofsOfAGeneratedMarketHoldForTheIndependentReference) {
  testing::ScratchDir dir;
  const std::string market = dir.path("market.jsonl");
  ASSERT_EQ(cli("generate --seed 3 --accounts 300 --events 4000 > " + market).exit_code, 0);
  ASSERT_EQ(cli("append " + dir.path("db") + " " + market).exit_code, 0);
  const auto summary = nlohmann::json::parse(cli("replay " + dir.path("db") + " --json").out);
  const std::string state_hash = summary["state_hash"];
  ASSERT_GT(summary["accounts"].get<uint64_t>(), 256u);
  const std::string reference = std::string("python3 ") + LIQL_SOURCE_DIR + "/tools/state_commitment_ref.py";
  for (const char* account : {"1", "11", "1000", "1100", "1299"}) {
    const std::string file = dir.path(std::string("proof-") + account + ".json");
    ASSERT_EQ(cli(std::string("prove ") + dir.path("db") + " " + account + " > " + file).exit_code, 0) << account;
    const CliRun checked =
        testing::run_shell(reference + " --verify-proof " + file + " --expect " + state_hash + " 2>&1");
    EXPECT_EQ(checked.exit_code, 0) << "account " << account << ": " << checked.out;
    EXPECT_EQ(cli("verify-proof " + file + " --state-hash " + state_hash).exit_code, 0) << account;
  }
}

TEST_F(CliTest, ProveAndVerifyProof) {
  const std::string state_hash = nlohmann::json::parse(cli("replay " + db_ + " --json").out)["state_hash"];
  const CliRun prove = cli("prove " + db_ + " 7");
  ASSERT_EQ(prove.exit_code, 0);
  const auto proof = nlohmann::json::parse(prove.out);
  EXPECT_EQ(proof["format"], "liqledger-proof-2");
  EXPECT_EQ(proof["seq"], 10);
  EXPECT_EQ(proof["state_hash"], state_hash);
  EXPECT_EQ(proof["account_count"], 2);
  EXPECT_EQ(proof["index"], 0);  // account 7 was created first
  EXPECT_EQ(proof["account"], nlohmann::json::parse(R"({"id":7,"balances":[{"asset":0,"amount":"128000000"}],"positions":[]})"));
  // Two leaves: the path is the other one, account 8 with its 100836 USDC.
  ASSERT_EQ(proof["path"].size(), 1u);
  EXPECT_EQ(proof["path"][0]["sums"], nlohmann::json::parse(R"([{"asset":0,"credit":"100836000000","debit":"0"}])"));
  EXPECT_EQ(proof["totals"], nlohmann::json::parse(R"([{"asset":0,"credit":"100964000000","debit":"0"}])"));

  const std::string file = dir_.path("proof.json");
  std::ofstream(file) << prove.out;
  const std::string ok = "ok: account 7 in state " + state_hash + " at seq 10; totals asset 0 credit 100964000000 debit 0\n";
  EXPECT_EQ(cli("verify-proof " + file).out, ok);
  EXPECT_EQ(cli("verify-proof - < " + file).out, ok);
  EXPECT_EQ(cli("verify-proof " + file + " --state-hash " + state_hash).exit_code, 0);
  const std::string other_hash(64, 'a');
  EXPECT_EQ(cli("verify-proof " + file + " --state-hash " + other_hash).exit_code, 1);

  auto verdict = [&](nlohmann::json changed) {
    std::ofstream(file) << changed.dump();
    const std::string err = dir_.path("err.txt");
    const CliRun run = cli("verify-proof " + file, err);
    return std::to_string(run.exit_code) + " " + slurp(err);
  };
  nlohmann::json changed = proof;
  changed["account"]["balances"][0]["amount"] = "129000000";
  EXPECT_EQ(verdict(changed), "1 liqledger: proof does not hold: totals differ from the sums the path folds to\n");
  changed = proof;
  changed["totals"][0]["credit"] = "100965000000";
  EXPECT_EQ(verdict(changed), "1 liqledger: proof does not hold: totals differ from the sums the path folds to\n");
  changed = proof;
  changed["path"][0]["hash"] = other_hash;
  EXPECT_EQ(verdict(changed), "1 liqledger: proof does not hold: state_hash differs from the hash the proof folds to\n");
  changed = proof;
  changed["index"] = 1;
  EXPECT_EQ(verdict(changed), "1 liqledger: proof does not hold: state_hash differs from the hash the proof folds to\n");
  changed = proof;
  changed["account_count"] = 3;
  EXPECT_EQ(verdict(changed), "1 liqledger: proof does not hold: path is shorter than a tree of account_count leaves needs\n");
  changed = proof;
  changed["path"][0].erase("sums");
  EXPECT_EQ(verdict(changed), "2 liqledger: " + file + ": proof: path[0].sums: missing\n");

  EXPECT_NE(cli("prove " + db_ + " 99").exit_code, 0);  // no such account
  EXPECT_EQ(cli("verify-proof " + dir_.path("no-such-proof.json")).exit_code, 2);  // bad input, not a failed proof
  // --at: the state after seq 6, when account 7 alone existed.
  const auto early = nlohmann::json::parse(cli("prove " + db_ + " 7 --at 6").out);
  EXPECT_EQ(early["seq"], 6);
  EXPECT_EQ(early["account_count"], 1);
  EXPECT_TRUE(early["path"].empty());
  EXPECT_EQ(early["state_hash"], nlohmann::json::parse(cli("replay " + db_ + " --to 6 --json").out)["state_hash"]);
}

TEST_F(CliTest, TraceHasOneLinePerEventAndEndsOnTheReplayHash) {
  const CliRun trace = cli("replay " + db_ + " --trace");
  ASSERT_EQ(trace.exit_code, 0);
  const auto lines = lines_of(trace.out);
  ASSERT_EQ(lines.size(), 10u);
  const auto first = nlohmann::json::parse(lines.front());
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["type"], "genesis");
  EXPECT_EQ(first["result"], "applied");
  const auto last = nlohmann::json::parse(lines.back());
  EXPECT_EQ(last["type"], "liquidate_perp");
  const auto summary = nlohmann::json::parse(cli("replay " + db_ + " --json").out);
  EXPECT_EQ(last["state_hash"], summary["state_hash"]);
  // --to stops at that seq, with the hash the trace showed there.
  const auto at5 = nlohmann::json::parse(cli("replay " + db_ + " --to 5 --json").out);
  EXPECT_EQ(at5["seq"], 5);
  EXPECT_EQ(at5["state_hash"], nlohmann::json::parse(lines[4])["state_hash"]);
}

TEST_F(CliTest, AuditJsonlMatchesTheSpecExample) {
  const CliRun run = cli("audit " + db_ + " --format jsonl");
  ASSERT_EQ(run.exit_code, 0);
  const auto lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 1u);
  const auto record = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(record["seq"], 10);
  EXPECT_EQ(record["kind"], "perp");
  // SPEC §8: s* = 2.906 ETH; HF_maint = 1000/1160 < 0.95 so the whole 4 ETH is allowed and executed.
  EXPECT_EQ(record["required"], "2906000000");
  EXPECT_EQ(record["allowed"], "4000000000");
  EXPECT_EQ(record["executed"], "4000000000");
  EXPECT_EQ(record["verdict"], "ALLOWED_EXCESS");
  // Penalty = 1% of 4 · 1800 = 72 USDC: 36 liquidator, 21.6 insurance, 14.4 treasury.
  EXPECT_EQ(record["penalty"]["total"], "72000000");
  EXPECT_EQ(record["penalty"]["liquidator"], "36000000");
  EXPECT_EQ(record["penalty"]["insurance"], "21600000");
  EXPECT_EQ(record["penalty"]["treasury"], "14400000");
  EXPECT_EQ(record["pre"]["h_maint"], "-160000000");
  EXPECT_EQ(record["pre"]["h_target"], "-340000000");
  EXPECT_EQ(record["pre"]["status"], "LIQUIDATABLE");
  EXPECT_EQ(record["state_hash"], nlohmann::json::parse(cli("replay " + db_ + " --json").out)["state_hash"]);
}

TEST_F(CliTest, AuditFiltersAndOtherFormats) {
  EXPECT_EQ(lines_of(cli("audit " + db_ + " --format jsonl --only MINIMAL").out).size(), 0u);
  EXPECT_EQ(lines_of(cli("audit " + db_ + " --format jsonl --only ALLOWED_EXCESS").out).size(), 1u);
  const auto csv = lines_of(cli("audit " + db_ + " --format csv").out);
  ASSERT_EQ(csv.size(), 2u);
  EXPECT_EQ(csv[0].substr(0, 12), "seq,ts,kind,");
  EXPECT_NE(csv[1].find("ALLOWED_EXCESS"), std::string::npos);
  const CliRun table = cli("audit " + db_);
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_EQ(lines_of(table.out).size(), 2u);
  // The table in whole units with symbols (SPEC §8: s* = 2.906 ETH, all 4 ETH
  // allowed and executed, penalty 4·1800·0.01 = 72 USDC); the CSV keeps base
  // units: required 2.906·10^9 then allowed 4·10^9 (ETH-PERP has 9 base decimals).
  EXPECT_NE(table.out.find(" ETH-PERP  "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2.906 ETH-PERP"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("4 ETH-PERP"), std::string::npos);
  EXPECT_NE(table.out.find("72 USDC"), std::string::npos);
  EXPECT_NE(csv[1].find(",2906000000,4000000000,"), std::string::npos) << csv[1];
  const CliRun summary = cli("audit " + db_ + " --format summary");
  EXPECT_NE(summary.out.find("ALLOWED_EXCESS     1"), std::string::npos) << summary.out;
  EXPECT_NE(summary.out.find("72 USDC (liquidators 36, insurance 21.6, treasury 14.4)"), std::string::npos)
      << summary.out;
}

TEST_F(CliTest, AccountShowsHealthAtAnySeq) {
  // At seq 9 (price 1800, before the liquidation): equity = 1000 − 8000 + 7200 = 200 USDC,
  // H_maint = 200 − 5% · 7200 = −160, status LIQUIDATABLE.
  const auto before = nlohmann::json::parse(cli("account " + db_ + " 7 --at 9 --json").out);
  EXPECT_EQ(before["equity"], "200000000");
  EXPECT_EQ(before["h_maint"], "-160000000");
  EXPECT_EQ(before["status"], "LIQUIDATABLE");
  ASSERT_EQ(before["positions"].size(), 1u);
  EXPECT_EQ(before["positions"][0]["base"], "4000000000");
  // After: the 4 ETH went at 1800 (+7200), minus the 72 penalty: 1000 − 8000 + 7200 − 72 = 128 USDC.
  const auto after = nlohmann::json::parse(cli("account " + db_ + " 7 --json").out);
  EXPECT_EQ(after["equity"], "128000000");
  EXPECT_EQ(after["positions"].size(), 0u);
  EXPECT_EQ(after["status"], "HEALTHY");
  EXPECT_NE(cli("account " + db_ + " 99").exit_code, 0);
}

TEST_F(CliTest, ExportRoundTripsWithTheSameHash) {
  const CliRun exported = cli("export " + db_);
  ASSERT_EQ(exported.exit_code, 0);
  std::ofstream(dir_.path("exported.jsonl")) << exported.out;
  ASSERT_EQ(cli("append " + dir_.path("db2") + " " + dir_.path("exported.jsonl")).exit_code, 0);
  EXPECT_EQ(cli("replay " + dir_.path("db2") + " --trace").out, cli("replay " + db_ + " --trace").out);
  EXPECT_EQ(cli("export " + dir_.path("db2")).out, exported.out);
}

TEST_F(CliTest, BadInputFailsNamingLineAndFieldAndWritesNothing) {
  std::ofstream(dir_.path("bad.jsonl"))
      << R"({"type":"deposit","ts":6000,"account":9,"asset":0,"amount":"1"})" << "\n"
      << R"({"type":"deposit","ts":6000,"account":9,"asset":0,"amount":"1.0000001"})" << "\n";
  const std::string before = cli("replay " + db_ + " --json").out;
  const CliRun run = cli("append " + db_ + " " + dir_.path("bad.jsonl"), dir_.path("err.txt"));
  EXPECT_NE(run.exit_code, 0);
  const std::string err = slurp(dir_.path("err.txt"));
  EXPECT_NE(err.find("line 2"), std::string::npos) << err;
  EXPECT_NE(err.find("amount"), std::string::npos) << err;
  EXPECT_EQ(cli("replay " + db_ + " --json").out, before);
}

// generate --price-path: a real path (2000 → 1400 → 1700, one instrument)
// followed exactly from the generator's base of 2000; without the flag the
// synthetic crash; bad files and --crash with it exit 2 naming the problem.
TEST(CliGenerate, PricePathFollowsTheFileAndRefusesBadInput) {
  testing::ScratchDir dir;
  const std::string path = dir.path("prices.jsonl");
  std::ofstream(path) << R"({"type":"price","ts":1,"asset":1,"price":"2000"}
{"type":"price","ts":2,"asset":1,"price":"1400"}
{"type":"price","ts":3,"asset":1,"price":"1700"}
)";
  const std::string base = "generate --seed 7 --accounts 100 --events 2000";
  const CliRun run = cli(base + " --price-path " + path);
  ASSERT_EQ(run.exit_code, 0);
  const auto out = lines_of(run.out);
  ASSERT_EQ(out.size(), 2000u);
  std::vector<std::string> eth;
  for (const std::string& line : out) {
    const auto json = nlohmann::json::parse(line);
    if (json["type"] == "price" && json.contains("asset") && json["asset"] == 1 &&
        (eth.empty() || eth.back() != json["price"])) {
      eth.push_back(json["price"]);
    }
  }
  EXPECT_EQ(eth, (std::vector<std::string>{"2000", "1400", "1700"}));
  EXPECT_EQ(cli(base + " --price-path " + path).out, run.out);
  EXPECT_NE(cli(base).out, run.out);
  std::ofstream(dir.path("market.jsonl")) << run.out;
  EXPECT_EQ(cli("append " + dir.path("db") + " " + dir.path("market.jsonl")).out, "appended 2000 events, head seq 2000\n");

  auto refused = [&](const std::string& arguments) {
    const std::string err = dir.path("err.txt");
    const CliRun bad = cli(base + " " + arguments, err);
    return std::to_string(bad.exit_code) + " " + (bad.out.empty() ? "" : "(output) ") + slurp(err);
  };
  EXPECT_EQ(refused("--price-path " + dir.path("none.jsonl")),
            "2 liqledger: generate: --price-path " + dir.path("none.jsonl") + ": cannot read it\n");
  std::ofstream(dir.path("bad.jsonl")) << R"({"type":"price","ts":1,"asset":1,"price":"2000"}
{"type":"price","ts":2,"asset":1,"price":"14.00.0"}
)";
  EXPECT_EQ(refused("--price-path " + dir.path("bad.jsonl")).rfind(
                "2 liqledger: generate: --price-path " + dir.path("bad.jsonl") + ": line 2, field \"price\": ", 0),
            0u);
  std::ofstream(dir.path("one.jsonl")) << R"({"type":"price","ts":1,"asset":1,"price":"2000"})";
  EXPECT_EQ(refused("--price-path " + dir.path("one.jsonl")),
            "2 liqledger: generate: --price-path " + dir.path("one.jsonl") +
                ": only 1 point of asset 1 (a price path needs at least 2 points)\n");
  EXPECT_EQ(refused("--crash 30 --price-path " + path),
            "2 liqledger: generate: --crash and --price-path exclude each other (the path brings its own moves)\n");
}

TEST_F(CliTest, UsageErrorsAndHelp) {
  EXPECT_EQ(cli("").exit_code, 2);
  EXPECT_EQ(cli("frobnicate").exit_code, 2);
  EXPECT_EQ(cli("replay " + db_ + " --no-such-flag").exit_code, 2);
  EXPECT_EQ(cli("replay " + dir_.path("no-such-db")).exit_code, 3);  // I/O: no ledger there
  EXPECT_NE(cli("--help").out.find("Exit codes: 0 ok; 1 a check found a problem"), std::string::npos);
  for (const char* command : {"append", "replay", "audit", "account", "export", "generate"}) {
    const CliRun help = cli(std::string(command) + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("Usage"), std::string::npos) << command;
  }
}

// Exit codes (README): 0 ok; 1 a check found a problem; 2 usage or bad input;
// 3 corrupt data or I/O met by any other command.
TEST_F(CliTest, ExitCodesTellBadInputFromCorruptDataFromFailedChecks) {
  std::ofstream(dir_.path("bad.jsonl")) << R"({"type":"deposit","ts":9000,"account":7,"asset":0,"amount":"-1"})";
  EXPECT_EQ(cli("append " + db_ + " " + dir_.path("bad.jsonl")).exit_code, 2);  // refused: nothing written
  EXPECT_EQ(cli("append " + db_ + " " + dir_.path("no-such-file.jsonl")).exit_code, 2);
  EXPECT_EQ(cli("account " + db_ + " 99").exit_code, 2);  // no such account
  EXPECT_EQ(cli("prove " + db_ + " 99").exit_code, 2);
  EXPECT_EQ(cli("verify " + db_).exit_code, 0);
  {  // one flipped byte in the record of seq 5
    testing::RawDb raw(db_);
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    const std::string key("\0\0\0\0\0\0\0\x05", 8);
    std::string value;
    ASSERT_TRUE(raw->Get(rocksdb::ReadOptions(), raw.events(), key, &value).ok());
    value[value.size() / 2] ^= 0x01;
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), raw.events(), key, value).ok());
  }
  EXPECT_EQ(cli("replay " + db_ + " --from-genesis").exit_code, 3);  // corrupt data met by replay
  EXPECT_EQ(cli("audit " + db_).exit_code, 3);
  EXPECT_EQ(cli("export " + db_).exit_code, 3);
  EXPECT_EQ(cli("verify " + db_).exit_code, 1);  // the check found the problem
}

}  // namespace
}  // namespace liql
