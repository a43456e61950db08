// liqledger_bench_run: the whole-run benchmark (docs/PERFORMANCE.md).
//
//   liqledger_bench_run --accounts N --events M [--batch B] [--dir DIR] [--seed S] [--crash PCT]
//                       [--repeat R] [--audit-budget SECONDS] [--jsonl FILE] [--keep]
//
// --repeat: appends, scans and replays are measured R times, the median is
// reported. --audit-budget: the audited replay stops after about that long
// (0: no limit).
// --jsonl: the market is read from a file `liqledger generate` wrote (same
// lines as the in-memory generator with the same options) instead of generated.
//
// In one process, one phase after the other, on fresh RocksDB directories:
//   1. generate the synthetic market in memory (tools/generate.h) and import
//      it into Event buffers (replay/jsonl_import.h); not part of any ratio;
//   2. append, raw: RocksDB WriteBatch puts of the very record values the
//      ledger writes (same 8-byte big-endian keys, same column families, same
//      rocksdb::Options, same batch size, no sync); the values are built
//      outside the timed region, batch by batch;
//   3. append, ledger: Ledger::append in batches of the same size (verify,
//      genesis/ts rules, chain, record encoding, the head in meta);
//   then the log is flushed to SST files (a reopened database, as after any
//   restart) and, reading it through a secondary instance like every reader:
//   4. scan, raw: an iterator over the events column family, checksums
//      verified as the ledger's reader does;
//   5. read, ledger: LogReader (FlatBuffers verifier, structural check, chain),
//      which for a range this long works a batch ahead on its own thread;
//   6. replay: liql::replay from genesis (that read, overlapped with
//      Machine::apply on the calling thread);
//   6b. risk: `liqledger risk --format json` on the head (a replay from
//      genesis, then the pass over every account with each JSON line
//      formatted, not printed), against the plain replay;
//   7. replay + audit: replay with a visitor that builds the audit record of
//      every liquidation event, state hash included (EventView::hash), as
//      `liqledger audit` does (without printing); the time spent in the state
//      hashes is measured too, and the rate without them printed;
//   7b. replay + trace: the trace line of every event, state hash included,
//      as `liqledger replay --trace` builds it (without printing), and the
//      memory of the commitment's tree at the end;
//   7c. whatif: `liqledger whatif` with partial, full and close_factor:0.5:0.95
//      and an impact of depth 10^4 quote units per account per 1 % everywhere
//      (recovering 0.5 points a second), one read
//      of the log for the three variants (its ratio column is against the plain
//      replay, and the time is printed as a multiple of it);
//   8. recovery: the newest snapshot restored and the events after it
//      replayed. The snapshot is written during the first replay, at the last
//      multiple of 50 000 (the default interval of `liqledger append`) before
//      the head, so a whole interval is left to replay: the worst case.
// Prints a table (events/s, MB/s of key + value bytes, ledger ÷ raw), the peak
// memory and the targets. Progress goes to stderr. Exit status 0 unless a
// phase failed; no target turns into a failure (timings are not assertions).

#include <malloc.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "replay/audit.h"
#include "replay/jsonl_import.h"
#include "replay/replay.h"
#include "replay/risk.h"
#include "replay/whatif.h"
#include "schemas/event_types.h"
#include "tools/generate.h"

namespace liql {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the whole process: every thread of a phase (the replay's
// read-ahead thread, RocksDB's background flushes), without the time other
// processes took. Nothing else runs in this process while a phase is timed.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec / 1e9;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "liqledger_bench_run: %s\n", message.c_str());
  std::exit(1);
}

void check(const Status& status, const char* what) {
  if (!status.is_ok()) die(std::string(what) + ": " + status.to_string());
}

void check(const rocksdb::Status& status, const char* what) {
  if (!status.ok()) die(std::string(what) + ": " + status.ToString());
}

struct Flags {
  uint64_t accounts = 10'000;
  uint64_t events = 0;  // 0: 20 × accounts
  uint64_t batch = 100;
  uint64_t seed = 42;
  uint32_t crash_pct = 40;
  std::string dir = "bench-data";
  std::string jsonl;  // read the market from this file instead of generating it
  uint64_t repeat = 1;          // appends and reads measured this many times; the median is reported
  uint64_t audit_budget_s = 0;  // 0: no limit; else the audited replay stops after about this long
  bool keep = false;
};

Flags parse_flags(int argc, char** argv) {
  Flags flags;
  bench::FlagParser parser("liqledger_bench_run",
                           "--accounts N --events M --batch B --dir DIR [--seed S] [--crash PCT] [--repeat R]"
                           " [--audit-budget SECONDS] [--jsonl FILE] [--keep]");
  parser.toggle("--keep", &flags.keep)
      .number("--accounts", &flags.accounts)
      .number("--events", &flags.events)
      .number("--batch", &flags.batch)
      .number("--seed", &flags.seed)
      .number("--crash", &flags.crash_pct)
      .text("--dir", &flags.dir)
      .number("--repeat", &flags.repeat)
      .text("--jsonl", &flags.jsonl)
      .number("--audit-budget", &flags.audit_budget_s);
  parser.parse(argc, argv);
  if (flags.events == 0) flags.events = 20 * flags.accounts;
  if (flags.batch == 0) die("--batch must be at least 1");
  if (flags.repeat == 0) die("--repeat must be at least 1");
  return flags;
}

// ---- memory ----------------------------------------------------------------------------

// A field of /proc/self/status in bytes (VmRSS, VmHWM), 0 when unreadable.
uint64_t proc_status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtoull(line.c_str() + prefix.size(), nullptr, 10) * 1024;
  }
  return 0;
}

