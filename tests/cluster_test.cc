// The cluster layer end to end (docs/SCALE.md): a local nats-server
// (tests/nats_server.h), the liqledger commands publish, follow, audit-plan,
// audit-worker and audit-join, checked against the single-machine commands.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/jetstream.h"
#include "cluster/mirror.h"
#include "cluster/split_audit.h"
#include "engine/commitment.h"
#include "engine/state.h"
#include "tests/cli_run.h"
#include "tests/nats_server.h"
#include "tests/test_dirs.h"

namespace liql {
namespace {

using testing::cli;
using testing::CliRun;
using testing::slurp;

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// 12 000 events, a snapshot every 1 000: snapshots at 1000, 2000, …, 12000.
constexpr char kGenerate[] = "generate --seed 5 --accounts 200 --events 12000 --crash 40";

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.running());
    ASSERT_EQ(cli(std::string(kGenerate) + " > " + dir_.path("m.jsonl")).exit_code, 0);
    db_ = dir_.path("db");
    ASSERT_EQ(cli("append " + db_ + " " + dir_.path("m.jsonl") + " --snapshot-every 1000").out,
              "appended 12000 events, head seq 12000\n");
  }
  std::string nats(const std::string& stream = "S") const { return " --nats " + server_.url() + " --stream " + stream; }
  // The line `verify` prints, which names the head chain and the final state hash.
  static std::string verify_line(const std::string& db) { return cli("verify " + db).out; }
  // Plans, runs `workers` workers side by side, and checks that every format
  // joins to exactly what `audit DB` prints.
  void expect_joined_audit_equal(const std::string& stream, uint64_t segment_events, size_t segments, int workers) {
    const CliRun plan = cli("audit-plan" + nats(stream) + " --segment-events " + std::to_string(segment_events));
    ASSERT_EQ(plan.exit_code, 0);
    EXPECT_NE(plan.out.find(": " + std::to_string(segments) + " segments over seq 1..12000"), std::string::npos) << plan.out;
    std::vector<pid_t> pids;
    for (int i = 0; i < workers; ++i) {
      pids.push_back(testing::spawn(std::string(LIQL_CLI_PATH) + " audit-worker" + nats(stream) + " 2>/dev/null"));
    }
    for (pid_t pid : pids) EXPECT_EQ(testing::wait_exit(pid), 0);
    for (const std::string format : {"jsonl", "csv", "summary"}) {
      const CliRun single = cli("audit " + db_ + " --format " + format);
      const CliRun joined = cli("audit-join" + nats(stream) + " --format " + format);
      ASSERT_EQ(joined.exit_code, 0) << format;
      EXPECT_EQ(joined.out, single.out) << format << ", segments of " << segment_events << " events";
      EXPECT_FALSE(single.out.empty());
    }
  }

  // Segment 0 of a 3-segment plan (--segment-events 5000) is held by a worker
  // that died: the join refuses to print anything; a new worker does the
  // three segments, segment 0 once the 1 s ack wait redelivers it, and every
  // format then joins to the single audit.
  void expect_pending_then_redone() {
    const CliRun early = cli("audit-join" + nats() + " --format jsonl", dir_.path("early.err"));
    EXPECT_EQ(early.exit_code, 1);
    EXPECT_EQ(early.out, "");
    EXPECT_NE(slurp(dir_.path("early.err")).find("3 of 3 segments have no result yet, the first segment 0 (seq 1..5000)"),
              std::string::npos)
        << slurp(dir_.path("early.err"));
    const CliRun worker = cli("audit-worker" + nats(), dir_.path("redo.err"));
    ASSERT_EQ(worker.exit_code, 0) << slurp(dir_.path("redo.err"));
    EXPECT_NE(slurp(dir_.path("redo.err")).find("audit-worker: 3 segments, 12000 events"), std::string::npos);
    for (const std::string format : {"jsonl", "csv", "summary"}) {
      EXPECT_EQ(cli("audit-join" + nats() + " --format " + format).out, cli("audit " + db_ + " --format " + format).out);
    }
  }

  // A worker that takes the first segment and stops (SIGSTOP) on reaching seq
  // `at`; its stderr goes to `err`. -1 when it did not get there in 20 s.
  pid_t stalled_worker(uint64_t at, const std::string& err) const {
    const pid_t pid = testing::spawn(std::string(LIQL_CLI_PATH) + " audit-worker" + nats() + " --test-stall-at " +
                                     std::to_string(at) + " 2>" + err);
    const std::string line = "stalled at seq " + std::to_string(at);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (slurp(err).find(line) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (slurp(err).find(line) != std::string::npos) return pid;
    ADD_FAILURE() << slurp(err);
    ::kill(pid, SIGKILL);
    testing::wait_exit(pid);
    return -1;
  }

  testing::ScratchDir dir_;
  testing::NatsServer server_{dir_.path("js")};
  std::string db_;
};

