// The RocksDB log (SPEC §6.1): append, read back, the hash chain, and
// corruption reported with its seq, never a crash.

#include <gtest/gtest.h>

#include "replay/replay.h"
#include "tests/raw_db.h"
#include "tests/test_dirs.h"

namespace liql {
namespace {

const std::string kLog =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"deposit","ts":10,"account":1,"asset":0,"amount":"100"}
{"type":"deposit","ts":20,"account":2,"asset":0,"amount":"200"}
{"type":"withdraw","ts":30,"account":1,"asset":0,"amount":"40"}
{"type":"withdraw","ts":40,"account":2,"asset":0,"amount":"300"})";

// Genesis, an ETH-PERP market at 2000 and 1000 USDC for account 7.
const std::string kPerpMarket =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"list_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"}
{"type":"price","ts":1000,"market":1,"price":"2000"}
{"type":"deposit","ts":2000,"account":7,"asset":0,"amount":"1000"})"
    "\n";

std::string bytes_of(std::span<const uint8_t> span) { return std::string(span.begin(), span.end()); }

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(open().is_ok()); }

  Status open(bool read_only = false) {
    ledger_.reset();
    LedgerOptions options;
    options.read_only = read_only;
    return Ledger::open(dir_.path("db"), options, &ledger_);
  }

  void append(const std::string& text) {
    AppendResult result;
    InputError error;
    ASSERT_TRUE(append_jsonl(*ledger_, text, &result, &error).is_ok()) << error.to_string();
  }

  // Rewrites the raw value of `seq` in column family `events` (the ledger closed).
  void tamper(uint64_t seq, const std::function<void(std::string&)>& edit) {
    ledger_.reset();
    {
      testing::RawDb db(dir_.path("db"));
      ASSERT_TRUE(db.status().ok()) << db.status().ToString();
      std::string value;
      if (db->Get({}, db.events(), seq_key(seq), &value).ok()) {
        edit(value);
        if (value.empty()) {
          ASSERT_TRUE(db->Delete({}, db.events(), seq_key(seq)).ok());
        } else {
          ASSERT_TRUE(db->Put({}, db.events(), seq_key(seq), value).ok());
        }
      }
    }
    ASSERT_TRUE(open().is_ok());
  }

  // Rewrites the whole log as `events` (finished Event buffers) with a valid
  // chain and head: what a hostile writer could leave, bypassing append's checks.
  void forge(const std::vector<std::string>& events) {
    ledger_.reset();
    {
      testing::RawDb db(dir_.path("db"));
      ASSERT_TRUE(db.status().ok()) << db.status().ToString();
      Hash chain{};
      uint64_t seq = 0;
      uint64_t ts = 0;
      for (const std::string& bytes : events) {
        const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
        chain = chain_next(chain, std::span<const uint8_t>(data, bytes.size()));
        ts = flatbuffers::GetRoot<fb::Event>(data)->ts();
        flatbuffers::FlatBufferBuilder builder;
        builder.ForceVectorAlignment(bytes.size(), 1, 8);
        auto event = builder.CreateVector(data, bytes.size());
        auto chain_bytes = builder.CreateVector(chain.data(), chain.size());
        fb::FinishRecordBuffer(builder, fb::CreateRecord(builder, ++seq, event, chain_bytes));
        const rocksdb::Slice value(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
        ASSERT_TRUE(db->Put({}, db.events(), seq_key(seq), value).ok());
      }
      ASSERT_TRUE(db->Put({}, db.meta(), "head_seq", seq_key(seq)).ok());
      ASSERT_TRUE(
          db->Put({}, db.meta(), "head_chain", rocksdb::Slice(reinterpret_cast<const char*>(chain.data()), 32)).ok());
      ASSERT_TRUE(db->Put({}, db.meta(), "head_ts", seq_key(ts)).ok());
    }
    ASSERT_TRUE(open().is_ok());
  }

  Status replay_all(uint64_t* last_seq) {
    Machine machine;
    ReplayCounts counts;
    Status s = replay(*ledger_, kHeadSeq, &machine, &counts);
    *last_seq = machine.state().seq;
    return s;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerTest, AppendAssignsSeqAndChainsHashes) {
  append(kLog);
  EXPECT_EQ(ledger_->head().seq, 5u);
  EXPECT_EQ(ledger_->head().ts, 40u);
  // chain(seq) = SHA-256(chain(seq − 1) ‖ event bytes), chain(0) = 32 zero bytes.
  Hash chain{};
  uint64_t expected_seq = 1;
  auto reader = ledger_->read(1, kHeadSeq);
  LogRecord record;
  while (reader->next(&record)) {
    EXPECT_EQ(record.seq, expected_seq++);
    Sha256 hasher;
    hasher.update(chain.data(), chain.size());
    hasher.update(bytes_of(record.event_bytes));
    chain = hasher.finish();
    EXPECT_EQ(record.chain, chain);
  }
  EXPECT_TRUE(reader->status().is_ok());
  EXPECT_EQ(expected_seq, 6u);
  EXPECT_EQ(ledger_->head().chain, chain);
}

TEST_F(LedgerTest, HeadSurvivesReopen) {
  append(kLog);
  const Head before = ledger_->head();
  ASSERT_TRUE(open().is_ok());
  EXPECT_EQ(ledger_->head().seq, before.seq);
  EXPECT_EQ(ledger_->head().chain, before.chain);
  EXPECT_EQ(ledger_->head().ts, before.ts);
}

TEST_F(LedgerTest, ReplayCountsAppliedAndRejected) {
  append(kLog);
  Machine machine;
  ReplayCounts counts;
  ASSERT_TRUE(replay(*ledger_, kHeadSeq, &machine, &counts).is_ok());
  // Account 2 holds 200 USDC and USDC is not borrowable: withdrawing 300 → NOT_BORROWABLE.
  EXPECT_EQ(counts.applied, 4u);
  EXPECT_EQ(counts.rejected, 1u);
  EXPECT_EQ(machine.state().account(1)->balance(kQuoteAsset), Int(60'000'000));  // 100 − 40 USDC
  EXPECT_EQ(machine.state().account(2)->balance(kQuoteAsset), Int(200'000'000));
}

TEST_F(LedgerTest, ReplayToSeqStopsThere) {
  append(kLog);
  Machine machine;
  ReplayCounts counts;
  ASSERT_TRUE(replay(*ledger_, 3, &machine, &counts).is_ok());
  EXPECT_EQ(machine.state().seq, 3u);
  EXPECT_EQ(machine.state().ts, 20u);
  EXPECT_EQ(machine.state().account(1)->balance(kQuoteAsset), Int(100'000'000));
}

TEST_F(LedgerTest, ReadOnlyReaderSeesTheLog) {
  append(kLog);
  std::unique_ptr<Ledger> reader;
  LedgerOptions options;
  options.read_only = true;
  ASSERT_TRUE(Ledger::open(dir_.path("db"), options, &reader).is_ok());
  EXPECT_EQ(reader->head().seq, 5u);
  std::vector<std::string> events{"x"};
  size_t failed = 0;
  EXPECT_FALSE(reader->append(events, nullptr, &failed).is_ok());
}

TEST_F(LedgerTest, FlippedByteIsReportedWithItsSeq) {
  append(kLog);
  // Flip one byte near the end of the value (inside the event or chain bytes).
  tamper(3, [](std::string& value) { value[value.size() - 5] ^= 0x01; });
  uint64_t last = 0;
  const Status s = replay_all(&last);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), Status::Code::Corruption);
  EXPECT_NE(s.message().find("seq 3"), std::string::npos) << s.message();
  EXPECT_EQ(last, 2u);  // nothing from the bad record on was applied
}

