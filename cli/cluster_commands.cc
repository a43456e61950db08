// The cluster subcommands: parse flags, call cluster/, print. Exit codes as
// for every command: 0 ok; 1 a check failed (audit-join: a segment that does
// not join, a gap, a duplicate, a record that fails the chain); 2 usage or bad
// input; 3 data, I/O or the connection (no server, a missing stream, a server
// gone mid-run).

#include "cli/cluster_commands.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include "cluster/jetstream.h"
#include "cluster/mirror.h"
#include "cluster/split_audit.h"
#include "ledger/ledger.h"

namespace liql {
namespace {

constexpr int kExitCheckFailed = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitDataOrIo = 3;
constexpr uint64_t kProgressEvery = 1'000'000;

int report_failure(const std::string& command, const Status& status) {
  std::fprintf(stderr, "liqledger %s: %s\n", command.c_str(), status.to_string().c_str());
  return status.code() == Status::Code::InvalidArgument ? kExitBadInput : kExitDataOrIo;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Checks the stream name and connects; a failure has been reported.
std::optional<int> connect(const std::string& command, const std::string& url, const std::string& stream,
                           std::unique_ptr<cluster::JetStream>* js) {
  if (Status s = cluster::check_stream_name(stream); !s.is_ok()) return report_failure(command, s);
  if (Status s = cluster::JetStream::connect(url, js); !s.is_ok()) return report_failure(command, s);
  return std::nullopt;
}

}  // namespace

struct ClusterCommands::Flags {
  std::string db, url, stream, format = "jsonl";
  uint64_t segment_events = 200'000;
  std::vector<std::string> formats{"jsonl", "csv", "summary"};
  double ack_wait_s = 30;
  uint64_t max_segments = 0;
  uint64_t stall_at = 0;
  CLI::App* publish = nullptr;
  CLI::App* follow = nullptr;
  CLI::App* plan = nullptr;
  CLI::App* worker = nullptr;
  CLI::App* join = nullptr;
};

ClusterCommands::ClusterCommands(CLI::App& app) : flags_(std::make_unique<Flags>()) {
  Flags& f = *flags_;
  auto common = [&](CLI::App* sub) {
    sub->add_option("--nats", f.url, "NATS server URL, e.g. nats://127.0.0.1:4222")->required();
    sub->add_option("--stream", f.stream, "stream name (letters, digits, '-', '_'; docs/SCALE.md)")->required();
  };
  f.publish = app.add_subcommand(
      "publish", "mirror the ledger's records and snapshots to a NATS JetStream stream (resumable, idempotent)");
  f.publish->add_option("DB", f.db, "ledger directory")->required();
  common(f.publish);
  f.follow = app.add_subcommand("follow", "build or extend a local replica from the stream, verifying the chain");
  f.follow->add_option("DB", f.db, "replica directory (created if missing)")->required();
  common(f.follow);
  f.plan = app.add_subcommand("audit-plan", "cut the streamed log at its snapshots into segments and queue them");
  common(f.plan);
  f.plan->add_option("--segment-events", f.segment_events, "events per segment, at least (whole snapshot intervals)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  f.plan->add_option("--formats", f.formats, "what the workers make, what audit-join can print (jsonl,csv,summary)")
      ->delimiter(',')
      ->check(CLI::IsMember({"jsonl", "csv", "summary"}))
      ->capture_default_str();
  f.plan->add_option("--ack-wait", f.ack_wait_s, "seconds before a segment a worker holds is given to another")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  f.worker = app.add_subcommand(
      "audit-worker", "audit queued segments, each from its start snapshot, and publish the results, until none is left");
  common(f.worker);
  f.worker->add_option("--max-segments", f.max_segments, "stop after this many segments (0: until the queue is empty)");
  f.worker->add_option("--test-stall-at", f.stall_at, "tests: stop (SIGSTOP) on reaching this seq")->group("");
  f.join = app.add_subcommand(
      "audit-join", "check that the segments' results join up, then print the whole audit (as audit DB prints it)");
  common(f.join);
  f.join->add_option("--format", f.format, "jsonl, csv or summary")->check(CLI::IsMember({"jsonl", "csv", "summary"}));
}

ClusterCommands::~ClusterCommands() = default;

namespace {

using Clock = std::chrono::steady_clock;

int run_publish(const ClusterCommands::Flags& f, const cluster::StreamNames& names, Clock::time_point start) {
  std::unique_ptr<cluster::JetStream> js;
  LedgerOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  std::unique_ptr<Ledger> ledger;
  if (Status s = Ledger::open(f.db, options, &ledger); !s.is_ok()) return report_failure("publish", s);
  if (auto code = connect("publish", f.url, f.stream, &js)) return *code;
  cluster::PublishReport report;
  if (Status s = cluster::publish_ledger(*ledger, *js, names, &report, kProgressEvery); !s.is_ok()) {
    return report_failure("publish", s);
  }
  std::printf("published %llu records in %llu messages (%llu already in the stream), %llu snapshots; "
              "stream %s head seq %llu chain %s\n",
              static_cast<unsigned long long>(report.published), static_cast<unsigned long long>(report.messages),
              static_cast<unsigned long long>(report.already), static_cast<unsigned long long>(report.snapshots),
              f.stream.c_str(), static_cast<unsigned long long>(report.head.seq), to_hex(report.head.chain).c_str());
  std::fprintf(stderr, "publish: %.3f s\n", seconds_since(start));
  return 0;
}

int run_follow(const ClusterCommands::Flags& f, const cluster::StreamNames& names, Clock::time_point start) {
  std::unique_ptr<cluster::JetStream> js;
  if (auto code = connect("follow", f.url, f.stream, &js)) return *code;
  std::unique_ptr<Ledger> replica;
  if (Status s = Ledger::open(f.db, LedgerOptions{}, &replica); !s.is_ok()) return report_failure("follow", s);
  cluster::FollowReport report;
  if (Status s = cluster::follow_stream(*js, names, *replica, &report, kProgressEvery); !s.is_ok()) {
    std::fprintf(stderr, "liqledger follow: the replica keeps the %llu verified records before the failure\n",
                 static_cast<unsigned long long>(replica->head().seq));
    return report_failure("follow", s);
  }
  std::printf("followed %llu records (%llu already in the replica), %llu snapshots; head seq %llu chain %s\n",
              static_cast<unsigned long long>(report.appended), static_cast<unsigned long long>(report.already),
              static_cast<unsigned long long>(report.snapshots), static_cast<unsigned long long>(report.head.seq),
              to_hex(report.head.chain).c_str());
  std::fprintf(stderr, "follow: %.3f s\n", seconds_since(start));
  return 0;
}

int run_plan(const ClusterCommands::Flags& f, const cluster::StreamNames& names, Clock::time_point) {
  std::unique_ptr<cluster::JetStream> js;
  if (auto code = connect("audit-plan", f.url, f.stream, &js)) return *code;
  cluster::Plan plan;
  const auto ack_wait_ms = static_cast<int64_t>(f.ack_wait_s * 1000);
  if (Status s = cluster::make_plan(*js, names, f.segment_events, ack_wait_ms, f.formats, &plan); !s.is_ok()) {
    return report_failure("audit-plan", s);
  }
  std::printf("plan %s: %zu segments over seq 1..%llu (head chain %s)\n", plan.id.c_str(), plan.segments.size(),
              static_cast<unsigned long long>(plan.head_seq), to_hex(plan.head_chain).c_str());
  return 0;
}

int run_worker(const ClusterCommands::Flags& f, const cluster::StreamNames& names, Clock::time_point start) {
  std::unique_ptr<cluster::JetStream> js;
  if (auto code = connect("audit-worker", f.url, f.stream, &js)) return *code;
  cluster::WorkerOptions options;
  options.max_segments = f.max_segments;
  options.stall_at = f.stall_at;
  cluster::WorkerReport report;
  if (Status s = cluster::run_worker(*js, names, options, &report); !s.is_ok()) return report_failure("audit-worker", s);
  std::fprintf(stderr, "audit-worker: %llu segments, %llu events in %.3f s\n",
               static_cast<unsigned long long>(report.segments), static_cast<unsigned long long>(report.events),
               seconds_since(start));
  return 0;
}

int run_join(const ClusterCommands::Flags& f, const cluster::StreamNames& names, Clock::time_point start) {
  std::unique_ptr<cluster::JetStream> js;
  if (auto code = connect("audit-join", f.url, f.stream, &js)) return *code;
  std::string problem;
  size_t segments = 0;
  bool wrote = false;
  const auto write = [&wrote](std::string_view piece) {
    wrote = true;
    return std::fwrite(piece.data(), 1, piece.size(), stdout) == piece.size();
  };
  if (Status s = cluster::join_audit(*js, names, f.format, write, &segments, &problem); !s.is_ok()) {
    return report_failure("audit-join", s);
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "liqledger audit-join: cannot write to stdout\n");
    return kExitDataOrIo;
  }
  if (!problem.empty()) {
    std::fprintf(stderr, "liqledger audit-join: %s%s\n", problem.c_str(), wrote ? "" : " (no audit printed)");
    return kExitCheckFailed;
  }
  std::fprintf(stderr, "audit-join: %zu segments joined in %.3f s\n", segments, seconds_since(start));
  return 0;
}

}  // namespace

std::optional<int> ClusterCommands::run() {
  using Run = int (*)(const Flags&, const cluster::StreamNames&, Clock::time_point);
  const Flags& f = *flags_;
  const std::pair<const CLI::App*, Run> commands[] = {
      {f.publish, run_publish}, {f.follow, run_follow}, {f.plan, run_plan}, {f.worker, run_worker}, {f.join, run_join}};
  for (const auto& [command, run] : commands) {
    if (command->parsed()) return run(f, cluster::StreamNames::of(f.stream), Clock::now());
  }
  return std::nullopt;
}

}  // namespace liql