TEST_F(ClusterTest, SegmentsOfSeveralSizesJoinToTheSingleAudit) {
  ASSERT_EQ(cli("publish " + db_ + nats()).exit_code, 0);
  // The cuts are the snapshots (every 1000) where a segment reaches the size;
  // the snapshot at the head (12000) starts nothing.
  expect_joined_audit_equal("S", 1, 12, 1);       // 1..1000, …, 11001..12000
  expect_joined_audit_equal("S", 2500, 4, 2);     // 1..3000, 3001..6000, 6001..9000, 9001..12000
  expect_joined_audit_equal("S", 5000, 3, 2);     // 1..5000, 5001..10000, 10001..12000
  expect_joined_audit_equal("S", 100000, 1, 1);   // the whole log from genesis
}

TEST_F(ClusterTest, PlanMakesOnlyTheFormatsAsked) {
  ASSERT_EQ(cli("publish " + db_ + nats()).exit_code, 0);
  ASSERT_EQ(cli("audit-plan" + nats() + " --segment-events 4000 --formats summary").exit_code, 0);
  ASSERT_EQ(cli("audit-worker" + nats()).exit_code, 0);
  EXPECT_EQ(cli("audit-join" + nats() + " --format summary").out, cli("audit " + db_ + " --format summary").out);
  const CliRun jsonl = cli("audit-join" + nats() + " --format jsonl", dir_.path("err"));
  EXPECT_EQ(jsonl.exit_code, 2);
  EXPECT_EQ(jsonl.out, "");
  EXPECT_NE(slurp(dir_.path("err")).find("--format jsonl: the plan's workers made summary only"), std::string::npos)
      << slurp(dir_.path("err"));
}

TEST_F(ClusterTest, FollowOnAnEmptyDirectoryReproducesTheLedger) {
  const std::string lines = slurp(dir_.path("m.jsonl"));
  // The first 6000 lines make a ledger of its own, published first; the rest is appended later.
  size_t cut = 0;
  for (int i = 0; i < 6000; ++i) cut = lines.find('\n', cut) + 1;
  std::ofstream(dir_.path("first.jsonl")) << lines.substr(0, cut);
  std::ofstream(dir_.path("rest.jsonl")) << lines.substr(cut);
  const std::string growing = dir_.path("growing");
  ASSERT_EQ(cli("append " + growing + " " + dir_.path("first.jsonl") + " --snapshot-every 1000").exit_code, 0);
  EXPECT_PRED2(starts_with, cli("publish " + growing + nats()).out, "published 6000 records in 6 messages (0 already in the stream), ");
  const std::string replica = dir_.path("replica");
  CliRun followed = cli("follow " + replica + nats());
  ASSERT_EQ(followed.exit_code, 0);
  EXPECT_PRED2(starts_with, followed.out, "followed 6000 records (0 already in the replica), 6 snapshots; hea");

  // The ledger grows; publish resumes after seq 6000 and follow extends the replica.
  ASSERT_EQ(cli("append " + growing + " " + dir_.path("rest.jsonl") + " --snapshot-every 1000").exit_code, 0);
  EXPECT_PRED2(starts_with, cli("publish " + growing + nats()).out, "published 6000 records in 6 messages (6000 already in the stream), ");
  followed = cli("follow " + replica + nats());
  ASSERT_EQ(followed.exit_code, 0);
  EXPECT_PRED2(starts_with, followed.out, "followed 6000 records (6000 already in the replica), 6 snapshots; head");
  // The same records as the ledger made in one append: same head chain, same state, every snapshot checked.
  const std::string expected = verify_line(db_);
  ASSERT_EQ(expected.substr(0, 17), "ok: 12000 records");
  EXPECT_EQ(verify_line(replica), expected);
  // Nothing new: follow appends nothing.
  EXPECT_PRED2(starts_with, cli("follow " + replica + nats()).out, "followed 0 records (12000 already in the replica), 0 ");
}