// Never a silently wrong answer: a flipped bit anywhere in a record is either
// reported with that record's seq, or it landed in bytes that carry no
// meaning (FlatBuffers padding) and replay gives the very same state.
TEST_F(LedgerTest, EveryBitFlipIsDetectedOrHarmless) {
  append(kLog);
  Machine clean;
  ReplayCounts counts;
  ASSERT_TRUE(replay(*ledger_, kHeadSeq, &clean, &counts).is_ok());
  const Hash clean_hash = state_hash(clean.state());
  ledger_.reset();

  testing::RawDb raw(dir_.path("db"));
  ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
  std::string original;
  ASSERT_TRUE(raw->Get({}, raw.events(), seq_key(2), &original).ok());
  size_t detected = 0;
  for (size_t i = 0; i < original.size(); ++i) {
    std::string value = original;
    value[i] = static_cast<char>(value[i] ^ (1 << (i % 8)));
    ASSERT_TRUE(raw->Put({}, raw.events(), seq_key(2), value).ok());
    std::unique_ptr<Ledger> reader;
    LedgerOptions options;
    options.read_only = true;  // opens beside the raw writer
    ASSERT_TRUE(Ledger::open(dir_.path("db"), options, &reader).is_ok());
    Machine machine;
    ReplayCounts ignored;
    const Status s = replay(*reader, kHeadSeq, &machine, &ignored);
    if (s.is_ok()) {
      EXPECT_EQ(state_hash(machine.state()), clean_hash) << "byte " << i << " changed the state silently";
    } else {
      ++detected;
      EXPECT_NE(s.message().find("seq 2"), std::string::npos) << "byte " << i << ": " << s.message();
      EXPECT_EQ(machine.state().seq, 1u);
    }
  }
  // The 32 chain bytes and every event byte are covered by the chain.
  EXPECT_GE(detected, 32u + 20u);
}

