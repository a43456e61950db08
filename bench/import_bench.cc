// liqledger_bench_import: `import aave` against `append` (issue 10, docs/PERFORMANCE.md).
//
//   liqledger_bench_import [--events M] [--users N] [--seed S] [--crash PCT] [--repeat R]
//                          [--dir DIR] [--cli PATH] [--keep]
//
// The requirement: `import` is never the slow stage of `import | append`,
// i.e. on an Aave-style history of M events its input events/s are at least
// those of `append` on its output.
//
// In one process:
//   1. generate the history (bench/aave_history.h) in memory: MARKET.json and
//      M decoded Pool events and Chainlink rounds; not timed into any ratio;
//   2. import: parse_aave_market + import_aave, the whole conversion from the
//      input text to the output text, as `liqledger import aave` runs it
//      (without reading the file and writing stdout);
//   3. append: Ledger::open on a fresh RocksDB directory, append_jsonl of that
//      output with the CLI's default snapshot interval (the function
//      `liqledger append` calls: parse, verify, chain, write, then the replay
//      that writes the snapshots), and the ledger closed;
//   each measured R times (the median reported), and read_evm_logs alone once (the
//   input's JSON read into EvmLog records: the part of the import that is
//   parsing, the rest being the conversion); then, untimed, the last
//   ledger replayed once to count what the engine made of the log
//   (liquidations by verdict, INVALID_RECORD, rejected events).
// With --cli PATH (the liqledger binary) the same as whole processes, inputs
// written to DIR first: `liqledger import aave --config MARKET.json EVENTS.jsonl
// > /dev/null` and `liqledger append DB LOG.jsonl` on a fresh DB, R times each.
// Both stages are rated in input events per second (the M events the history
// has), so import ÷ append ≥ 1 is the target. Progress goes to stderr; no
// timing is an assertion (exit status 0 unless a stage failed).

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bench/aave_history.h"
#include "bench/bench_flags.h"
#include "engine/types.h"
#include "replay/aave_import.h"
#include "replay/replay.h"

extern char** environ;

namespace liql {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec / 1e9;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "liqledger_bench_import: %s\n", message.c_str());
  std::exit(1);
}

struct Flags {
  uint64_t events = 1'000'000;
  uint64_t users = 0;
  uint64_t seed = 42;
  uint32_t crash_pct = 40;
  uint64_t repeat = 3;
  std::string dir = "bench-data";
  std::string cli;  // the liqledger binary: whole-process timings too
  bool keep = false;
};

Flags parse_flags(int argc, char** argv) {
  Flags flags;
  bench::FlagParser parser("liqledger_bench_import",
                           "[--events M] [--users N] [--seed S] [--crash PCT] [--repeat R] [--dir DIR] [--cli PATH]"
                           " [--keep]");
  parser.toggle("--keep", &flags.keep)
      .number("--events", &flags.events)
      .number("--users", &flags.users)
      .number("--seed", &flags.seed)
      .number("--crash", &flags.crash_pct)
      .number("--repeat", &flags.repeat)
      .text("--dir", &flags.dir)
      .text("--cli", &flags.cli);
  parser.parse(argc, argv);
  if (flags.events == 0) die("--events must be at least 1");
  if (flags.repeat == 0) die("--repeat must be at least 1");
  return flags;
}

struct Sample {
  double seconds = 0, cpu_seconds = 0;
};

struct Row {
  std::string stage;
  std::vector<Sample> samples;
  Sample median() const {
    std::vector<Sample> sorted = samples;
    std::sort(sorted.begin(), sorted.end(), [](const Sample& a, const Sample& b) { return a.seconds < b.seconds; });
    return sorted.empty() ? Sample{} : sorted[(sorted.size() - 1) / 2];
  }
};

void print_header() {
  std::printf("| %-52s | %8s | %8s | %11s | %7s |\n", "stage", "wall s", "cpu s", "events/s", "MB/s");
  std::printf("|%s|%s:|%s:|%s:|%s:|\n", std::string(54, '-').c_str(), std::string(9, '-').c_str(),
              std::string(9, '-').c_str(), std::string(12, '-').c_str(), std::string(8, '-').c_str());
}

// events/s and MB/s of the stage's input.
void print_row(const Row& row, uint64_t events, uint64_t input_bytes) {
  const Sample m = row.median();
  std::printf("| %-52s | %8.3f | %8.3f | %11.0f | %7.1f |\n", row.stage.c_str(), m.seconds, m.cpu_seconds,
              m.seconds > 0 ? events / m.seconds : 0, m.seconds > 0 ? input_bytes / m.seconds / 1e6 : 0);
}

void print_samples(const Row& row) {
  if (row.samples.size() < 2) return;
  std::printf("  %-52s wall s:", row.stage.c_str());
  for (const Sample& s : row.samples) std::printf(" %.3f", s.seconds);
  std::printf("\n");
}