TEST_F(ClusterTest, WorkerKilledMidSegmentLosesNothing) {
  ASSERT_EQ(cli("publish " + db_ + nats()).exit_code, 0);
  ASSERT_EQ(cli("audit-plan" + nats() + " --segment-events 5000 --ack-wait 1").exit_code, 0);
  // The first worker takes segment 0 (1..5000) and stops at seq 2500; it is killed there.
  const pid_t stalled = stalled_worker(2500, dir_.path("stalled.err"));
  ASSERT_GT(stalled, 0);
  ::kill(stalled, SIGKILL);
  EXPECT_EQ(testing::wait_exit(stalled), -1);
  // Before the ack wait runs out, segment 0 has no result; a second worker redoes it.
  expect_pending_then_redone();
}

TEST_F(ClusterTest, ServerGoneMidSegmentIsAnErrorAndNothingPartialJoins) {
  ASSERT_EQ(cli("publish " + db_ + nats()).exit_code, 0);
  ASSERT_EQ(cli("audit-plan" + nats() + " --segment-events 5000 --ack-wait 1").exit_code, 0);
  const std::string err = dir_.path("worker.err");
  const pid_t worker = stalled_worker(2500, err);
  ASSERT_GT(worker, 0);
  // The server dies while the worker is inside segment 0; the worker goes on
  // and must fail on its next request (no reconnect), storing no result.
  const std::string old_url = server_.url();
  server_.stop();
  ::kill(worker, SIGCONT);
  EXPECT_EQ(testing::wait_exit(worker), 3) << slurp(err);
  EXPECT_NE(slurp(err).find(old_url), std::string::npos) << slurp(err);
  EXPECT_EQ(slurp(err).find("segment 0 done"), std::string::npos) << slurp(err);
  // The same store, restarted: segment 0 has no result; a new worker redoes it.
  server_.start();
  ASSERT_TRUE(server_.running());
  expect_pending_then_redone();
}

// Copies stream S to stream `to`: record message m of S becomes the messages
// edit_message(m, data) returns (none to drop it, two to repeat it), each
// snapshot goes through edit_snapshot(seq, &hash, &payload) (the ledger's
// payload: the event counts, then the state encoding).
using MessageEdit = std::function<std::vector<std::string>(uint64_t m, const std::string& data)>;
using SnapshotEdit = std::function<void(uint64_t seq, Hash* hash, std::string* payload)>;
void copy_stream(cluster::JetStream& js, const std::string& to_name, const MessageEdit& edit_message,
                 const SnapshotEdit& edit_snapshot = {}) {
  const auto from = cluster::StreamNames::of("S"), to = cluster::StreamNames::of(to_name);
  ASSERT_TRUE(js.ensure_stream(to.records, {to.records_subject()}, false).is_ok());
  ASSERT_TRUE(js.ensure_stream(to.snapshots, {to.snapshots + ".>"}, false).is_ok());
  uint64_t last = 0;
  ASSERT_TRUE(js.last_seq(from.records, &last).is_ok());
  for (uint64_t m = 1; m <= last; ++m) {
    cluster::StoredMsg msg;
    ASSERT_TRUE(js.get(from.records, m, &msg).is_ok());
    for (const std::string& data : edit_message(m, msg.data)) {
      ASSERT_TRUE(js.publish(to.records_subject(), data, "").is_ok());
    }
  }
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(cluster::snapshot_index(js, from, &seqs).is_ok());
  for (uint64_t seq : seqs) {
    Hash hash{};
    std::string payload;
    ASSERT_TRUE(cluster::read_snapshot(js, from, seq, &hash, &payload).is_ok());
    if (edit_snapshot) edit_snapshot(seq, &hash, &payload);
    ASSERT_TRUE(js.put_blob(to.snapshots, to.snapshot_prefix(seq),
                            std::string(reinterpret_cast<const char*>(hash.data()), 32) + payload).is_ok());
  }
  ASSERT_TRUE(js.put_blob(to.snapshots, to.snapshot_index(), nlohmann::json(seqs).dump()).is_ok());
}

