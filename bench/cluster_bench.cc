// liqledger_bench_cluster: the ledger's append against publish and follow
// through NATS JetStream (docs/SCALE.md, docs/PERFORMANCE.md).
//
//   liqledger_bench_cluster --db LEDGER --nats URL --dir DIR [--repeat R]
//
// In one process, R times each, on fresh directories and streams:
//   1. the Event buffers of LEDGER's records read into memory (not timed);
//   2. append: Ledger::append of them in batches of 1000 into a fresh ledger
//      (the records only: no snapshots), the ledger's own append rate;
//   3. publish: cluster::publish_ledger of that ledger to a fresh stream (its
//      records, read back and verified, in batches of up to 1000);
//   4. follow: cluster::follow_stream of that stream into a fresh replica
//      (every record verified, chained and appended), its head checked.
// Prints events/s and the ratios to the append of the same run (medians).

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>
#include <algorithm>
#include <limits>

#include "cluster/jetstream.h"
#include "cluster/mirror.h"
#include "ledger/ledger.h"

namespace {

using namespace liql;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "liqledger_bench_cluster: %s: %s\n", what.c_str(), s.to_string().c_str());
  std::exit(1);
}

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, url, dir;
  int repeat = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--db") db = argv[i + 1];
    else if (flag == "--nats") url = argv[i + 1];
    else if (flag == "--dir") dir = argv[i + 1];
    else if (flag == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
  }
  if (db.empty() || url.empty() || dir.empty()) {
    std::fprintf(stderr, "usage: liqledger_bench_cluster --db LEDGER --nats URL --dir DIR [--repeat R]\n");
    return 2;
  }
  LedgerOptions read_only;
  read_only.read_only = true;
  read_only.create_if_missing = false;
  std::unique_ptr<Ledger> source;
  if (Status s = Ledger::open(db, read_only, &source); !s.is_ok()) die("opening " + db, s);
  std::vector<std::string> events;
  {
    std::unique_ptr<LogReader> reader = source->read(1, std::numeric_limits<uint64_t>::max());
    LogRecord record;
    while (reader->next(&record)) events.emplace_back(reinterpret_cast<const char*>(record.event_bytes.data()), record.event_bytes.size());
    if (!reader->status().is_ok()) die("reading " + db, reader->status());
  }
  const Head expected = source->head();
  source.reset();
  const double n = static_cast<double>(events.size());
  std::fprintf(stderr, "bench_cluster: %zu events read\n", events.size());
  std::unique_ptr<cluster::JetStream> js;
  if (Status s = cluster::JetStream::connect(url, &js, 60'000); !s.is_ok()) die("connecting", s);

  std::vector<double> append_s, publish_s, follow_s;
  for (int run = 0; run < repeat; ++run) {
    const std::string copy = dir + "/append-" + std::to_string(run), replica = dir + "/follow-" + std::to_string(run);
    std::filesystem::remove_all(copy);
    std::filesystem::remove_all(replica);
    std::filesystem::create_directories(dir);
    std::unique_ptr<Ledger> ledger;
    if (Status s = Ledger::open(copy, LedgerOptions{}, &ledger); !s.is_ok()) die("opening " + copy, s);
    auto start = Clock::now();
    for (size_t at = 0; at < events.size(); at += 1000) {
      const size_t count = std::min<size_t>(1000, events.size() - at);
      Head head;
      size_t failed = 0;
      if (Status s = ledger->append(std::span(events).subspan(at, count), &head, &failed); !s.is_ok()) die("append", s);
    }
    append_s.push_back(seconds(start));
    if (ledger->head().chain != expected.chain) die("append", Status::corruption("the copy's head chain differs"));

    const cluster::StreamNames names = cluster::StreamNames::of("BENCH" + std::to_string(run));
    if (Status s = js->delete_stream(names.records); !s.is_ok()) die("delete stream", s);
    if (Status s = js->delete_stream(names.snapshots); !s.is_ok()) die("delete stream", s);
    cluster::PublishReport published;
    start = Clock::now();
    if (Status s = cluster::publish_ledger(*ledger, *js, names, &published, 0); !s.is_ok()) die("publish", s);
    publish_s.push_back(seconds(start));
    ledger.reset();

    std::unique_ptr<Ledger> follower;
    if (Status s = Ledger::open(replica, LedgerOptions{}, &follower); !s.is_ok()) die("opening " + replica, s);
    cluster::FollowReport followed;
    start = Clock::now();
    if (Status s = cluster::follow_stream(*js, names, *follower, &followed, 0); !s.is_ok()) die("follow", s);
    follow_s.push_back(seconds(start));
    if (followed.head.chain != expected.chain) die("follow", Status::corruption("the replica's head chain differs"));
    follower.reset();
    std::filesystem::remove_all(copy);
    std::filesystem::remove_all(replica);
    (void)js->delete_stream(names.records);
    (void)js->delete_stream(names.snapshots);
    std::fprintf(stderr, "bench_cluster: run %d: append %.3f s, publish %.3f s, follow %.3f s\n", run + 1,
                 append_s.back(), publish_s.back(), follow_s.back());
  }
  const double a = median(append_s), p = median(publish_s), f = median(follow_s);
  std::printf("| %.0f events, medians of %d | wall s | events/s | ÷ append |\n|---|---:|---:|---:|\n", n, repeat);
  std::printf("| append (Ledger::append, batches of 1000) | %.3f | %.0f | 1 |\n", a, n / a);
  std::printf("| publish (to JetStream, batches of ≤ 1000) | %.3f | %.0f | **%.3f** |\n", p, n / p, a / p);
  std::printf("| follow (from JetStream, verified, appended) | %.3f | %.0f | **%.3f** |\n", f, n / f, a / f);
  std::printf("targets: publish ÷ append ≥ 0.5: %s; follow ÷ append ≥ 0.5: %s\n", a / p >= 0.5 ? "met" : "NOT met",
              a / f >= 0.5 ? "met" : "NOT met");
  return 0;
}