void print_ratio(const char* what, const Row& import_row, const Row& append_row) {
  const Sample i = import_row.median(), a = append_row.median();
  std::printf("%s: import ÷ append (events/s) = %.3f wall, %.3f cpu (target ≥ 1: %s)\n", what, a.seconds / i.seconds,
              a.cpu_seconds / i.cpu_seconds, a.seconds >= i.seconds ? "met" : "NOT met");
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.flush()) die("cannot write " + path);
}

// Runs argv with stdout to `out` (stderr kept); wall clock and the child's CPU time.
Sample run_process(const std::vector<std::string>& args, const std::string& out) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const auto start = Clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) die("cannot run " + args[0]);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid) die("wait4 failed");
  Sample sample{seconds_since(start), usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
                                          usage.ru_stime.tv_usec / 1e6};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command;
    for (const std::string& a : args) command += (command.empty() ? "" : " ") + a;
    die("failed: " + command + " > " + out);
  }
  return sample;
}

Status open_ledger(const std::string& path, bool create, std::unique_ptr<Ledger>* ledger) {
  LedgerOptions options;  // as `liqledger append` opens it (no --sync)
  options.create_if_missing = create;
  return Ledger::open(path, options, ledger);
}

int run(const Flags& flags) {
  std::filesystem::create_directories(flags.dir);
  const std::string ledger_path = flags.dir + "/import-ledger";
  std::printf("liqledger_bench_import: %" PRIu64 " events, seed %" PRIu64 ", crash %u%%, repeat %" PRIu64
              ", dir %s\n",
              flags.events, flags.seed, flags.crash_pct, flags.repeat, flags.dir.c_str());
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("machine: %ld CPUs, load average at start %.2f %.2f %.2f\n", sysconf(_SC_NPROCESSORS_ONLN), load[0],
              load[1], load[2]);
  std::fflush(stdout);

  // 1. The history, in memory.
  std::fprintf(stderr, "bench: generating an Aave-style history of %" PRIu64 " events\n", flags.events);
  auto start = Clock::now();
  bench::AaveHistoryOptions options;
  options.events = flags.events;
  options.users = flags.users;
  options.seed = flags.seed;
  options.crash_pct = flags.crash_pct;
  bench::AaveHistory history = bench::generate_aave_history(options);
  const double generate_seconds = seconds_since(start);
  const uint64_t input_bytes = history.events_jsonl.size();
  std::printf("history: %" PRIu64 " events (%.1f MB, %.0f B/event), %" PRIu64 " users, %" PRIu64
              " blocks over %.1f days, generated in %.2f s\n",
              history.events, input_bytes / 1e6, double(input_bytes) / history.events, history.users, history.blocks,
              (history.last_ts - history.first_ts) / 86400.0, generate_seconds);
  std::printf("  events:");
  for (const auto& [name, count] : history.by_event) {
    std::printf(" %s %" PRIu64 " (%.1f %%)", name.c_str(), count, 100.0 * count / history.events);
  }
  std::printf("\n");
  std::fflush(stdout);
  const std::vector<ImportInput> inputs{ImportInput{"events.jsonl", std::move(history.events_jsonl)}};

  // 2. Import, R times.
  Row import_row{"import aave (parse_aave_market + import_aave)", {}};
  ImportResult result;
  for (uint64_t i = 0; i < flags.repeat; ++i) {
    std::fprintf(stderr, "bench: import %" PRIu64 "/%" PRIu64 "\n", i + 1, flags.repeat);
    result = ImportResult{};  // the previous output freed outside the timed region
    const double cpu = process_cpu_seconds();
    start = Clock::now();
    AaveMarket market;
    std::string error;
    if (!parse_aave_market(history.market_json, &market, &error)) die("MARKET.json: " + error);
    ImportError import_error;
    if (!import_aave(market, inputs, {}, &result, &import_error)) die("import: " + import_error.to_string());
    import_row.samples.push_back({seconds_since(start), process_cpu_seconds() - cpu});
    std::fprintf(stderr, "bench: import %.3f s\n", import_row.samples.back().seconds);
  }
  // Where the import's time goes: the reading of the input alone (JSON Lines
  // into EvmLog records, every argument kept as text); the rest of
  // import_aave is the conversion (arguments parsed, ray arithmetic, output).
  // Once: it is not part of the ratio.
  Row read_row{"  of which read_evm_logs (the input parsed; once)", {}};
  {
    EvmLogs logs;
    const double cpu = process_cpu_seconds();
    start = Clock::now();
    ImportError read_error;
    if (!read_evm_logs(inputs, &logs, &read_error)) die("read: " + read_error.to_string());
    read_row.samples.push_back({seconds_since(start), process_cpu_seconds() - cpu});
  }
  if (result.events != flags.events) {
    die("import converted " + std::to_string(result.events) + " of " + std::to_string(flags.events) + " events");
  }
  const uint64_t output_bytes = result.jsonl.size();
  std::printf("import output: %" PRIu64 " lines (%.2f per event, %.1f MB), %zu accounts\n", result.lines,
              double(result.lines) / flags.events, output_bytes / 1e6, result.addresses.size());
  std::fflush(stdout);

  // 3. Append, R times, each on a fresh directory.
  Row append_row{"append (Ledger::open + append_jsonl + close)", {}};
  AppendResult appended;
  for (uint64_t i = 0; i < flags.repeat; ++i) {
    std::filesystem::remove_all(ledger_path);
    std::fprintf(stderr, "bench: append %" PRIu64 "/%" PRIu64 "\n", i + 1, flags.repeat);
    const double cpu = process_cpu_seconds();
    start = Clock::now();
    {
      std::unique_ptr<Ledger> ledger;
      if (Status s = open_ledger(ledger_path, true, &ledger); !s.is_ok()) die("open: " + s.to_string());
      InputError error;
      if (Status s = append_jsonl(*ledger, result.jsonl, &appended, &error, kDefaultSnapshotEvery); !s.is_ok()) {
        die("append: " + s.to_string());
      }
    }
    append_row.samples.push_back({seconds_since(start), process_cpu_seconds() - cpu});
    std::fprintf(stderr, "bench: append %.3f s\n", append_row.samples.back().seconds);
  }
  if (appended.appended != result.lines) die("append took " + std::to_string(appended.appended) + " records");

  // What the engine made of it (untimed).
  std::fprintf(stderr, "bench: replaying the ledger to count outcomes\n");
  {
    std::unique_ptr<Ledger> ledger;
    if (Status s = open_ledger(ledger_path, false, &ledger); !s.is_ok()) die("open: " + s.to_string());
    Machine machine;
    ReplayCounts counts;
    std::map<std::string, uint64_t> verdicts, rejected;
    uint64_t liquidations = 0, invalid = 0;
    auto visit = [&](const EventView& view) {
      if (!view.outcome.applied()) ++rejected[std::string(reason_name(view.outcome.reason))];
      if (view.outcome.audit && view.outcome.audit->kind == LiquidationKind::Token) {
        ++liquidations;
        ++verdicts[std::string(verdict_name(view.outcome.audit->verdict))];
        if (view.outcome.reason == Reason::InvalidRecord) ++invalid;
      }
      return Status::ok();
    };
    if (Status s = replay(*ledger, kHeadSeq, &machine, &counts, visit); !s.is_ok()) die("replay: " + s.to_string());
    std::printf("engine: %" PRIu64 " records applied, %" PRIu64 " rejected", counts.applied, counts.rejected);
    for (const auto& [reason, count] : rejected) std::printf(" (%s %" PRIu64 ")", reason.c_str(), count);
    std::printf("; %" PRIu64 " liquidate_token, %" PRIu64 " INVALID_RECORD; verdicts:", liquidations, invalid);
    for (const auto& [verdict, count] : verdicts) std::printf(" %s %" PRIu64, verdict.c_str(), count);
    std::printf("\n\n");
  }

  print_header();
  print_row(import_row, flags.events, input_bytes);
  print_row(read_row, flags.events, input_bytes);
  print_row(append_row, flags.events, output_bytes);
  print_samples(import_row);
  print_samples(read_row);
  print_samples(append_row);
  std::printf("(events/s: the history's %" PRIu64 " input events per second of each stage; MB/s of the stage's input)\n",
              flags.events);
  print_ratio("in process", import_row, append_row);

  // Whole processes, optionally.
  if (!flags.cli.empty()) {
    const std::string market_path = flags.dir + "/aave-market.json", events_path = flags.dir + "/aave-events.jsonl",
                      log_path = flags.dir + "/aave-log.jsonl", db_path = flags.dir + "/import-cli-ledger";
    std::fprintf(stderr, "bench: writing %s, %s and %s\n", market_path.c_str(), events_path.c_str(), log_path.c_str());
    write_file(market_path, history.market_json);
    write_file(events_path, inputs.front().text);
    write_file(log_path, result.jsonl);
    result = ImportResult{};
    Row cli_import{"liqledger import aave --config M EVENTS > /dev/null", {}};
    Row cli_append{"liqledger append DB LOG (fresh DB)", {}};
    for (uint64_t i = 0; i < flags.repeat; ++i) {
      std::fprintf(stderr, "bench: processes %" PRIu64 "/%" PRIu64 "\n", i + 1, flags.repeat);
      cli_import.samples.push_back(
          run_process({flags.cli, "import", "aave", "--config", market_path, events_path}, "/dev/null"));
      std::filesystem::remove_all(db_path);
      cli_append.samples.push_back(run_process({flags.cli, "append", db_path, log_path}, "/dev/null"));
    }
    std::printf("\n");
    print_header();
    print_row(cli_import, flags.events, input_bytes);
    print_row(cli_append, flags.events, output_bytes);
    print_samples(cli_import);
    print_samples(cli_append);
    print_ratio("whole processes", cli_import, cli_append);
    if (!flags.keep) {
      std::filesystem::remove_all(db_path);
      for (const std::string& path : {market_path, events_path, log_path}) std::filesystem::remove(path);
    }
  }

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  getloadavg(load, 3);
  std::printf("peak memory %.1f MB; load average at end %.2f %.2f %.2f\n", usage.ru_maxrss / 1024.0, load[0], load[1],
              load[2]);
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