// Stream T gets the records of stream S with record 5555's event replaced by
// record 5554's (a well-formed event, so only the chain can tell).
void copy_with_tampered_record(cluster::JetStream& js) {
  std::string previous_event;
  copy_stream(js, "T", [&](uint64_t m, const std::string& data) {
    cluster::RecordBatch batch;
    EXPECT_TRUE(cluster::decode_batch(data, m, &batch).is_ok());
    std::string out, value;
    AlignedScratch scratch;
    for (size_t i = 0; i < batch.values.size(); ++i) {
      LogRecord record;
      EXPECT_TRUE(decode_record_value(batch.first + i, batch.values[i], &scratch, &record).is_ok());
      const std::string event(reinterpret_cast<const char*>(record.event_bytes.data()), record.event_bytes.size());
      const std::string& stored = record.seq == 5555 ? previous_event : event;
      cluster::encode_record_value(record.seq, std::span(reinterpret_cast<const uint8_t*>(stored.data()), stored.size()),
                                   record.chain, &value);
      cluster::append_to_batch(&out, record.seq, value);
      previous_event = event;
    }
    cluster::finish_batch(&out);
    return std::vector<std::string>{out};
  });
}

TEST_F(ClusterTest, TamperedMessageInTheStreamIsCaughtByTheChain) {
  ASSERT_EQ(cli("publish " + db_ + nats()).exit_code, 0);
  std::unique_ptr<cluster::JetStream> js;
  ASSERT_TRUE(cluster::JetStream::connect(server_.url(), &js).is_ok());
  copy_with_tampered_record(*js);
  // follow keeps the 5554 good records and names the bad one.
  const std::string replica = dir_.path("replica");
  const CliRun followed = cli("follow " + replica + nats("T"), dir_.path("follow.err"));
  EXPECT_EQ(followed.exit_code, 3);
  EXPECT_NE(slurp(dir_.path("follow.err")).find("record seq 5555: chain hash mismatch"), std::string::npos)
      << slurp(dir_.path("follow.err"));
  EXPECT_PRED2(starts_with, cli("replay " + replica + " --json").out, "{\"seq\":5554,");
  // The split audit: the segment that holds it (5001..6000 with cuts every 1000) fails, the join names it.
  ASSERT_EQ(cli("audit-plan" + nats("T") + " --segment-events 1000").exit_code, 0);
  ASSERT_EQ(cli("audit-worker" + nats("T")).exit_code, 0);
  const CliRun joined = cli("audit-join" + nats("T") + " --format jsonl", dir_.path("join.err"));
  EXPECT_EQ(joined.exit_code, 1);
  EXPECT_EQ(joined.out, "");
  EXPECT_NE(slurp(dir_.path("join.err")).find("segment 5 (seq 5001..6000): record seq 5555: chain hash mismatch"),
            std::string::npos)
      << slurp(dir_.path("join.err"));
}