// Long reads run the record decoding and chain check a batch ahead on a
// second thread (ledger.cc, PrefetchReader, from 4096 records). The same
// records come out in order with the same bytes, and corruption deep in the
// log stops the replay at the very same seq, every record before it applied.
TEST_F(LedgerTest, LongLogsReadAheadWithTheSameRecordsAndErrors) {
  std::string text = kLog.substr(0, kLog.find('\n') + 1);
  for (int i = 1; i <= 9999; ++i) {  // seq 2 … 10000: deposits to 50 accounts
    text += R"({"type":"deposit","ts":)" + std::to_string(i) + R"(,"account":)" + std::to_string(1 + i % 50) +
            R"(,"asset":0,"amount":")" + std::to_string(i) + "\"}\n";
  }
  append(text);
  std::unique_ptr<LogReader> reader = ledger_->read(1, kHeadSeq);
  LogRecord record;
  Hash chain{};
  uint64_t expected = 1;
  uint64_t peeked = 0;  // how many records peek() announced before next() returned them
  const fb::Event* announced = nullptr;
  while (reader->next(&record)) {
    // peek() showed this very event (the same bytes in the same buffer), or nothing.
    if (announced != nullptr) {
      ASSERT_EQ(announced, record.event) << record.seq;
      ++peeked;
    }
    announced = reader->peek();
    ASSERT_EQ(record.seq, expected++);
    chain = chain_next(chain, record.event_bytes);  // the bytes are the ones the chain covers
    ASSERT_EQ(record.chain, chain) << record.seq;
    if (record.seq > 1) {
      ASSERT_EQ(record.event->body_as_Deposit()->account(), 1 + (record.seq - 1) % 50) << record.seq;
    }
  }
  ASSERT_TRUE(reader->status().is_ok()) << reader->status().message();
  EXPECT_EQ(expected, 10001u);
  EXPECT_EQ(announced, nullptr);  // nothing after the last record
  // Every record of a batch but its first is announced: 10000 − 10 batches of 1024.
  EXPECT_EQ(peeked, 10000u - 10u);
  EXPECT_EQ(chain, ledger_->head().chain);
  reader.reset();
  // A reader dropped half way stops its thread (no hang, no leak under ASan).
  reader = ledger_->read(1, kHeadSeq);
  ASSERT_TRUE(reader->next(&record));
  reader.reset();

  tamper(7777, [](std::string& value) { value[value.size() - 5] ^= 0x01; });
  uint64_t last = 0;
  Status s = replay_all(&last);
  EXPECT_EQ(s.code(), Status::Code::Corruption);
  EXPECT_NE(s.message().find("seq 7777"), std::string::npos) << s.message();
  EXPECT_EQ(last, 7776u);
  tamper(7777, [](std::string& value) { value.clear(); });
  s = replay_all(&last);
  EXPECT_NE(s.message().find("record seq 7777 missing"), std::string::npos) << s.message();
  EXPECT_EQ(last, 7776u);
}

TEST_F(LedgerTest, MissingRecordIsReported) {
  append(kLog);
  tamper(4, [](std::string& value) { value.clear(); });
  uint64_t last = 0;
  const Status s = replay_all(&last);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("seq 4"), std::string::npos) << s.message();
  EXPECT_EQ(last, 3u);
}