// Resets VmHWM to the current RSS (Linux ≥ 4.0), so the next phase's peak can be read.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

uint64_t max_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

// ---- RocksDB, exactly as ledger/ledger.cc opens it ---------------------------------------

rocksdb::Options ledger_db_options() {
  rocksdb::Options options;  // Ledger::open: defaults plus these four
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.atomic_flush = true;
  options.avoid_flush_during_recovery = true;
  return options;
}

std::vector<rocksdb::ColumnFamilyDescriptor> ledger_families() {
  return {{rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
          {"events", rocksdb::ColumnFamilyOptions()},
          {"snapshots", rocksdb::ColumnFamilyOptions()},
          {"meta", rocksdb::ColumnFamilyOptions()}};
}

class RawDb {
 public:
  // Primary (writer) or, like every ledger reader, a secondary instance.
  RawDb(const std::string& path, bool secondary) {
    rocksdb::Options options = ledger_db_options();
    rocksdb::DB* raw = nullptr;
    rocksdb::Status status;
    if (secondary) {
      options.create_if_missing = false;
      options.create_missing_column_families = false;
      options.max_open_files = -1;
      secondary_dir_ = path + ".secondary";
      std::filesystem::remove_all(secondary_dir_);
      std::filesystem::create_directories(secondary_dir_);
      status = rocksdb::DB::OpenAsSecondary(options, path, secondary_dir_, ledger_families(), &handles_, &raw);
    } else {
      status = rocksdb::DB::Open(options, path, ledger_families(), &handles_, &raw);
    }
    check(status, "opening raw RocksDB");
    db_.reset(raw);
  }
  ~RawDb() {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    db_.reset();
    if (!secondary_dir_.empty()) std::filesystem::remove_all(secondary_dir_);
  }
  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* events() { return handles_[1]; }
  // Every memtable to SST files, all families at once (atomic_flush).
  void flush() {
    rocksdb::FlushOptions options;
    options.wait = true;
    check(db_->Flush(options, handles_), "flushing");
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::string secondary_dir_;
};

// The record value Ledger::append writes for one event (ledger/ledger.cc encode_record).
void encode_record(flatbuffers::FlatBufferBuilder& builder, uint64_t seq, std::string_view event, const Hash& chain) {
  builder.Clear();
  builder.ForceVectorAlignment(event.size(), 1, 8);  // the nested Event starts 8-aligned
  auto event_offset = builder.CreateVector(reinterpret_cast<const uint8_t*>(event.data()), event.size());
  auto chain_offset = builder.CreateVector(chain.data(), chain.size());
  fb::FinishRecordBuffer(builder, fb::CreateRecord(builder, seq, event_offset, chain_offset));
}

// ---- results --------------------------------------------------------------------------

struct Sample {
  double seconds = 0;      // wall clock
  double cpu_seconds = 0;  // the process's CPU time, all threads
};

struct Row {
  explicit Row(std::string name = {}) : phase(std::move(name)) {}
  std::string phase;
  uint64_t events = 0;
  uint64_t bytes = 0;  // key + value bytes of the events column family
  std::vector<Sample> samples;
  const Row* baseline = nullptr;  // the raw row this one is compared with

  // The sample with the median wall time.
  Sample median() const {
    std::vector<Sample> sorted = samples;
    std::sort(sorted.begin(), sorted.end(), [](const Sample& a, const Sample& b) { return a.seconds < b.seconds; });
    return sorted.empty() ? Sample{} : sorted[(sorted.size() - 1) / 2];
  }
  double rate() const { return median().seconds > 0 ? events / median().seconds : 0; }
  double cpu_rate() const { return median().cpu_seconds > 0 ? events / median().cpu_seconds : 0; }
  std::optional<double> ratio() const {
    if (baseline == nullptr) return std::nullopt;
    return rate() / baseline->rate();
  }
  std::optional<double> cpu_ratio() const {
    if (baseline == nullptr) return std::nullopt;
    return cpu_rate() / baseline->cpu_rate();
  }
};

void print_header() {
  std::printf("| %-40s | %9s | %8s | %8s | %10s | %7s | %10s | %10s |\n", "phase", "events", "wall s", "cpu s",
              "events/s", "MB/s", "ledger÷raw", "(cpu)");
  std::printf("|%s|%s:|%s:|%s:|%s:|%s:|%s:|%s:|\n", std::string(42, '-').c_str(), std::string(10, '-').c_str(),
              std::string(9, '-').c_str(), std::string(9, '-').c_str(), std::string(11, '-').c_str(),
              std::string(8, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str());
}

void print_row(const Row& row) {
  const Sample median = row.median();
  const double megabytes_per_second = median.seconds > 0 ? row.bytes / median.seconds / 1e6 : 0;
  char ratio[16] = "", cpu_ratio[16] = "";
  if (row.ratio()) std::snprintf(ratio, sizeof ratio, "%.3f", *row.ratio());
  if (row.cpu_ratio()) std::snprintf(cpu_ratio, sizeof cpu_ratio, "%.3f", *row.cpu_ratio());
  std::printf("| %-40s | %9" PRIu64 " | %8.3f | %8.3f | %10.0f | %7.1f | %10s | %10s |\n", row.phase.c_str(),
              row.events, median.seconds, median.cpu_seconds, row.rate(), megabytes_per_second, ratio, cpu_ratio);
}

void print_samples(const Row& row) {
  if (row.samples.size() < 2) return;
  std::printf("  %-40s wall s:", row.phase.c_str());
  for (const Sample& sample : row.samples) std::printf(" %.3f", sample.seconds);
  std::printf("\n");
}

// Progress on stderr, every tenth of the work.
class Progress {
 public:
  Progress(const char* phase, uint64_t total) : phase_(phase), total_(total), step_(std::max<uint64_t>(total / 10, 1)) {}
  void at(uint64_t done) {
    if (done % step_ != 0) return;
    std::fprintf(stderr, "bench: %s %" PRIu64 " / %" PRIu64 " (%.1f s)\n", phase_, done, total_, seconds_since(start_));
  }

 private:
  const char* phase_;
  uint64_t total_;
  uint64_t step_;
  Clock::time_point start_ = Clock::now();
};

// Times a region: wall clock and the process's CPU time.
class Stopwatch {
 public:
  Sample elapsed() const { return Sample{seconds_since(wall_), process_cpu_seconds() - cpu_}; }

 private:
  Clock::time_point wall_ = Clock::now();
  double cpu_ = process_cpu_seconds();
};

// ---- phases ----------------------------------------------------------------------------

std::unique_ptr<JsonlImporter> generate_events(const Flags& flags, double* seconds, uint64_t* json_bytes) {
  const auto start = Clock::now();
  auto importer = std::make_unique<JsonlImporter>(State{});
  GenerateOptions options;
  options.seed = flags.seed;
  options.accounts = flags.accounts;
  options.events = flags.events;
  options.crash_pct = flags.crash_pct;
  options.progress = true;
  size_t line_number = 0;
  InputError error;
  auto add = [&](std::string_view line) {
    *json_bytes += line.size() + 1;
    if (!importer->add_line(line, ++line_number, &error)) die("market line refused: " + error.to_string());
  };
  if (flags.jsonl.empty()) {
    if (Status s = generate_market(options, add); !s.is_ok()) die(s.to_string());
  } else {
    // A market written earlier by `liqledger generate` (the same lines).
    std::ifstream in(flags.jsonl);
    if (!in) die("cannot read " + flags.jsonl);
    std::string line;
    while (std::getline(in, line)) add(line);
  }
  *seconds = seconds_since(start);
  return importer;
}

// RocksDB puts of the very values the ledger writes, batch by batch. The values
// are built outside the timed region; the WriteBatch and the write are timed.
Sample append_raw(const std::string& path, const std::vector<std::string>& events, uint64_t batch_size,
                  uint64_t* bytes) {
  std::filesystem::remove_all(path);
  Sample timed;
  *bytes = 0;
  {
    RawDb db(path, false);
    rocksdb::WriteOptions write_options;  // the ledger's: sync only with --sync
    flatbuffers::FlatBufferBuilder builder(1024);
    std::vector<std::string> values;
    std::vector<std::string> keys;
    Hash chain{};
    Progress progress("append raw", events.size());
    for (size_t first = 0; first < events.size(); first += batch_size) {
      const size_t last = std::min(events.size(), first + batch_size);
      values.clear();
      keys.clear();
      for (size_t i = first; i < last; ++i) {
        const auto& event = events[i];
        chain = chain_next(chain, std::span(reinterpret_cast<const uint8_t*>(event.data()), event.size()));
        encode_record(builder, i + 1, event, chain);
        values.emplace_back(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
        keys.push_back(seq_key(i + 1));
        *bytes += values.back().size() + keys.back().size();
      }
      const Stopwatch stopwatch;
      rocksdb::WriteBatch batch;
      for (size_t j = 0; j < values.size(); ++j) batch.Put(db.events(), keys[j], values[j]);
      check(db.db().Write(write_options, &batch), "raw append");
      const Sample sample = stopwatch.elapsed();
      timed.seconds += sample.seconds;
      timed.cpu_seconds += sample.cpu_seconds;
      for (size_t i = first; i < last; ++i) progress.at(i + 1);
    }
  }  // closing waits for background flushes and compactions (not timed)
  std::filesystem::remove_all(path);
  return timed;
}

Sample append_ledger(const std::string& path, const std::vector<std::string>& events, uint64_t batch_size) {
  std::filesystem::remove_all(path);
  std::unique_ptr<Ledger> ledger;
  check(Ledger::open(path, LedgerOptions{}, &ledger), "opening the ledger");
  Progress progress("append ledger", events.size());
  const Stopwatch stopwatch;
  for (size_t first = 0; first < events.size(); first += batch_size) {
    const size_t count = std::min<size_t>(batch_size, events.size() - first);
    Head head;
    size_t failed = 0;
    check(ledger->append(std::span(events).subspan(first, count), &head, &failed), "Ledger::append");
    for (size_t i = first; i < first + count; ++i) progress.at(i + 1);
  }
  const Sample sample = stopwatch.elapsed();
  if (ledger->head().seq != events.size()) die("ledger head does not match the events appended");
  return sample;
}

Sample scan_raw(const std::string& path, uint64_t* records, uint64_t* bytes) {
  RawDb db(path, true);
  rocksdb::ReadOptions read_options;
  read_options.verify_checksums = true;  // as the ledger's reader
  *records = 0;
  *bytes = 0;
  const Stopwatch stopwatch;
  std::unique_ptr<rocksdb::Iterator> it(db.db().NewIterator(read_options, db.events()));
  uint64_t touched = 0;
  for (it->Seek(seq_key(1)); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    const rocksdb::Slice value = it->value();
    touched += static_cast<uint8_t>(value.data()[value.size() - 1]);  // the value is read, as a reader would
    *bytes += key.size() + value.size();
    *records += 1;
  }
  check(it->status(), "raw scan");
  const Sample sample = stopwatch.elapsed();
  if (touched == 1) std::fprintf(stderr, " ");  // keeps the reads observable
  return sample;
}

std::unique_ptr<Ledger> open_reader(const std::string& path) {
  std::unique_ptr<Ledger> ledger;
  LedgerOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  check(Ledger::open(path, options, &ledger), "opening the ledger read-only");
  return ledger;
}

Sample read_ledger(const std::string& path, uint64_t* records) {
  std::unique_ptr<Ledger> ledger = open_reader(path);
  *records = 0;
  const Stopwatch stopwatch;
  std::unique_ptr<LogReader> reader = ledger->read(1, kHeadSeq);
  LogRecord record;
  while (reader->next(&record)) *records += 1;
  check(reader->status(), "reading the ledger");
  return stopwatch.elapsed();
}

struct ReplayResult {
  Sample sample;
  uint64_t events = 0;
  bool partial = false;  // the audit budget ran out
  Hash state_hash{};
  ReplayCounts counts;
  uint64_t accounts = 0;
  uint64_t rss_before = 0, rss_peak = 0;
  std::array<uint64_t, 32> by_type{};  // events by fb::Body
  // Audit records built, by verdict, and the state hashes they carry.
  uint64_t audit_records = 0;
  std::array<uint64_t, 8> by_verdict{};
  double hash_seconds = 0;
  uint64_t commitment_bytes = 0;  // the tree's memory at the end (Commitment::memory_bytes)
  // The snapshot written on the way (not timed).
  double snapshot_write_seconds = 0;
  uint64_t snapshot_bytes = 0;
};

void put_u64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

// Writes the snapshot of `state` the way liql::put_snapshot does (replay.h:
// u64 BE applied ‖ u64 BE rejected ‖ snapshot encoding, keyed by seq, with
// the state hash), from inside a replay, through a writer beside the reader.
uint64_t write_snapshot(Ledger& writer, const State& state, const ReplayCounts& counts) {
  const std::string bytes = encode_state(state);
  std::string payload;
  payload.reserve(16 + bytes.size());
  put_u64(payload, counts.applied);
  put_u64(payload, counts.rejected);
  payload += bytes;
  check(writer.put_snapshot(state.seq, payload, state_hash(state)), "writing the snapshot");
  return bytes.size();
}

// What a replay computes besides applying the events.
enum class ReplayMode {
  Plain,  // nothing: `liqledger replay`
  Audit,  // the audit record of every liquidation event, state hash included: `liqledger audit`
  Trace,  // the state hash after every event, in its trace line: `liqledger replay --trace`
};

// Replays the whole log from genesis, in `mode`. With `snapshot_writer`, writes
// the snapshot at `snapshot_seq` on the way; its time is not counted, and the
// peak memory is the larger of the peaks before and after it (its transient
// buffers are not counted either).
ReplayResult replay_ledger(const std::string& path, ReplayMode mode, Ledger* snapshot_writer, uint64_t snapshot_seq,
                           uint64_t budget_s) {
  const bool audit = mode == ReplayMode::Audit;
  ReplayResult result;
  std::unique_ptr<Ledger> ledger = open_reader(path);
  malloc_trim(0);
  result.rss_before = proc_status_bytes("VmRSS");
  reset_peak_rss();
  uint64_t peak_before_snapshot = 0;
  Machine machine;
  ReplayCounts counts;
  const uint64_t head_seq = ledger->head().seq;
  Progress progress(audit ? "replay + audit" : mode == ReplayMode::Trace ? "replay + trace" : "replay",
                    ledger->head().seq);
  Sample untimed;
  const auto start = Clock::now();
  uint8_t hash_bytes = 0;
  auto visit = [&](const EventView& view) {
    progress.at(view.record.seq);
    result.by_type[static_cast<size_t>(view.record.event->body_type()) % 32] += 1;
    if (snapshot_writer != nullptr && view.record.seq == snapshot_seq) {
      peak_before_snapshot = proc_status_bytes("VmHWM");
      const Stopwatch stopwatch;
      result.snapshot_bytes = write_snapshot(*snapshot_writer, view.state, counts);
      malloc_trim(0);
      reset_peak_rss();
      const Sample spent = stopwatch.elapsed();
      result.snapshot_write_seconds = spent.seconds;
      untimed.seconds += spent.seconds;
      untimed.cpu_seconds += spent.cpu_seconds;
    }
    if (mode == ReplayMode::Trace) {
      const std::string line = trace_line(view);
      hash_bytes ^= static_cast<uint8_t>(line.back());
      if (view.record.seq == head_seq) result.commitment_bytes = view.hasher.memory_bytes();
    }
    if (audit && view.outcome.audit) {
      const auto hash_start = Clock::now();
      const AuditRecord record{view.record.seq, view.record.event->ts(), *view.outcome.audit, view.hash()};
      result.hash_seconds += seconds_since(hash_start);
      result.audit_records += 1;
      result.by_verdict[static_cast<size_t>(record.audit.verdict)] += 1;
      hash_bytes ^= record.state_hash[0];
      if (budget_s != 0 && seconds_since(start) > static_cast<double>(budget_s)) {
        return Status::invalid_argument("audit budget spent");
      }
    }
    return Status::ok();
  };
  const Stopwatch stopwatch;
  const Status status = replay(*ledger, kHeadSeq, &machine, &counts, visit);
  result.sample = stopwatch.elapsed();
  result.sample.seconds -= untimed.seconds;
  result.sample.cpu_seconds -= untimed.cpu_seconds;
  if (status.code() == Status::Code::InvalidArgument && budget_s != 0) {
    result.partial = true;
  } else {
    check(status, "replay");
  }
  result.rss_peak = std::max(peak_before_snapshot, proc_status_bytes("VmHWM"));
  result.events = machine.state().seq;
  result.counts = counts;
  result.accounts = machine.state().accounts.size();
  result.state_hash = state_hash(machine.state());
  if (hash_bytes == 1) std::fprintf(stderr, " ");  // keeps the hashes observable
  return result;
}

// `liqledger risk --format json` on the head: the state (replayed from
// genesis like the plain replay, not from a snapshot: the worst case), then
// the pass over every account with each JSON line formatted (not printed)
// and the table's summary.
struct RiskRun {
  Sample total;  // replay + pass
  Sample pass;
  uint64_t events = 0, accounts = 0, lines = 0, crossings = 0, bytes = 0;
  Hash state_hash{};
};

RiskRun risk_ledger(const std::string& path) {
  RiskRun result;
  std::unique_ptr<Ledger> ledger = open_reader(path);
  Machine machine;
  ReplayCounts counts;
  const Stopwatch total;
  check(replay(*ledger, kHeadSeq, &machine, &counts), "replay for risk");
  const Stopwatch pass;
  RiskOptions options;
  options.within = Int(10) * wad();
  const RiskSummary summary = risk_pass(machine.state(), options, [&](const AccountRisk& risk) {
    for (const RiskLine& line : risk.lines) {
      result.bytes += risk_json_line(line).size() + 1;
      result.lines += 1;
      result.crossings += line.crossing ? 1 : 0;
    }
  });
  result.bytes += risk_table(machine.state(), summary, options).size();
  result.pass = pass.elapsed();
  result.total = total.elapsed();
  result.events = machine.state().seq;
  result.accounts = summary.accounts;
  result.state_hash = state_hash(machine.state());
  return result;
}

// The policy lab as `liqledger whatif` runs it (without printing): three
// variants over one read of the log, with price impact.
const std::vector<std::string> kBenchPolicies = {"partial", "full", "close_factor:0.5:0.95"};
// Depth grows with the market: 10^4 quote units per account (10^8 at 10^4 accounts, the demo's).
std::string bench_impact(uint64_t accounts) {
  return R"({"default":{"depth":")" + std::to_string(accounts * 10'000) + R"(","recovery_per_s":"0.5"}})";
}

Sample whatif_ledger(const std::string& path, uint64_t accounts, WhatIfResult* result) {
  std::unique_ptr<Ledger> ledger = open_reader(path);
  WhatIfOptions options;
  options.policies = kBenchPolicies;
  std::string error;
  if (!parse_impact(bench_impact(accounts), &options.impact, &error)) die("bench impact: " + error);
  options.progress = true;
  const Stopwatch stopwatch;
  check(run_whatif(*ledger, options, result), "whatif");
  return stopwatch.elapsed();
}

struct Recovery {
  Sample restore;  // restore_snapshot + tail replay (load_state)
  uint64_t snapshot_seq = 0;
  uint64_t tail_events = 0;
  Hash state_hash{};
};

Recovery recover(const std::string& path) {
  Recovery recovery;
  std::unique_ptr<Ledger> ledger = open_reader(path);
  Machine machine;
  ReplayCounts restored;
  uint64_t snapshot_seq = 0;
  const Stopwatch stopwatch;
  check(restore_snapshot(*ledger, kHeadSeq, &machine, &restored, &snapshot_seq), "restore_snapshot");
  check(replay(*ledger, kHeadSeq, &machine, &restored), "replaying the tail");
  recovery.restore = stopwatch.elapsed();
  recovery.snapshot_seq = snapshot_seq;
  recovery.tail_events = machine.state().seq - snapshot_seq;
  recovery.state_hash = state_hash(machine.state());
  return recovery;
}

void flush_log(const std::string& path) {
  RawDb db(path, false);
  db.flush();
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

void print_mix(const ReplayResult& replayed) {
  std::printf("events by type:");
  for (size_t type = 0; type < replayed.by_type.size(); ++type) {
    if (replayed.by_type[type] == 0) continue;
    std::printf(" %s %.1f%%", std::string(event_type_name(static_cast<fb::Body>(type))).c_str(),
                100.0 * replayed.by_type[type] / replayed.events);
  }
  std::printf("\n");
}

int run(const Flags& flags) {
  const std::string raw_path = flags.dir + "/raw-append";
  const std::string ledger_path = flags.dir + "/ledger";
  std::filesystem::create_directories(flags.dir);

  std::printf("liqledger_bench_run: %" PRIu64 " accounts, %" PRIu64 " events, batch %" PRIu64 ", seed %" PRIu64
              ", crash %u%%, repeat %" PRIu64 ", dir %s\n",
              flags.accounts, flags.events, flags.batch, flags.seed, flags.crash_pct, flags.repeat, flags.dir.c_str());
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("machine: %ld CPUs, %s, RocksDB %d.%d.%d, load average at start %.2f %.2f %.2f\n",
              sysconf(_SC_NPROCESSORS_ONLN), cpu_model().c_str(), ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH, load[0],
              load[1], load[2]);
  std::fflush(stdout);

  // 1. The market, in memory.
  double generate_seconds = 0;
  uint64_t json_bytes = 0;
  std::fprintf(stderr, "bench: generating %" PRIu64 " events for %" PRIu64 " accounts\n", flags.events, flags.accounts);
  std::unique_ptr<JsonlImporter> importer = generate_events(flags, &generate_seconds, &json_bytes);
  const std::vector<std::string>& events = importer->events();
  const uint64_t event_count = events.size();
  if (event_count == 0) die("the market is empty");
  uint64_t event_bytes = 0;
  for (const auto& event : events) event_bytes += event.size();

  // 2–3. Appends, raw then ledger, `repeat` times; the last ledger stays for the reads.
  Row raw_append("append: raw RocksDB WriteBatch");
  Row ledger_append("append: Ledger::append");
  ledger_append.baseline = &raw_append;
  for (uint64_t round = 0; round < flags.repeat; ++round) {
    std::fprintf(stderr, "bench: raw append (%" PRIu64 " of %" PRIu64 ")\n", round + 1, flags.repeat);
    raw_append.samples.push_back(append_raw(raw_path, events, flags.batch, &raw_append.bytes));
    std::fprintf(stderr, "bench: ledger append (%" PRIu64 " of %" PRIu64 ")\n", round + 1, flags.repeat);
    ledger_append.samples.push_back(append_ledger(ledger_path, events, flags.batch));
  }
  raw_append.events = ledger_append.events = event_count;
  ledger_append.bytes = raw_append.bytes;
  const uint64_t record_bytes = raw_append.bytes;
  importer.reset();  // the events are in the log now
  malloc_trim(0);

  std::fprintf(stderr, "bench: flushing the log to SST files\n");
  flush_log(ledger_path);

  // 4–5. Reads, raw then ledger, `repeat` times.
  Row raw_scan("scan: raw RocksDB iterator");
  Row ledger_read("read: LogReader (verify + chain)");
  ledger_read.baseline = &raw_scan;
  for (uint64_t round = 0; round < flags.repeat; ++round) {
    std::fprintf(stderr, "bench: raw scan and ledger read (%" PRIu64 " of %" PRIu64 ")\n", round + 1, flags.repeat);
    raw_scan.samples.push_back(scan_raw(ledger_path, &raw_scan.events, &raw_scan.bytes));
    if (raw_scan.events != event_count) die("the raw scan saw a different number of records");
    ledger_read.samples.push_back(read_ledger(ledger_path, &ledger_read.events));
  }
  ledger_read.bytes = record_bytes;

  // 6. Replay, `repeat` times; the first one also writes the snapshot a ledger
  // would hold (the last multiple of the default interval before the head, so
  // recovery replays a whole interval: the worst case) and measures the peak memory.
  const uint64_t snapshot_seq = (event_count - 1) / kDefaultSnapshotEvery * kDefaultSnapshotEvery;
  Row plain("replay: read + apply");
  plain.baseline = &raw_scan;
  std::optional<ReplayResult> first;
  for (uint64_t round = 0; round < flags.repeat; ++round) {
    std::fprintf(stderr, "bench: replay (%" PRIu64 " of %" PRIu64 ")\n", round + 1, flags.repeat);
    std::unique_ptr<Ledger> writer;
    if (round == 0 && snapshot_seq != 0) check(Ledger::open(ledger_path, LedgerOptions{}, &writer), "opening a writer");
    ReplayResult result = replay_ledger(ledger_path, ReplayMode::Plain, writer.get(), snapshot_seq, 0);
    plain.samples.push_back(result.sample);
    plain.events = result.events;
    if (round == 0) first = std::move(result);
  }
  plain.bytes = record_bytes;

  // 6b. risk, once, on the same ledger.
  std::fprintf(stderr, "bench: risk\n");
  const RiskRun risked = risk_ledger(ledger_path);
  if (risked.state_hash != first->state_hash) die("the replay for risk reached a different state");
  Row risk_row("risk: replay + pass (json lines)");
  risk_row.baseline = &raw_scan;
  risk_row.samples.push_back(risked.total);
  risk_row.events = risked.events;
  risk_row.bytes = record_bytes;

  // 7. Replay with the audit records, once.
  std::fprintf(stderr, "bench: replay + audit\n");
  ReplayResult audited = replay_ledger(ledger_path, ReplayMode::Audit, nullptr, 0, flags.audit_budget_s);
  Row audit_row(audited.partial ? "replay + audit records (PARTIAL)" : "replay + audit records");
  audit_row.baseline = &raw_scan;
  audit_row.samples.push_back(audited.sample);
  audit_row.events = audited.events;
  audit_row.bytes = audited.partial ? record_bytes * audited.events / event_count : record_bytes;
  if (!audited.partial && first->state_hash != audited.state_hash) die("the two replays reached different states");

  // 7b. Replay with a state hash after every event, once.
  std::fprintf(stderr, "bench: replay + trace\n");
  ReplayResult traced = replay_ledger(ledger_path, ReplayMode::Trace, nullptr, 0, 0);
  Row trace_row("replay + trace (hash per event)");
  trace_row.baseline = &raw_scan;
  trace_row.samples.push_back(traced.sample);
  trace_row.events = traced.events;
  trace_row.bytes = record_bytes;
  if (first->state_hash != traced.state_hash) die("the traced replay reached a different state");

  // 7c. The policy lab: three variants with impact, once.
  std::fprintf(stderr, "bench: whatif, %zu variants\n", kBenchPolicies.size());
  WhatIfResult whatif;
  Row whatif_row("whatif: 3 variants + impact");
  whatif_row.baseline = &plain;
  whatif_row.samples.push_back(whatif_ledger(ledger_path, flags.accounts, &whatif));
  whatif_row.events = event_count;
  whatif_row.bytes = record_bytes;

  // 8. Recovery from the newest snapshot.
  std::optional<Recovery> recovery;
  if (snapshot_seq != 0) {
    std::fprintf(stderr, "bench: recovery from the snapshot at seq %" PRIu64 "\n", snapshot_seq);
    recovery = recover(ledger_path);
    if (recovery->snapshot_seq != snapshot_seq) die("recovery did not start from the snapshot written");
    if (recovery->state_hash != first->state_hash) die("recovery from the snapshot reached a different state");
  }

  std::printf("\nmarket: %" PRIu64 " accounts in the final state, %" PRIu64 " applied + %" PRIu64
              " rejected events\n",
              first->accounts, first->counts.applied, first->counts.rejected);
  print_mix(*first);
  std::printf("audit records: %" PRIu64 "%s, verdicts:", audited.audit_records,
              audited.partial ? " (up to the budget)" : "");
  for (size_t v = 0; v < audited.by_verdict.size(); ++v) {
    if (audited.by_verdict[v] == 0) continue;
    std::printf(" %s %" PRIu64, std::string(verdict_name(static_cast<Verdict>(v))).c_str(), audited.by_verdict[v]);
  }
  std::printf("\nfinal state_hash %s\n", to_hex(first->state_hash).c_str());
  std::printf("sizes: JSON %.1f MB, Event buffers %.1f MB (%.0f B/event), log key+value %.1f MB (%.0f B/record)\n",
              json_bytes / 1e6, event_bytes / 1e6, double(event_bytes) / event_count, record_bytes / 1e6,
              double(record_bytes) / event_count);
  std::printf("%s + import (not compared): %.2f s, %.0f events/s\n\n",
              flags.jsonl.empty() ? "generate" : ("read " + flags.jsonl).c_str(), generate_seconds,
              event_count / generate_seconds);

  print_header();
  for (const Row* row :
       {&raw_append, &ledger_append, &raw_scan, &ledger_read, &plain, &risk_row, &audit_row, &trace_row,
        &whatif_row}) {
    print_row(*row);
  }
  if (flags.repeat > 1) {
    std::printf("medians of %" PRIu64 " runs (replay + audit: one run); every run:\n", flags.repeat);
    for (const Row* row : {&raw_append, &ledger_append, &raw_scan, &ledger_read, &plain}) print_samples(*row);
  }
  if (audited.audit_records != 0) {
    std::printf("audit: the state hashes of %" PRIu64 " audit records took %.3f s (%.1f µs each), %.0f%% of the "
                "audited replay\n",
                audited.audit_records, audited.hash_seconds, 1e6 * audited.hash_seconds / audited.audit_records,
                100 * audited.hash_seconds / audited.sample.seconds);
    // SPEC §5.6 puts the state hash in every audit record; §7.2 makes it a
    // commitment that costs O(log n) node hashes per account touched since
    // the last one. What the rest of the audited replay costs:
    const double rest_rate = audited.events / (audited.sample.seconds - audited.hash_seconds);
    std::printf("audit: without those hashes the audited replay runs at %.0f events/s, %.3f of the raw scan\n",
                rest_rate, rest_rate / raw_scan.rate());
  }

  std::printf("\nmemory: peak RSS of the whole process (ru_maxrss; includes the generator and the event buffers) "
              "%.1f MB\n",
              max_rss_bytes() / 1e6);
  std::printf("memory: replay peak RSS %.1f MB, %.1f MB before it: %.0f bytes per account of the final state "
              "(%.0f bytes per account including the baseline)\n",
              first->rss_peak / 1e6, first->rss_before / 1e6,
              double(first->rss_peak - std::min(first->rss_peak, first->rss_before)) /
                  std::max<uint64_t>(first->accounts, 1),
              double(first->rss_peak) / std::max<uint64_t>(first->accounts, 1));
  if (recovery) {
    std::printf("recovery: snapshot at seq %" PRIu64 " (%.1f MB canonical state, written in %.3f s); restore it and "
                "replay the %" PRIu64 " events after it: %.3f s wall, %.3f s cpu, vs full replay %.3f s (%.1f× "
                "faster)\n",
                recovery->snapshot_seq, first->snapshot_bytes / 1e6, first->snapshot_write_seconds,
                recovery->tail_events, recovery->restore.seconds, recovery->restore.cpu_seconds,
                plain.median().seconds, plain.median().seconds / recovery->restore.seconds);
  } else {
    std::printf("recovery: %" PRIu64 " events or fewer, no snapshot to restore from\n", kDefaultSnapshotEvery);
  }
  auto verdict = [](bool met) { return met ? "met" : "NOT met"; };
  // The risk issue: `risk` over the accounts in under 3 × one plain replay of them.
  const double risk_vs_plain = risked.total.seconds / plain.median().seconds;
  std::printf("\nrisk: %" PRIu64 " accounts, %" PRIu64 " lines (%" PRIu64 " with a crossing), %.1f MB of JSON lines; "
              "replay + pass %.3f s wall (%.3f s cpu), the pass alone %.3f s (%.3f s cpu, %.2f µs per account); "
              "risk ÷ plain replay %.3f (< 3: %s)\n",
              risked.accounts, risked.lines, risked.crossings, risked.bytes / 1e6, risked.total.seconds,
              risked.total.cpu_seconds, risked.pass.seconds, risked.pass.cpu_seconds,
              1e6 * risked.pass.seconds / std::max<uint64_t>(risked.accounts, 1), risk_vs_plain,
              verdict(risk_vs_plain < 3));
  // Issue 8: the commitment's cost, against the plain replay of the same run.
  const double audit_vs_plain = audit_row.rate() / plain.rate();
  const double trace_vs_plain = trace_row.rate() / plain.rate();
  const double commitment_per_account = double(traced.commitment_bytes) / std::max<uint64_t>(traced.accounts, 1);
  std::printf("\ncommitment: replay + audit ÷ replay %.3f (≥ 0.5: %s); replay + trace ÷ replay %.3f (≥ 0.2: %s); "
              "tree memory %.1f MB, %.1f bytes per account (≤ 64: %s)\n",
              audit_vs_plain, verdict(!audited.partial && audit_vs_plain >= 0.5), trace_vs_plain,
              verdict(trace_vs_plain >= 0.2), traced.commitment_bytes / 1e6, commitment_per_account,
              verdict(commitment_per_account <= 64));
  std::printf("\ntargets: ledger append ÷ raw append %.3f (≥ 0.8: %s); replay + audit ÷ raw scan %.3f (≥ 0.5: %s); "
              "replay + audit %.0f events/s (≥ 1 M/s: %s); replay without audit ÷ raw scan %.3f (≥ 0.5: %s), "
              "%.0f events/s (≥ 1 M/s: %s)\n",
              *ledger_append.ratio(), verdict(*ledger_append.ratio() >= 0.8), *audit_row.ratio(),
              verdict(*audit_row.ratio() >= 0.5), audit_row.rate(), verdict(audit_row.rate() >= 1e6), *plain.ratio(),
              verdict(*plain.ratio() >= 0.5), plain.rate(), verdict(plain.rate() >= 1e6));
  // Issue 9: three variants in at most 4 × one plain replay.
  const double whatif_times = whatif_row.median().seconds / plain.median().seconds;
  std::printf("\nwhatif: %zu variants (", kBenchPolicies.size());
  for (const VariantResult& v : whatif.variants) {
    std::printf("%s%s: %" PRIu64 " liquidations, depth %u", &v == &whatif.variants.front() ? "" : "; ",
                v.policy.c_str(), v.liquidations, v.max_cascade_depth);
  }
  std::printf(") took %.3f s = %.2f × one plain replay (≤ 4: %s)\n", whatif_row.median().seconds, whatif_times,
              verdict(whatif_times <= 4));
  getloadavg(load, 3);
  std::printf("load average at end %.2f %.2f %.2f\n", load[0], load[1], load[2]);

  if (!flags.keep) std::filesystem::remove_all(ledger_path);
  return 0;
}

}  // namespace
}  // namespace liql

int main(int argc, char** argv) {
  try {
    return liql::run(liql::parse_flags(argc, argv));
  } catch (const std::exception& e) {
    liql::die(e.what());
  }
}