TEST_F(ClusterTest, PublishResumedAfterAKillHasNoDuplicates) {
  // Killed at once, then after 20 ms, 60 ms: wherever it died, the next run completes the stream.
  for (const char* delay : {"0", "0.02", "0.06"}) {
    const pid_t publisher = testing::spawn(std::string(LIQL_CLI_PATH) + " publish " + db_ + nats() + " >/dev/null 2>&1");
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(std::stod(delay) * 1000)));
    ::kill(publisher, SIGKILL);
    testing::wait_exit(publisher);
  }
  const CliRun resumed = cli("publish " + db_ + nats());
  ASSERT_EQ(resumed.exit_code, 0);
  // Every record once, in order: the messages' record ranges follow each other from 1 to 12000.
  std::unique_ptr<cluster::JetStream> js;
  ASSERT_TRUE(cluster::JetStream::connect(server_.url(), &js).is_ok());
  const auto names = cluster::StreamNames::of("S");
  uint64_t last = 0, next = 1;
  ASSERT_TRUE(js->last_seq(names.records, &last).is_ok());
  for (uint64_t m = 1; m <= last; ++m) {
    cluster::StoredMsg msg;
    ASSERT_TRUE(js->get(names.records, m, &msg).is_ok());
    cluster::RecordBatch batch;
    ASSERT_TRUE(cluster::decode_batch(msg.data, m, &batch).is_ok());
    ASSERT_EQ(batch.first, next) << "message " << m;
    next = batch.last() + 1;
  }
  EXPECT_EQ(next, 12001u);
  const std::string replica = dir_.path("replica");
  ASSERT_EQ(cli("follow " + replica + nats()).exit_code, 0);
  EXPECT_EQ(verify_line(replica), verify_line(db_));
}

// A gap and a duplicate in the records (publish writes messages of 1000
// records: message m holds seqs 1000(m − 1) + 1 .. 1000m), and a forged
// snapshot: the join names the segment and the seq.
TEST_F(ClusterTest, JoinNamesTheSegmentOfAGapADuplicateOrAForgedSnapshot) {
  ASSERT_EQ(cli("publish " + db_ + nats()).exit_code, 0);
  std::unique_ptr<cluster::JetStream> js;
  ASSERT_TRUE(cluster::JetStream::connect(server_.url(), &js).is_ok());
  const auto keep = [](uint64_t, const std::string& data) { return std::vector<std::string>{data}; };
  // U: message 3 (seqs 2001..3000) dropped. V: message 3 published twice.
  copy_stream(*js, "U", [&](uint64_t m, const std::string& data) {
    return m == 3 ? std::vector<std::string>{} : keep(m, data);
  });
  copy_stream(*js, "V", [&](uint64_t m, const std::string& data) {
    return m == 3 ? std::vector<std::string>{data, data} : keep(m, data);
  });
  // W: the snapshot at 6000 holds another state (account 1's first balance + 1
  // base unit), under that state's own hash, so only the join can tell.
  Hash forged{}, genuine{};
  copy_stream(*js, "W", keep, [&](uint64_t seq, Hash* hash, std::string* payload) {
    if (seq != 6000) return;
    genuine = *hash;
    Result<State> state = decode_state(std::string_view(*payload).substr(16));
    ASSERT_TRUE(state.is_ok());
    State changed = std::move(state).value();
    Account& account = changed.accounts.at(changed.order.at(0));
    ASSERT_FALSE(account.balances.empty());
    account.balances.begin()->second += 1;
    *payload = payload->substr(0, 16) + encode_state(changed);
    *hash = forged = state_hash(changed);
  });
  const auto join_error = [&](const std::string& stream, uint64_t segment_events) {
    EXPECT_EQ(cli("audit-plan" + nats(stream) + " --segment-events " + std::to_string(segment_events)).exit_code, 0);
    EXPECT_EQ(cli("audit-worker" + nats(stream)).exit_code, 0);
    const CliRun joined = cli("audit-join" + nats(stream) + " --format jsonl", dir_.path("join.err"));
    EXPECT_EQ(joined.exit_code, 1);
    EXPECT_EQ(joined.out, "");
    return slurp(dir_.path("join.err"));
  };
  // Segments of 2000 events (cut at the snapshots 2000, 4000, …): segment 1
  // (2001..4000) reads from record 2000, in message 2, then finds that the
  // next message does not start at 2001 (U: it starts at 3001) or, after
  // 3000, does not start at 3001 (V: it starts at 2001 again).
  std::string error = join_error("U", 2000);
  EXPECT_NE(error.find("segment 1 (seq 2001..4000): stream U: record seq 2001 missing (a gap)"),
            std::string::npos) << error;
  error = join_error("V", 2000);
  EXPECT_NE(error.find("segment 1 (seq 2001..4000): stream V: record seq 3001 duplicated"), std::string::npos)
      << error;
  // Segments of 1000: segment 6 (6001..7000) starts from the forged snapshot.
  error = join_error("W", 1000);
  EXPECT_NE(error.find("segment 6 (seq 6001..7000): its start snapshot at seq 6000 has state hash " + to_hex(forged) +
                       ", the previous segment ended at " + to_hex(genuine)),
            std::string::npos)
      << error;
}