TEST_F(LedgerTest, SwappedRecordsAreReported) {
  append(kLog);
  std::string second, third;
  tamper(2, [&](std::string& value) { second = value; });
  tamper(3, [&](std::string& value) { third = value; });
  tamper(2, [&](std::string& value) { value = third; });
  tamper(3, [&](std::string& value) { value = second; });
  uint64_t last = 0;
  const Status s = replay_all(&last);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("seq 2"), std::string::npos) << s.message();
}

// The state machine relies on genesis at seq 1 and only there. A log whose
// chain is valid but which breaks that rule is corrupt: replay stops naming
// the seq. Without genesis first, the events below used to reach the engine
// and terminate the process (found with fuzz/record_fuzz).
TEST_F(LedgerTest, LogNotStartingWithGenesisIsCorruption) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(
      kPerpMarket + R"({"type":"deposit","ts":2000,"account":8,"asset":0,"amount":"100000"}
{"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"4","price":"2000"}
{"type":"liquidate_perp","ts":5000,"liquidator":8,"account":7,"market":1})",
      &error))
      << error.to_string();
  forge(std::vector<std::string>(run.events().begin() + 1, run.events().end()));
  uint64_t last = 0;
  const Status s = replay_all(&last);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), Status::Code::Corruption);
  EXPECT_NE(s.message().find("record seq 1: the first record is not genesis"), std::string::npos) << s.message();
  EXPECT_EQ(last, 0u);
}

TEST_F(LedgerTest, GenesisAfterSeqOneIsCorruption) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(kLog, &error)) << error.to_string();
  std::vector<std::string> events = run.events();
  events.push_back(events.front());  // seq 6
  events.push_back(events[4]);       // seq 7
  forge(events);
  uint64_t last = 0;
  const Status s = replay_all(&last);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("record seq 6: genesis after seq 1"), std::string::npos) << s.message();
  EXPECT_EQ(last, 5u);
  // Reading from seq 7 decodes record 6 (for its chain) with the same rule.
  auto reader = ledger_->read(7, kHeadSeq);
  LogRecord record;
  EXPECT_FALSE(reader->next(&record));
  EXPECT_EQ(reader->status().code(), Status::Code::Corruption);
  EXPECT_NE(reader->status().message().find("seq 6"), std::string::npos) << reader->status().message();
}

// Through the C++ API a genesis with invalid parameters reaches the log (the
// ledger knows nothing of parameters) and the engine rejects it. There is then
// no protocol and no quote asset: every later event is INVALID_RECORD. The
// trade below used to terminate replay (std::out_of_range on the quote asset).
TEST_F(LedgerTest, LogWhoseGenesisWasRejectedAppliesNothingAfterIt) {
  flatbuffers::FlatBufferBuilder builder;
  auto symbol = builder.CreateString("USDC");
  auto liquidator_share = builder.CreateString("0.9");  // 0.9 + 0.3 > 1: invalid
  auto insurance_share = builder.CreateString("0.3");
  builder.Finish(fb::CreateEvent(builder, 0, fb::Body::Genesis,
                                 fb::CreateGenesis(builder, fb::Mode::Enforce, symbol, 6, fb::Policy::Partial, 0, 0,
                                                   liquidator_share, insurance_share, 2)
                                     .Union()));
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(
      kPerpMarket + R"({"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"4","price":"2000"})",
      &error))
      << error.to_string();
  std::vector<std::string> events{
      std::string(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize())};
  events.insert(events.end(), run.events().begin() + 1, run.events().end());
  ASSERT_TRUE(ledger_->append(events, nullptr, nullptr).is_ok());

  Machine machine;
  ReplayCounts counts;
  std::vector<Reason> reasons;
  ASSERT_TRUE(replay(*ledger_, kHeadSeq, &machine, &counts, [&](const EventView& view) {
                reasons.push_back(view.outcome.reason);
                return Status::ok();
              }).is_ok());
  ASSERT_EQ(reasons.size(), 5u);
  EXPECT_EQ(reasons[0], Reason::InvalidParams);
  for (size_t i = 1; i < reasons.size(); ++i) EXPECT_EQ(reasons[i], Reason::InvalidRecord) << "seq " << i + 1;
  EXPECT_FALSE(machine.state().has_genesis());
  EXPECT_EQ(machine.state().seq, 5u);
  EXPECT_TRUE(machine.state().markets.empty());
  EXPECT_TRUE(machine.state().accounts.empty());
  EXPECT_EQ(counts.rejected, 5u);
}

