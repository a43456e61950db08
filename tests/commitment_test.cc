// The state commitment (SPEC §7.2, engine/commitment.h): byte-exact against
// the vectors of tests/data/state_vectors.json, which an independent
// implementation written from SPEC §7 alone computed
// (tools/state_commitment_ref.py); the incremental tree equal to the full
// computation whatever the events did; inclusion proofs (§7.3) that hold, and
// that fail when any part is changed.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "replay/proof.h"
#include "replay/replay.h"
#include "tools/generate.h"

namespace liql {
namespace {

// Feeds a generated market to a MemoryRun and hashes every `every` events.
void check_incremental_hash(uint64_t seed, uint64_t every) {
  GenerateOptions options;
  options.seed = seed;
  options.accounts = 200;
  options.events = 3000;
  MemoryRun run;
  Commitment hasher;
  size_t line_number = 0;
  size_t checked = 0;
  EXPECT_TRUE(generate_market(options, [&](std::string_view line) {
    InputError error;
    ASSERT_TRUE(run.add_line(line, ++line_number, &error)) << error.to_string();
    hasher.touch(run.outcomes().back().touched);
    if (line_number % every != 0) return;
    ASSERT_EQ(hasher.hash(run.machine().state()), state_hash(run.machine().state())) << "after line " << line_number;
    ++checked;
  }).is_ok());
  EXPECT_EQ(checked, options.events / every);
}

TEST(Commitment, EqualsTheFullHashAfterEveryEvent) { check_incremental_hash(7, 1); }

TEST(Commitment, EqualsTheFullHashWhenChangesPileUpBetweenHashes) { check_incremental_hash(8, 37); }

TEST(Commitment, RejectedEventsTouchNothing) {
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

nlohmann::json vectors(const std::string& file = "state_vectors.json") {
  std::ifstream in(std::string(LIQL_SOURCE_DIR) + "/tests/data/" + file);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

// Replays the vectors' events up to `seq` into `run`.
void run_to(const nlohmann::json& data, uint64_t seq, MemoryRun& run) {
  InputError error;
  while (run.machine().state().seq < seq) {
    const size_t line = run.machine().state().seq + 1;
    ASSERT_TRUE(run.add_line(data["events"][line - 1].get<std::string>(), line, &error)) << error.to_string();
    ASSERT_TRUE(run.outcomes().back().applied()) << "line " << line;
  }
}

// State after genesis (no accounts: root 32 zero bytes, empty sums), then 1, 2
// and 3 accounts (3 leaves: node(node(l0, l1), l2), the RFC 6962 split at 2),
// a debit, a funds record and a close_factor protocol record.
// Replays the events of `data` and checks every vector it holds, the
// incremental tree against the full hash too.
void check_vectors(const nlohmann::json& data) {
  MemoryRun run;
  Commitment incremental;
  for (const auto& vector : data["vectors"]) {
    const uint64_t seq = vector["seq"].get<uint64_t>();
    const size_t before = run.outcomes().size();
    run_to(data, seq, run);
    for (size_t i = before; i < run.outcomes().size(); ++i) incremental.touch(run.outcomes()[i].touched);
    const State& state = run.machine().state();
    SCOPED_TRACE("seq " + std::to_string(seq));
    EXPECT_EQ(state.ts, vector["ts"].get<uint64_t>());
    EXPECT_EQ(to_hex(globals_hash(state)), vector["globals_hash"].get<std::string>());
    EXPECT_EQ(state.order.size(), vector["account_count"].get<uint64_t>());
    EXPECT_EQ(to_hex(incremental.root(state).hash), vector["root_hash"].get<std::string>());
    EXPECT_EQ(sums_json(state.totals), nlohmann::ordered_json(vector["totals"]));
    EXPECT_EQ(sums_json(incremental.root(state).sums), nlohmann::ordered_json(vector["totals"]));
    EXPECT_EQ(to_hex(state_hash(state)), vector["state_hash"].get<std::string>());
    EXPECT_EQ(to_hex(incremental.hash(state)), vector["state_hash"].get<std::string>());
    for (const auto& leaf : vector["accounts"]) {
      const AccountId id = leaf["id"].get<AccountId>();
      EXPECT_EQ(state.accounts.at(id).index, leaf["index"].get<uint64_t>()) << "account " << id;
      EXPECT_EQ(to_hex(leaf_node(id, state.accounts.at(id)).hash), leaf["leaf_hash"].get<std::string>());
    }
  }
}

// State after genesis (no accounts: root 32 zero bytes, empty sums), then 1, 2
// and 3 accounts (3 leaves: node(node(l0, l1), l2), the RFC 6962 split at 2),
// a debit, a funds record and a close_factor protocol record.
TEST(CommitmentVectors, MatchTheIndependentReference) {
  const nlohmann::json data = vectors();
  ASSERT_EQ(data["vectors"].size(), 6u);
  check_vectors(data);
}

// The golden per-event hashes of the SPEC §8 example: the state after each of
// its 10 events, worked out by hand (tests/data/spec_example/), hashed by the
// reference. Seq 10 is the close_factor liquidation of all 4 ETH at 1800
// (HF_maint = 1000 / 1160 < 0.95): T = 4 · 1800 = 7200 USDC, penalty
// F = 7200 · 0.01 = 72 (36 liquidator, 21.6 insurance, 14.4 treasury); account
// 7 keeps 1000 − (8000 − 7200) − 72 = 128 USDC, account 8 has
// 100000 + (8000 − 7200) + 36 = 100836.
TEST(CommitmentVectors, SpecExampleAfterEveryEvent) {
  const nlohmann::json data = vectors("spec_example_vectors.json");
  ASSERT_EQ(data["vectors"].size(), 10u);
  ASSERT_EQ(data["events"].size(), 10u);
  for (size_t i = 0; i < data["vectors"].size(); ++i) ASSERT_EQ(data["vectors"][i]["seq"].get<uint64_t>(), i + 1);
  check_vectors(data);
}

// docs/STATE_ENCODING.md prints both sets of vectors: it must not drift from them.
TEST(CommitmentVectors, TheDocumentShowsThem) {
  std::ifstream in(std::string(LIQL_SOURCE_DIR) + "/docs/STATE_ENCODING.md");
  std::stringstream doc;
  doc << in.rdbuf();
  for (const char* file : {"state_vectors.json", "spec_example_vectors.json"}) {
    const nlohmann::json data = vectors(file);
    for (const auto& vector : data["vectors"]) {
      EXPECT_NE(doc.str().find(vector["state_hash"].get<std::string>()), std::string::npos)
          << file << " seq " << vector["seq"];
    }
  }
}

TEST(CommitmentVectors, ProofsMatchTheReferenceAndHold) {
  const nlohmann::json data = vectors();
  MemoryRun run;
  run_to(data, 12, run);
  Commitment commitment;
  for (const auto& expected : data["proofs"]) {
    const AccountId id = expected["account"]["id"].get<AccountId>();
    const std::optional<InclusionProof> proof = commitment.prove(run.machine().state(), id);
    ASSERT_TRUE(proof.has_value());
    EXPECT_EQ(nlohmann::json::parse(proof_json(*proof)), expected) << "account " << id;
    InclusionProof parsed;
    ASSERT_TRUE(parse_proof(expected.dump(), &parsed).is_ok());
    std::string why;
    EXPECT_TRUE(verify_inclusion(parsed, &why)) << why;
  }
  EXPECT_FALSE(commitment.prove(run.machine().state(), 999).has_value());
}

// Every part a prover could lie about changes what the verifier folds to.
TEST(CommitmentProof, AnyChangedPartIsRefused) {
  const nlohmann::json data = vectors();
  MemoryRun run;
  run_to(data, 12, run);
  Commitment commitment;
  const InclusionProof good = *commitment.prove(run.machine().state(), 8);  // index 1: path = [leaf 0, leaf 2]
  std::string why;
  ASSERT_TRUE(verify_inclusion(good, &why)) << why;
  auto refused = [&](const char* what, auto change) {
    InclusionProof proof = good;
    change(proof);
    EXPECT_FALSE(verify_inclusion(proof, &why)) << what;
  };
  refused("balance", [](InclusionProof& p) { p.account.balances.at(0) += 1; });
  refused("hidden debt", [](InclusionProof& p) { p.account.balances[1] = Int(-1); });
  refused("sibling hash", [](InclusionProof& p) { p.path[0].hash[5] ^= 1; });
  refused("sibling sum", [](InclusionProof& p) { p.path[1].sums.at(1).credit -= 1; });
  refused("index", [](InclusionProof& p) { p.index = 0; });
  refused("index beyond count", [](InclusionProof& p) { p.index = 3; });
  refused("count", [](InclusionProof& p) { p.account_count = 4; });
  refused("count", [](InclusionProof& p) { p.account_count = 2; });
  refused("totals", [](InclusionProof& p) { p.totals.at(0).debit += 1; });
  refused("seq", [](InclusionProof& p) { p.seq += 1; });
  refused("globals", [](InclusionProof& p) { p.globals_hash[0] ^= 1; });
  refused("path cut", [](InclusionProof& p) { p.path.pop_back(); });
}

// Every account of trees of 1..70 leaves, so that the stored levels of the
// incremental tree (2^4 leaves and up), the right edge below them and every
// RFC 6962 split are exercised; proofs taken between growth steps.
TEST(CommitmentProof, EveryAccountOfEveryTreeSizeUpTo70) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_line(
      R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"liquidator_share":"0.5","insurance_share":"0.3"})",
      1, &error));
  Commitment commitment;
  for (uint64_t n = 1; n <= 70; ++n) {
    // Ids descending, so that creation order is not id order; every third
    // step also changes an older account.
    const std::string deposit = R"({"type":"deposit","ts":1,"account":)" + std::to_string(1000 - n) +
                                R"(,"asset":0,"amount":")" + std::to_string(n) + "\"}";
    ASSERT_TRUE(run.add_line(deposit, n + 1, &error)) << error.to_string();
    commitment.touch(run.outcomes().back().touched);
    if (n % 3 == 0) {
      const std::string older = R"({"type":"deposit","ts":1,"account":)" + std::to_string(1000 - n / 3) +
                                R"(,"asset":0,"amount":"1"})";
      ASSERT_TRUE(run.add_line(older, n + 1, &error)) << error.to_string();
      commitment.touch(run.outcomes().back().touched);
    }
    const State& state = run.machine().state();
    ASSERT_EQ(commitment.hash(state), state_hash(state)) << n << " accounts";
    for (AccountId id : state.order) {
      const InclusionProof proof = *commitment.prove(state, id);
      std::string why;
      ASSERT_TRUE(verify_inclusion(proof, &why)) << n << " accounts, account " << id << ": " << why;
      EXPECT_EQ(proof.state_hash, state_hash(state));
    }
  }
}

