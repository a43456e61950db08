// Snapshots (SPEC §6.1) and `verify`: a replay that starts from a snapshot
// equals the replay from genesis, hash for hash; a tampered snapshot or log is
// reported with its seq and never used.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/encoding.h"
#include "replay/replay.h"
#include "tests/raw_db.h"
#include "tests/test_dirs.h"
#include "tools/generate.h"

namespace liql {
namespace {

std::string example_log() {
  std::ifstream in(std::string(LIQL_SOURCE_DIR) + "/tests/data/spec_example.jsonl");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Log text with more events after the SPEC example: deposits, a second trade
// and another liquidation, so snapshots fall between interesting events.
std::string longer_log() {
  std::string text = example_log();
  text += R"({"type":"deposit","ts":6000,"account":9,"asset":0,"amount":"500"}
{"type":"price","ts":6000,"market":1,"price":"1800"}
{"type":"trade","ts":6100,"market":1,"taker":9,"maker":8,"base":"-2","price":"1800"}
{"type":"deposit","ts":6200,"account":9,"asset":1,"amount":"0.1"}
{"type":"price","ts":6300,"market":1,"price":"1990"}
{"type":"liquidate_perp","ts":6400,"liquidator":8,"account":9,"market":1}
{"type":"withdraw","ts":6500,"account":8,"asset":0,"amount":"10"}
)";
  return text;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void open() {
    ledger_.reset();
    ASSERT_TRUE(Ledger::open(dir_.path("db"), LedgerOptions{}, &ledger_).is_ok());
  }
  void append(const std::string& text, uint64_t every) {
    AppendResult result;
    InputError error;
    ASSERT_TRUE(append_jsonl(*ledger_, text, &result, &error, every).is_ok()) << error.to_string();
  }
  std::vector<Hash> genesis_hashes() {
    std::vector<Hash> hashes{Hash{}};  // index 0 unused
    Machine machine;
    ReplayCounts counts;
    auto collect = [&](const EventView& view) {
      hashes.push_back(state_hash(view.state));
      return Status::ok();
    };
    EXPECT_TRUE(replay(*ledger_, kHeadSeq, &machine, &counts, collect).is_ok());
    return hashes;
  }
  testing::ScratchDir dir_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(SnapshotTest, ReplayFromSnapshotEqualsReplayFromGenesisAtEverySeq) {
  open();
  append(longer_log(), 3);  // snapshots at 3, 6, 9, 12, 15
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(ledger_->list_snapshots(&seqs).is_ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 6, 9, 12, 15}));
  const std::vector<Hash> expected = genesis_hashes();
  ASSERT_EQ(expected.size(), 18u);  // 17 events
  for (uint64_t seq = 1; seq <= 17; ++seq) {
    Machine machine;
    ReplayCounts counts;
    uint64_t snapshot_seq = 0;
    ASSERT_TRUE(restore_snapshot(*ledger_, seq, &machine, &counts, &snapshot_seq).is_ok());
    EXPECT_EQ(snapshot_seq, seq / 3 * 3) << seq;  // the newest snapshot ≤ seq
    ASSERT_TRUE(replay(*ledger_, seq, &machine, &counts).is_ok());
    EXPECT_EQ(state_hash(machine.state()), expected[seq]) << "seq " << seq;
    EXPECT_EQ(counts.applied + counts.rejected, seq);
  }
}

// The same on a generated market with a crash: snapshots every 250 events,
// and the state restored from each one, then replayed to every later seq up
// to the next snapshot, hashes like the replay from genesis.
TEST_F(SnapshotTest, GeneratedMarketFromSnapshotsEqualsGenesisHashForHash) {
  open();
  GenerateOptions options;
  options.seed = 11;
  options.accounts = 150;
  options.events = 2000;
  std::string text;
  EXPECT_TRUE(generate_market(options, [&](std::string_view line) {
    text += line;
    text += '\n';
  }).is_ok());
  append(text, 250);
  const std::vector<Hash> expected = genesis_hashes();
  ASSERT_EQ(expected.size(), 2001u);
  for (uint64_t snapshot = 250; snapshot <= 2000; snapshot += 250) {
    Machine machine;
    ReplayCounts counts;
    uint64_t restored_seq = 0;
    ASSERT_TRUE(restore_snapshot(*ledger_, snapshot, &machine, &counts, &restored_seq).is_ok());
    ASSERT_EQ(restored_seq, snapshot);
    EXPECT_EQ(state_hash(machine.state()), expected[snapshot]) << "snapshot " << snapshot;
    auto compare = [&](const EventView& view) {
      EXPECT_EQ(view.hash(), expected[view.record.seq]) << "seq " << view.record.seq;
      return Status::ok();
    };
    ASSERT_TRUE(replay(*ledger_, std::min<uint64_t>(snapshot + 249, 2000), &machine, &counts, compare).is_ok());
  }
}

TEST_F(SnapshotTest, SnapshotsAcrossSeveralAppendsAndVerify) {
  open();
  const std::string text = longer_log();
  // Line by line: each append restores from the newest snapshot and writes those it passes.
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    append(text.substr(start, end - start + 1), 4);
    start = end + 1;
  }
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(ledger_->list_snapshots(&seqs).is_ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{4, 8, 12, 16}));
  VerifyReport report;
  ASSERT_TRUE(verify(*ledger_, &report).is_ok());
  EXPECT_EQ(report.records, 17u);
  EXPECT_EQ(report.snapshots, 4u);
  EXPECT_EQ(report.head_chain, ledger_->head().chain);
  EXPECT_EQ(report.state_hash, genesis_hashes().back());
}