// The join's second pass writes what its first pass checked: a result that
// changes between the two (here: once segment 0 has been written, segment 2's
// result is overwritten with segment 1's) stops it, naming the segment.
TEST_F(ClusterTest, JoinRefusesAResultChangedBetweenItsTwoPasses) {
  ASSERT_EQ(cli("publish " + db_ + nats()).exit_code, 0);
  const CliRun plan = cli("audit-plan" + nats() + " --segment-events 5000");
  ASSERT_EQ(plan.exit_code, 0);
  ASSERT_EQ(cli("audit-worker" + nats()).exit_code, 0);
  const std::string plan_id = plan.out.substr(5, plan.out.find(':') - 5);  // "plan ID: 3 segments …"
  std::unique_ptr<cluster::JetStream> js;
  ASSERT_TRUE(cluster::JetStream::connect(server_.url(), &js).is_ok());
  const auto names = cluster::StreamNames::of("S");
  const std::string segment = names.results + "." + plan_id + ".";
  std::string written;
  const cluster::JoinWriter write = [&](std::string_view piece) {
    if (written.empty()) {
      std::string result_1;
      EXPECT_TRUE(js->read_blob(names.results, segment + "1", &result_1).is_ok());
      EXPECT_TRUE(js->put_blob(names.results, segment + "2", result_1).is_ok());
    }
    written += piece;
    return true;
  };
  size_t segments = 9;
  std::string problem;
  ASSERT_TRUE(cluster::join_audit(*js, names, "jsonl", write, &segments, &problem).is_ok());
  EXPECT_EQ(problem, "segment 2 (seq 10001..12000): its result changed while the join was reading (the output is incomplete)");
  EXPECT_EQ(segments, 0U);
  // Segments 0 and 1, as the single audit prints them: its first records.
  const std::string single = cli("audit " + db_ + " --format jsonl").out;
  EXPECT_FALSE(written.empty());
  EXPECT_LT(written.size(), single.size());
  EXPECT_EQ(single.compare(0, written.size(), written), 0);
  // The first pass now sees segment 2's result as segment 1's: nothing is written.
  written = "x";
  ASSERT_TRUE(cluster::join_audit(*js, names, "jsonl", write, &segments, &problem).is_ok());
  EXPECT_NE(problem.find("segment 2 (seq 10001..12000): the result is that of another segment"), std::string::npos)
      << problem;
  EXPECT_EQ(written, "x");
}

TEST_F(ClusterTest, MissingStreamOrServerIsAClearError) {
  const std::string err = dir_.path("err");
  CliRun run = cli("follow " + dir_.path("replica") + nats("NOPE"), err);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(slurp(err).find("the stream does not exist on " + server_.url()), std::string::npos) << slurp(err);
  run = cli("audit-join" + nats("NOPE"), err);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(slurp(err).find("run audit-plan first"), std::string::npos) << slurp(err);
  run = cli("audit-worker" + nats("NOPE"), err);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(slurp(err).find("run audit-plan first"), std::string::npos) << slurp(err);
  run = cli("publish " + db_ + nats("a.b"), err);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(slurp(err).find("--stream 'a.b': only letters, digits"), std::string::npos) << slurp(err);
  // The server is gone.
  const std::string url = server_.url();
  server_.stop();
  run = cli("publish " + db_ + " --nats " + url + " --stream S", err);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(slurp(err).find("cannot connect to the NATS server at " + url), std::string::npos) << slurp(err);
  run = cli("audit-join --nats " + url + " --stream S", err);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.out, "");
}

}  // namespace
}  // namespace liql
