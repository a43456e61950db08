// Durability and readers (SPEC §6.2): a writer process killed with SIGKILL at
// random points never loses an acknowledged append, and the chain verifies
// after every crash; a reader process replays while a writer appends.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "replay/replay.h"
#include "tests/test_dirs.h"

namespace liql {
namespace {

const char* kGenesis =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"})";

// A shell loop that appends one deposit per `liqledger append` process and
// prints each acknowledgement ("appended 1 events, head seq S").
class Writer {
 public:
  Writer(const std::string& db, bool sync) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    const std::string script =
        "while :; do printf '%s\\n' '{\"type\":\"deposit\",\"ts\":1,\"account\":1,\"asset\":0,\"amount\":\"1\"}' | " +
        std::string(LIQL_CLI_PATH) + " append " + db + " - --snapshot-every 7" + (sync ? " --sync" : "") +
        " || exit 1; done";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);  // its own group, so one kill reaches the shell and the CLI
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    ::close(fds[1]);
    fd_ = fds[0];
  }

  // Reads acknowledgements for `duration`; returns the highest acknowledged seq.
  uint64_t read_acks(std::chrono::milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) continue;
      char buffer[512];
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0) break;
      pending_.append(buffer, static_cast<size_t>(n));
      take_lines();
    }
    return acked_;
  }

  ~Writer() {
    if (pid_ > 0) kill_now();
  }

  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    // Whatever the CLI printed before dying was acknowledged: read it all.
    char buffer[512];
    ssize_t n = 0;
    while ((n = ::read(fd_, buffer, sizeof buffer)) > 0) pending_.append(buffer, static_cast<size_t>(n));
    take_lines();
    ::close(fd_);
    pid_ = -1;
  }

  // Reads until an append beyond `seq` is acknowledged, or `limit` passes. A
  // slow build (sanitizers, a loaded machine) may take longer than a whole
  // kill window to start the CLI and open the log; this keeps every round
  // doing real work there.
  void wait_for_ack_beyond(uint64_t seq, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (acked_ <= seq && std::chrono::steady_clock::now() < deadline) read_acks(std::chrono::milliseconds(50));
  }

  uint64_t acked() const { return acked_; }

 private:
  void take_lines() {
    size_t end = 0;
    while ((end = pending_.find('\n')) != std::string::npos) {
      const std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      const size_t at = line.rfind("head seq ");
      if (at != std::string::npos) acked_ = std::max<uint64_t>(acked_, std::stoull(line.substr(at + 9)));
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string pending_;
  uint64_t acked_ = 0;
};

void append_genesis(const std::string& db) {
  std::unique_ptr<Ledger> ledger;
  ASSERT_TRUE(Ledger::open(db, LedgerOptions{}, &ledger).is_ok());
  AppendResult result;
  InputError error;
  ASSERT_TRUE(append_jsonl(*ledger, kGenesis, &result, &error).is_ok());
}

// splitmix64: a fixed sequence of kill points, the same on every run.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

TEST(Durability, SigkilledWriterNeverLosesAnAcknowledgedAppend) {
  testing::ScratchDir dir;
  const std::string db = dir.path("db");
  append_genesis(db);
  uint64_t random = 42;
  uint64_t total_acked = 0;
  uint64_t head = 1;  // genesis
  constexpr int kRounds = 16;
  for (int round = 0; round < kRounds; ++round) {
    Writer writer(db, /*sync=*/round % 2 == 1);
    writer.wait_for_ack_beyond(head, std::chrono::seconds(60));
    writer.read_acks(std::chrono::milliseconds(200 + next_random(random) % 800));
    writer.kill_now();
    // Re-open as the next writer would (WAL recovery), then check everything.
    std::unique_ptr<Ledger> ledger;
    ASSERT_TRUE(Ledger::open(db, LedgerOptions{}, &ledger).is_ok()) << "round " << round;
    EXPECT_GE(ledger->head().seq, writer.acked()) << "round " << round << ": an acknowledged append was lost";
    VerifyReport report;
    const Status verified = verify(*ledger, &report);
    ASSERT_TRUE(verified.is_ok()) << "round " << round << ": " << verified.to_string();
    EXPECT_EQ(report.records, ledger->head().seq);
    // Every deposit that made it is in the state: 1 USDC each.
    Machine machine;
    ReplayCounts counts;
    ASSERT_TRUE(load_state(*ledger, kHeadSeq, &machine, &counts).is_ok());
    const Account* account = machine.state().account(1);
    const uint64_t deposits = ledger->head().seq - 1;
    EXPECT_EQ(account == nullptr ? Int(0) : account->balance(kQuoteAsset), Int(deposits) * 1'000'000);
    total_acked = std::max(total_acked, writer.acked());
    head = ledger->head().seq;
  }
  // The rounds did real work: every round had appends acknowledged before its kill.
  EXPECT_GE(total_acked, 1u + kRounds);  // about 3 appends per round on average
}

// Each reader sees a verified prefix of the log: every record up to its head,
// chain intact, even while another process appends. (Two readers opened one
// after the other may see different prefixes: each sees the log as of its
// open.) Once the writer stops, a reader sees every acknowledged append.
TEST(Readers, ReaderReplaysWhileAWriterAppends) {
  testing::ScratchDir dir;
  const std::string db = dir.path("db");
  append_genesis(db);
  Writer writer(db, false);
  uint64_t most_seen = 0;
  LedgerOptions options;
  options.read_only = true;
  for (int i = 0; i < 20; ++i) {
    writer.read_acks(std::chrono::milliseconds(40));
    std::unique_ptr<Ledger> reader;
    const Status opened = Ledger::open(db, options, &reader);
    ASSERT_TRUE(opened.is_ok()) << opened.to_string();
    VerifyReport report;
    const Status verified = verify(*reader, &report);
    ASSERT_TRUE(verified.is_ok()) << verified.to_string();
    EXPECT_EQ(report.records, reader->head().seq);
    most_seen = std::max(most_seen, report.records);
  }
  writer.kill_now();
  EXPECT_GT(most_seen, 1u);  // readers saw appends made after they started
  std::unique_ptr<Ledger> reader;
  ASSERT_TRUE(Ledger::open(db, options, &reader).is_ok());
  EXPECT_GE(reader->head().seq, writer.acked());
}

}  // namespace
}  // namespace liql