TEST(CommitmentProof, MalformedJsonNamesTheField) {
  const nlohmann::json data = vectors();
  auto message = [](const nlohmann::json& proof) {
    InclusionProof parsed;
    const Status s = parse_proof(proof.dump(), &parsed);
    return s.is_ok() ? std::string("accepted") : s.message();
  };
  nlohmann::json proof = data["proofs"][0];
  EXPECT_EQ(message(proof), "accepted");
  proof["path"][1]["sums"][0]["credit"] = 5;
  EXPECT_EQ(message(proof), "proof: path[1].sums[0].credit: expected an integer string");
  proof = data["proofs"][0];
  proof["account"]["balances"][0]["amount"] = "01";
  EXPECT_EQ(message(proof), "proof: account.balances[0].amount: expected an integer string");
  proof = data["proofs"][0];
  proof["state_hash"] = "ABC";
  EXPECT_EQ(message(proof), "proof: state_hash: expected 64 lowercase hex digits");
  proof = data["proofs"][0];
  proof.erase("totals");
  EXPECT_EQ(message(proof), "proof: totals: missing");
  proof = data["proofs"][0];
  proof["extra"] = 1;
  EXPECT_EQ(message(proof), "proof: extra: unknown field");
  proof = data["proofs"][0];
  proof["totals"][0]["debit"] = "-1";
  EXPECT_EQ(message(proof), "proof: totals[0].debit: negative");
}

}  // namespace
}  // namespace liql