// A symbol that is not UTF-8 cannot be exported as JSON (nlohmann::json
// throws); `liqledger export` used to terminate on such a record (found with
// fuzz/record_fuzz). The C++ API refuses it; read back, it is corruption.
TEST_F(LedgerTest, SymbolThatIsNotUtf8IsRefusedAndCorrupt) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(
      std::string(kLog) + "\n" +
          R"({"type":"list_asset","ts":50,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})",
      &error))
      << error.to_string();
  std::vector<std::string> events = run.events();
  std::string& listing = events.back();
  const size_t at = listing.find("ETH");
  ASSERT_NE(at, std::string::npos);
  listing[at] = static_cast<char>(0xC1);  // never valid in UTF-8

  append(kLog);
  size_t failed = 99;
  const Status refused = ledger_->append(std::vector<std::string>{listing}, nullptr, &failed);
  EXPECT_EQ(refused.code(), Status::Code::InvalidArgument);
  EXPECT_NE(refused.message().find("symbol"), std::string::npos) << refused.message();
  EXPECT_EQ(failed, 0u);

  forge(events);
  uint64_t last = 0;
  const Status s = replay_all(&last);
  EXPECT_EQ(s.code(), Status::Code::Corruption);
  EXPECT_NE(s.message().find("record seq 6: event field symbol: not valid UTF-8"), std::string::npos)
      << s.message();
  EXPECT_EQ(last, 5u);
}

// SPEC §3: a price published after its event's ts is refused at the input
// boundary. Built by hand (the C++ API), append refuses it too; forged into a
// log, it is corruption naming its seq, never a price from the future stored.
TEST_F(LedgerTest, PricePublishedAfterItsTsIsRefusedAndCorrupt) {
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(kPerpMarket, &error)) << error.to_string();
  flatbuffers::FlatBufferBuilder builder;
  // ts 2000, publish_ts 2001: one µs from the future.
  builder.Finish(fb::CreateEvent(builder, 2000, fb::Body::Price,
                                 fb::CreatePriceDirect(builder, flatbuffers::nullopt, 1, "2100", 2001).Union()));
  const std::string future(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());

  ASSERT_TRUE(ledger_->append(run.events(), nullptr, nullptr).is_ok());
  size_t failed = 99;
  const Status refused = ledger_->append(std::vector<std::string>{future}, nullptr, &failed);
  EXPECT_EQ(refused.code(), Status::Code::InvalidArgument);
  EXPECT_NE(refused.message().find("field publish_ts: after the event's ts (2000)"), std::string::npos)
      << refused.message();
  EXPECT_EQ(failed, 0u);
  EXPECT_EQ(ledger_->head().seq, run.events().size());

  std::vector<std::string> events = run.events();
  events.push_back(future);
  forge(events);
  uint64_t last = 0;
  const Status s = replay_all(&last);
  EXPECT_EQ(s.code(), Status::Code::Corruption);
  const std::string seq = std::to_string(events.size());
  EXPECT_NE(s.message().find("record seq " + seq + ": event field publish_ts: after the event's ts (2000)"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(last, events.size() - 1);
}

TEST_F(LedgerTest, AppendRefusesGenesisOutOfPlaceAndDecreasingTs) {
  append(kLog);
  const Head before = ledger_->head();
  // Hand-built events through the C++ API bypass the JSON importer: the ledger checks again.
  MemoryRun run;
  InputError error;
  ASSERT_TRUE(run.add_text(kLog, &error));
  std::vector<std::string> genesis_again{run.events()[0]};
  size_t failed = 99;
  EXPECT_FALSE(ledger_->append(genesis_again, nullptr, &failed).is_ok());
  EXPECT_EQ(failed, 0u);
  std::vector<std::string> earlier{run.events()[1]};  // ts 10 < head ts 40
  EXPECT_FALSE(ledger_->append(earlier, nullptr, &failed).is_ok());
  EXPECT_EQ(ledger_->head().seq, before.seq);
  EXPECT_EQ(ledger_->head().chain, before.chain);
}

}  // namespace
}  // namespace liql