TEST_F(SnapshotTest, TamperedSnapshotIsReportedAndNeverUsed) {
  open();
  append(longer_log(), 5);  // snapshots at 5, 10, 15
  ledger_.reset();
  {
    testing::RawDb raw(dir_.path("db"));
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    std::string value;
    ASSERT_TRUE(raw->Get({}, raw.snapshots(), seq_key(10), &value).ok());
    value[value.size() - 40] ^= 0x01;  // inside the canonical state
    ASSERT_TRUE(raw->Put({}, raw.snapshots(), seq_key(10), value).ok());
  }
  open();
  Machine machine;
  ReplayCounts counts;
  const Status loaded = load_state(*ledger_, 12, &machine, &counts);
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_NE(loaded.message().find("snapshot at seq 10"), std::string::npos) << loaded.message();
  VerifyReport report;
  const Status verified = verify(*ledger_, &report);
  ASSERT_FALSE(verified.is_ok());
  EXPECT_NE(verified.message().find("snapshot at seq 10"), std::string::npos) << verified.message();
  // Before the bad snapshot everything still loads.
  Machine early;
  ReplayCounts early_counts;
  EXPECT_TRUE(load_state(*ledger_, 9, &early, &early_counts).is_ok());
}

// Anyone can recompute a snapshot's hash. A forged snapshot holding a state
// the machine cannot be in is refused when it is decoded, naming its seq: the
// one below (a balance of an asset nobody listed) used to reach the engine and
// terminate the replay (std::out_of_range; found with fuzz/snapshot_fuzz).
// A snapshot written before SPEC v2 (the LIQL-STATE-1 encoding, its hash a
// SHA-256 of those bytes) is derived data v2 cannot use: replay goes on
// without it, from genesis, and verify counts it apart; never corruption.
TEST_F(SnapshotTest, PreV2SnapshotIsIgnoredAndReplayStartsFromGenesis) {
  open();
  append(longer_log(), 0);
  std::string payload(16, '\0');
  payload[7] = 10;  // 10 applied, 0 rejected
  payload += "LIQL-STATE-1";
  payload += std::string(100, '\1');
  ASSERT_TRUE(ledger_->put_snapshot(10, payload, sha256(payload.substr(16))).is_ok());
  const std::vector<Hash> expected = genesis_hashes();
  Machine machine;
  ReplayCounts counts;
  ASSERT_TRUE(load_state(*ledger_, 12, &machine, &counts).is_ok());
  EXPECT_EQ(state_hash(machine.state()), expected[12]);
  EXPECT_EQ(counts.applied + counts.rejected, 12u);
  VerifyReport report;
  ASSERT_TRUE(verify(*ledger_, &report).is_ok());
  EXPECT_EQ(report.snapshots, 0u);
  EXPECT_EQ(report.old_snapshots, 1u);
}

TEST_F(SnapshotTest, ForgedUnreachableStateIsCorruptionNeverACrash) {
  open();
  append(longer_log(), 0);
  Machine other;
  ReplayCounts other_counts;
  ASSERT_TRUE(replay(*ledger_, 10, &other, &other_counts).is_ok());
  State forged = other.state();
  forged.accounts[7].balances[5] = Int(1);
  ASSERT_TRUE(put_snapshot(*ledger_, Machine(forged), other_counts).is_ok());
  Machine machine;
  ReplayCounts counts;
  const Status s = load_state(*ledger_, kHeadSeq, &machine, &counts);
  EXPECT_EQ(s.code(), Status::Code::Corruption);
  EXPECT_NE(s.message().find("snapshot at seq 10: state encoding: account 7 holds unlisted asset 5"),
            std::string::npos)
      << s.message();
}

TEST(StateDecoding, RefusesStatesNoEventCouldReach) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(longer_log(), &error)) << error.to_string();
  const State good = run.machine().state();
  EXPECT_EQ(decode_state(encode_state(good)).value(), good);
  auto refused_bytes = [](const std::string& bytes, const std::string& why) {
    const Result<State> decoded = decode_state(bytes);
    ASSERT_FALSE(decoded.is_ok()) << "decoded: " << why;
    EXPECT_EQ(decoded.status().code(), Status::Code::Corruption);
    EXPECT_NE(decoded.status().message().find(why), std::string::npos) << decoded.status().message();
  };
  auto refused = [&](const State& state, const std::string& why) { refused_bytes(encode_state(state), why); };
  State state = good;
  state.accounts[8].positions[4] = Position{Int(1), Int(0)};
  refused(state, "account 8 holds unlisted market 4");
  state = good;
  state.assets.at(1).params.decimals = 1000;
  refused(state, "invalid parameters of asset 1");
  state = good;
  state.markets.at(1).params.lot_size = 0;
  refused(state, "invalid parameters of market 1");
  state = good;
  state.markets.at(1).oracle.price = 0;
  refused(state, "price of market 1");
  state = good;
  state.protocol.liquidator_share = Int(2) * Int(1'000'000'000'000'000'000ULL);
  refused(state, "invalid protocol parameters");
  state = good;
  state.assets.at(1).params.symbol = "\xff";
  refused(state, "symbol of asset 1 is not UTF-8");
  state = State{};
  state.seq = 3;
  create_account(state, 1);
  refused(state, "without genesis");
  state = good;
  state.assets.at(kQuoteAsset).oracle = Oracle{wad(), 0, true};
  refused(state, "an oracle for the quote asset");

  // An absent oracle is 41 zero bytes (SPEC §7.1); a price behind a 0
  // "present" byte would be a second encoding of the same state (found with
  // fuzz/snapshot_fuzz). The quote asset's oracle ends its AssetRecord, the
  // first after the 31-byte header and the u32 asset count: USDC's record is
  // u32 id, text "USDC" (8), u32 decimals, u8, u64, 6 Ints, the bonus, then
  // the oracle: its price's last byte at 35 + 4 + 8 + 4 + 1 + 8 + 192 + 32 + 1 + 31.
  std::string absent = encode_state(good);
  const size_t price_last_byte = 35 + 4 + 8 + 4 + 1 + 8 + 192 + 32 + 1 + 31;
  ASSERT_EQ(absent.substr(35 + 4 + 4, 4), "USDC");
  ASSERT_EQ(absent[price_last_byte], 0);
  absent[price_last_byte] = 1;
  refused_bytes(absent, "absent oracle not zero");

  // All-zero funds entries are omitted (docs/STATE_ENCODING.md): bytes that
  // hold one would decode to a state whose encoding is other bytes (found with
  // fuzz/snapshot_fuzz). Funds of asset 0 with insurance 1 and nothing else,
  // then that 1 zeroed: the entry is the last before the protocol record
  // (2 enum bytes + 4 Ints + u64 = 138 bytes), which the account count (u64)
  // and the account records follow; its insurance is the first of its four
  // 32-byte Ints.
  state = good;
  for (auto& entry : state.funds) entry.second = Funds{};
  state.funds.at(0).insurance = Int(1);
  std::string funds_bytes = encode_state(state);
  std::string accounts;
  for (AccountId id : state.order) encode_account_record(id, state.accounts.at(id), accounts);
  const size_t insurance_last_byte = funds_bytes.size() - accounts.size() - 8 - 138 - 4 * 32 + 31;
  ASSERT_EQ(funds_bytes[insurance_last_byte], 1);
  EXPECT_EQ(decode_state(funds_bytes).value(), state);
  funds_bytes[insurance_last_byte] = 0;
  refused_bytes(funds_bytes, "all-zero funds entry kept");

  // A boolean is one byte, 0 or 1: the encoding of a state is unique.
  std::string bytes = encode_state(good);
  const std::string symbol = good.assets.at(1).params.symbol;
  const size_t at = bytes.find(symbol) + symbol.size() + 4;  // after the symbol and the decimals
  ASSERT_EQ(bytes[at], 1) << "asset 1 (ETH) is borrowable";
  bytes[at] = 2;
  refused_bytes(bytes, "bad flag in asset");
}

TEST_F(SnapshotTest, ForgedSnapshotWithAConsistentHashIsCaughtByVerify) {
  // Someone rewrites a snapshot with another state and its correct hash: only
  // the re-replay can tell, and verify does it.
  open();
  append(longer_log(), 5);
  Machine other;
  ReplayCounts other_counts;
  ASSERT_TRUE(replay(*ledger_, 10, &other, &other_counts).is_ok());
  State forged = other.state();
  forged.accounts[7].balances[kQuoteAsset] += 1;
  ASSERT_TRUE(put_snapshot(*ledger_, Machine(forged), other_counts).is_ok());
  VerifyReport report;
  const Status verified = verify(*ledger_, &report);
  ASSERT_FALSE(verified.is_ok());
  EXPECT_NE(verified.message().find("snapshot at seq 10: differs"), std::string::npos) << verified.message();
}

}  // namespace
}  // namespace liql
