// liqledger: the command line, a thin shell over the library (ledger/,
// engine/, replay/). Parses flags, calls the library, prints. Errors go to
// stderr with a non-zero exit code.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "cli/cluster_commands.h"
#include "replay/aave_import.h"
#include "replay/account_view.h"
#include "replay/audit.h"
#include "tools/generate.h"
#include "replay/jsonl_export.h"
#include "replay/labels.h"
#include "replay/proof.h"
#include "replay/replay.h"
#include "replay/report.h"
#include "replay/risk.h"
#include "replay/whatif.h"

namespace liql {
namespace {

constexpr uint64_t kProgressEvery = 1'000'000;

// Exit codes (README, --help): 0 ok; 1 a check found a problem (verify,
// verify-proof); 2 usage or bad input (a refused append, an unknown flag, a
// malformed flag value, an account that does not exist); 3 corrupt data or
// I/O met by any command (a missing ledger, a record that fails its checks, a
// file that cannot be written).
constexpr int kExitCheckFailed = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitDataOrIo = 3;

int exit_with(int code, const std::string& message) {
  std::fprintf(stderr, "liqledger: %s\n", message.c_str());
  return code;
}
// Corrupt data or I/O (3).
int fail(const std::string& message) { return exit_with(kExitDataOrIo, message); }
// Bad input (2): a malformed flag value, an unknown policy, a refused line, before any work.
int bad_input(const std::string& message) { return exit_with(kExitBadInput, message); }
// A check that found a problem (1).
int check_failed(const std::string& message) { return exit_with(kExitCheckFailed, message); }

Status open_ledger(const std::string& path, bool writer, bool sync, std::unique_ptr<Ledger>* ledger) {
  LedgerOptions options;
  options.read_only = !writer;
  options.create_if_missing = writer;
  options.sync = sync;
  return Ledger::open(path, options, ledger);
}

bool read_input(const std::string& path, std::string* text) {
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    *text = buffer.str();
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {  // one read of the whole file
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0);
    if (size < 0) return false;
    text->resize(static_cast<size_t>(size));
    return static_cast<bool>(in.read(text->data(), size));
  }
  // A pipe (<(...)): as a stream.
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return true;
}

int run_append(const std::string& db, const std::string& file, bool sync, uint64_t snapshot_every) {
  std::string text;
  if (!read_input(file, &text)) return bad_input("cannot read " + file);
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, true, sync, &ledger); !s.is_ok()) return fail(s.to_string());
  AppendResult result;
  InputError error;
  if (Status s = append_jsonl(*ledger, text, &result, &error, snapshot_every); !s.is_ok()) {
    return s.code() == Status::Code::InvalidArgument ? bad_input(file + ": " + error.to_string() + " (nothing written)")
                                                     : fail(s.to_string());
  }
  std::printf("appended %llu events, head seq %llu\n", static_cast<unsigned long long>(result.appended),
              static_cast<unsigned long long>(result.head.seq));
  return 0;
}

struct ImportFlags {
  std::string config, accounts_out, prices;
  std::vector<std::string> inputs;
  bool skip_unknown = false;
};

// `import aave|chainlink`: the whole input converts, or nothing is written
// (exit 2 naming the file, line and argument).
int run_import(const std::string& source, const ImportFlags& flags) {
  std::string config_text, error;
  AaveMarket market;
  if (!read_input(flags.config, &config_text)) return bad_input("cannot read " + flags.config);
  if (!parse_aave_market(config_text, &market, &error)) return bad_input(flags.config + ": " + error);
  std::vector<ImportInput> inputs;
  for (const std::string& path : flags.inputs) {
    ImportInput input{path, ""};
    if (!read_input(path, &input.text)) return bad_input("cannot read " + path);
    inputs.push_back(std::move(input));
  }
  ImportInput prices{flags.prices, ""};
  if (!flags.prices.empty() && !read_input(flags.prices, &prices.text)) return bad_input("cannot read " + flags.prices);
  ImportResult result;
  ImportError import_error;
  bool ok = false;
  if (source == "aave") {
    AaveImportOptions options;
    options.skip_unknown = flags.skip_unknown;
    options.prices = flags.prices.empty() ? nullptr : &prices;
    ok = import_aave(market, inputs, options, &result, &import_error);
  } else {
    ok = import_chainlink(market, inputs, &result, &import_error);
  }
  if (!ok) return bad_input(import_error.to_string() + " (nothing written)");
  if (!flags.accounts_out.empty()) {
    std::ofstream out(flags.accounts_out, std::ios::binary);
    out << accounts_csv(result.addresses);
    if (!out.flush()) return fail("cannot write " + flags.accounts_out);
  }
  std::fwrite(result.jsonl.data(), 1, result.jsonl.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) return fail("import: cannot write to stdout");
  std::string skipped;
  for (const auto& [name, count] : result.skipped) skipped += fmt::format("{}{} {}", skipped.empty() ? "" : ", ", count, name);
  std::fprintf(stderr, "import %s: %llu events -> %llu lines, %zu accounts%s%s\n", source.c_str(),
               static_cast<unsigned long long>(result.events), static_cast<unsigned long long>(result.lines),
               result.addresses.size(), skipped.empty() ? "" : "; not modelled: ", skipped.c_str());
  return 0;
}

struct ReplayFlags {
  uint64_t to = kHeadSeq;
  bool json = false;
  bool trace = false;
  bool from_genesis = false;
};

int run_replay(const std::string& db, const ReplayFlags& flags) {
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  Machine machine;
  ReplayCounts counts;
  EventVisitor trace;
  if (flags.trace) {
    trace = [](const EventView& view) {
      std::printf("%s\n", trace_line(view).c_str());
      return Status::ok();
    };
  }
  // A trace shows every event, so it starts at genesis; otherwise the newest
  // snapshot at or before --to is the starting point.
  const Status replayed = flags.trace || flags.from_genesis
                              ? replay(*ledger, flags.to, &machine, &counts, trace, kProgressEvery)
                              : load_state(*ledger, flags.to, &machine, &counts, kProgressEvery);
  if (!replayed.is_ok()) return fail(replayed.to_string());
  if (flags.trace) return 0;
  const State& state = machine.state();
  const std::string hash = to_hex(state_hash(state));
  if (flags.json) {
    std::printf("%s\n", replay_summary_json(state, counts).c_str());
  } else {
    std::printf("seq %llu  ts %llu\nstate_hash %s\naccounts %zu\nevents applied %llu, rejected %llu\n",
                static_cast<unsigned long long>(state.seq), static_cast<unsigned long long>(state.ts), hash.c_str(),
                state.accounts.size(), static_cast<unsigned long long>(counts.applied),
                static_cast<unsigned long long>(counts.rejected));
  }
  return 0;
}

// --labels FILE (import aave --accounts' map); false after the message on bad input.
bool read_labels(const std::string& path, AccountLabels* labels) {
  if (path.empty()) return true;
  std::string text, error;
  if (!read_input(path, &text)) {
    bad_input("cannot read " + path);
    return false;
  }
  if (!AccountLabels::parse(text, labels, &error)) {
    bad_input(path + ": " + error);
    return false;
  }
  return true;
}

int run_audit(const std::string& db, const std::string& format, const std::string& only, const std::string& labels_file) {
  AccountLabels labels;
  if (!read_labels(labels_file, &labels)) return kExitBadInput;
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  if (format == "csv") std::printf("%s\n", audit_csv_header(labels).c_str());
  if (format == "table") std::printf("%s\n", audit_table_header(labels).c_str());
  AuditSummary summary;
  Machine machine;
  ReplayCounts counts;
  auto visit = [&](const EventView& view) {
    if (!view.outcome.audit) return Status::ok();
    const LiquidationAudit& audit = *view.outcome.audit;
    if (!only.empty() && verdict_name(audit.verdict) != only) return Status::ok();
    if (format == "summary") {
      summary.add(audit);
      return Status::ok();
    }
    const AuditRecord record{view.record.seq, view.record.event->ts(), audit, view.hash()};
    const std::string line = format == "jsonl" ? audit_json(record, labels)
                             : format == "csv" ? audit_csv(record, labels)
                                               : audit_table_row(record, machine.state(), labels);
    std::printf("%s\n", line.c_str());
    return Status::ok();
  };
  if (Status s = replay(*ledger, kHeadSeq, &machine, &counts, visit, kProgressEvery); !s.is_ok()) {
    return fail(s.to_string());
  }
  if (format == "summary") {
    std::printf("events               %llu (%llu applied, %llu rejected)\n",
                static_cast<unsigned long long>(counts.applied + counts.rejected),
                static_cast<unsigned long long>(counts.applied), static_cast<unsigned long long>(counts.rejected));
    std::printf("accounts             %zu\n", machine.state().accounts.size());
    std::printf("%s", summary.to_text(machine.state(), state_hash(machine.state())).c_str());
  }
  return 0;
}

int run_account(const std::string& db, uint64_t id, uint64_t at, bool json, const std::string& labels_file) {
  AccountLabels labels;
  if (!read_labels(labels_file, &labels)) return kExitBadInput;
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  Machine machine;
  ReplayCounts counts;
  if (Status s = load_state(*ledger, at, &machine, &counts, kProgressEvery); !s.is_ok()) return fail(s.to_string());
  if (machine.state().account(id) == nullptr) {
    return bad_input(fmt::format("account {} does not exist at seq {}", id, machine.state().seq));
  }
  const std::string out =
      json ? account_json(machine.state(), id, labels) + "\n" : account_text(machine.state(), id, labels);
  std::printf("%s", out.c_str());
  return 0;
}

int run_export(const std::string& db) {
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  std::unique_ptr<LogReader> reader = ledger->read(1, kHeadSeq);
  LogRecord record;
  while (reader->next(&record)) std::printf("%s\n", event_to_json(*record.event).c_str());
  if (!reader->status().is_ok()) return fail(reader->status().to_string());
  return 0;
}

// --price-path FILE: the real path is read (and refused, exit 2) before any line is written.
int run_generate(GenerateOptions options, const std::string& price_path, bool crash_given) {
  if (!price_path.empty()) {
    if (crash_given) {
      return bad_input("generate: --crash and --price-path exclude each other (the path brings its own moves)");
    }
    if (Status s = read_price_path(price_path, &options.price_path.emplace()); !s.is_ok()) {
      return bad_input("generate: --price-path " + s.message());
    }
  }
  // --crash is range-checked by its flag; an option the generator still refused would exit 2 too.
  const Status s = generate_market(options, [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  });
  if (!s.is_ok()) {
    return s.code() == Status::Code::InvalidArgument ? bad_input("generate: " + s.message()) : fail(s.message());
  }
  return std::ferror(stdout) ? fail("generate: cannot write to stdout") : 0;
}

int run_verify(const std::string& db) {
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  VerifyReport report;
  if (Status s = verify(*ledger, &report, kProgressEvery); !s.is_ok()) {
    // A machine that could not process an event is no finding about the ledger (3, not 1).
    if (s.code() == Status::Code::Internal) return fail(s.to_string());
    return check_failed("verify failed: " + s.to_string());
  }
  const std::string old = report.old_snapshots == 0
                              ? ""
                              : fmt::format(" ({} pre-v2 snapshots ignored)", report.old_snapshots);
  std::printf("ok: %llu records, chain verified to head %s; %llu snapshots match%s; state_hash %s\n",
              static_cast<unsigned long long>(report.records), to_hex(report.head_chain).c_str(),
              static_cast<unsigned long long>(report.snapshots), old.c_str(), to_hex(report.state_hash).c_str());
  return 0;
}

int run_prove(const std::string& db, uint64_t id, uint64_t at) {
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  Machine machine;
  ReplayCounts counts;
  if (Status s = load_state(*ledger, at, &machine, &counts, kProgressEvery); !s.is_ok()) return fail(s.to_string());
  Commitment commitment;
  const std::optional<InclusionProof> proof = commitment.prove(machine.state(), id);
  if (!proof) return bad_input(fmt::format("account {} does not exist at seq {}", id, machine.state().seq));
  std::printf("%s\n", proof_json(*proof).c_str());
  return 0;
}

// Needs no ledger: the proof alone, and optionally the state hash it must reach.
int run_verify_proof(const std::string& file, const std::string& expected_hash) {
  std::string text;
  if (!read_input(file, &text)) {  // bad input (2), not a proof that does not hold (1)
    return bad_input("cannot read " + file);
  }
  InclusionProof proof;
  if (Status s = parse_proof(text, &proof); !s.is_ok()) {
    return bad_input(file + ": " + s.message());
  }
  std::string why;
  if (!verify_inclusion(proof, &why)) return check_failed("proof does not hold: " + why);
  if (!expected_hash.empty() && expected_hash != to_hex(proof.state_hash)) {
    return check_failed("proof does not hold: it proves state " + to_hex(proof.state_hash) + ", not the expected " +
                expected_hash);
  }
  std::string totals;
  for (const auto& [asset, pair] : proof.totals) {
    totals += fmt::format("{}asset {} credit {} debit {}", totals.empty() ? "" : ", ", asset, pair.credit.str(),
                          pair.debit.str());
  }
  std::printf("ok: account %llu in state %s at seq %llu; totals %s\n", static_cast<unsigned long long>(proof.id),
              to_hex(proof.state_hash).c_str(), static_cast<unsigned long long>(proof.seq),
              totals.empty() ? "none" : totals.c_str());
  return 0;
}

// `risk`: the state at --at, then one pass over the accounts (replay/risk.h).
int run_risk(const std::string& db, uint64_t at, const std::string& within, const std::string& format,
             const std::string& labels_file) {
  AccountLabels labels;
  if (!read_labels(labels_file, &labels)) return kExitBadInput;
  RiskOptions options;
  options.progress = 100'000;
  if (!within.empty() && !(options.within = parse_percent(within))) {
    return bad_input("--within: '" + within + "' is not a positive decimal percent (e.g. 10 or 2.5)");
  }
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  if (at != kHeadSeq && at > ledger->head().seq) {
    return bad_input(fmt::format("--at {}: beyond the head of the log (seq {})", at, ledger->head().seq));
  }
  Machine machine;
  ReplayCounts counts;
  if (Status s = load_state(*ledger, at, &machine, &counts, kProgressEvery); !s.is_ok()) return fail(s.to_string());
  if (!machine.state().has_genesis()) return bad_input(fmt::format("no genesis at seq {}", machine.state().seq));
  if (format == "csv") std::printf("%s\n", risk_csv_header(labels).c_str());
  std::function<void(const AccountRisk&)> print;
  if (format != "table") {
    print = [&](const AccountRisk& risk) {
      for (const RiskLine& line : risk.lines) {
        std::printf("%s\n", (format == "json" ? risk_json_line(line, labels) : risk_csv_line(line, labels)).c_str());
      }
    };
  }
  const RiskSummary summary = risk_pass(machine.state(), options, print);
  if (format == "table") std::printf("%s", risk_table(machine.state(), summary, options, labels).c_str());
  return 0;
}

struct WhatIfFlags {
  std::vector<std::string> policies;
  std::string impact_file;
  std::string format = "table";
  std::string series_dir;
  uint64_t to = kHeadSeq;
};

// The options shared by whatif and report; false (after the message) on bad input.
bool whatif_options(const WhatIfFlags& flags, WhatIfOptions* options) {
  options->policies = flags.policies;
  options->to_seq = flags.to;
  options->progress = true;
  for (const std::string& spec : flags.policies) {
    std::string error;
    if (!make_rule(spec, &error)) {
      bad_input("--policy " + spec + ": " + error);
      return false;
    }
  }
  if (!flags.impact_file.empty()) {
    std::string text, error;
    if (!read_input(flags.impact_file, &text) || !parse_impact(text, &options->impact, &error)) {
      bad_input(flags.impact_file + ": " + (error.empty() ? "cannot read it" : error));
      return false;
    }
  }
  return true;
}

int run_whatif_cmd(const std::string& db, const WhatIfFlags& flags) {
  WhatIfOptions options;
  if (!whatif_options(flags, &options)) return kExitBadInput;
  options.series = !flags.series_dir.empty();
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  WhatIfResult result;
  if (Status s = run_whatif(*ledger, options, &result); !s.is_ok()) {
    return s.code() == Status::Code::InvalidArgument ? bad_input(s.message()) : fail(s.to_string());
  }
  if (options.series) {
    std::error_code ec;
    std::filesystem::create_directories(flags.series_dir, ec);
    if (ec) return fail("cannot create " + flags.series_dir + ": " + ec.message());
    for (const VariantResult& variant : result.variants) {
      const std::string path = (std::filesystem::path(flags.series_dir) / series_file_name(variant)).string();
      std::ofstream out(path, std::ios::binary);
      out << series_csv(variant);
      if (!out) return fail("cannot write " + path);
    }
  }
  if (flags.format == "json") {
    std::printf("%s\n", whatif_json(result).c_str());
  } else if (flags.format == "csv") {
    std::fputs(whatif_csv(result).c_str(), stdout);
  } else {
    std::fputs(whatif_table(result).c_str(), stdout);
  }
  return 0;
}

int run_report(const std::string& db, WhatIfFlags flags, const std::string& out_path) {
  if (flags.policies.empty()) flags.policies = {"partial", "full", "close_factor:0.5:0.95", "aave-v3.3"};
  WhatIfOptions options;
  if (!whatif_options(flags, &options)) return kExitBadInput;
  std::unique_ptr<Ledger> ledger;
  if (Status s = open_ledger(db, false, false, &ledger); !s.is_ok()) return fail(s.to_string());
  std::string html;
  if (Status s = build_report(*ledger, db, options, &html); !s.is_ok()) {
    return s.code() == Status::Code::InvalidArgument ? bad_input(s.message()) : fail(s.to_string());
  }
  std::ofstream out(out_path, std::ios::binary);
  out << html;
  if (!out.flush()) return fail("cannot write " + out_path);
  std::printf("report: %s (%zu bytes)\n", out_path.c_str(), html.size());
  return 0;
}

// Every argument and flag of every command: CLI11 writes them here.
struct CommandLine {
  std::string db, file;
  bool sync = false;
  uint64_t snapshot_every = kDefaultSnapshotEvery;
  ReplayFlags replay;
  std::string format = "table", only, labels_file;
  uint64_t account_id = 0, at = kHeadSeq;
  bool account_json = false;
  std::string expected_hash;
  GenerateOptions generate;
  std::string price_path;
  uint64_t risk_at = kHeadSeq;
  std::string risk_within, risk_format = "table";
  WhatIfFlags whatif, report;
  std::string report_out;
  ImportFlags import;
};

// A subcommand and what runs when it was given.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};
using Commands = std::vector<Command>;

const char* const kLabelsHelp = "account,address CSV (import aave --accounts): print addresses for ids";

// append, replay: the commands that write the log and replay it.
void add_log_commands(CLI::App& app, CommandLine& c, Commands* commands) {
  auto* append = app.add_subcommand("append", "append JSON Lines events to the ledger (atomic: all lines or none)");
  append->add_option("DB", c.db, "ledger directory (created if missing)")->required();
  append->add_option("FILE", c.file, "JSON Lines file, or - for stdin")->required();
  append->add_flag("--sync", c.sync, "fsync the write-ahead log before acknowledging (survives power loss)");
  append->add_option("--snapshot-every", c.snapshot_every, "write a state snapshot every N events (0: never)")
      ->capture_default_str();
  commands->push_back({append, [&c] { return run_append(c.db, c.file, c.sync, c.snapshot_every); }});

  auto* replay = app.add_subcommand("replay", "replay the log and print the state hash");
  replay->add_option("DB", c.db, "ledger directory")->required();
  replay->add_option("--to", c.replay.to, "stop after this seq (default: the head)");
  replay->add_flag("--json", c.replay.json, "print one JSON object");
  replay->add_flag("--trace", c.replay.trace, "print one JSON line per event with the state hash after it");
  replay->add_flag("--from-genesis", c.replay.from_genesis, "ignore snapshots; replay every event");
  commands->push_back({replay, [&c] { return run_replay(c.db, c.replay); }});
}

// audit, account, export, verify, prove, verify-proof: what the log holds, and its checks.
void add_reading_commands(CLI::App& app, CommandLine& c, Commands* commands) {
  auto* audit = app.add_subcommand("audit", "one audit record per liquidation event (SPEC §5.6)");
  audit->add_option("DB", c.db, "ledger directory")->required();
  audit->add_option("--format", c.format, "table, jsonl, csv or summary")
      ->check(CLI::IsMember({"table", "jsonl", "csv", "summary"}));
  audit->add_option("--only", c.only, "only records with this verdict")
      ->check(CLI::IsMember({"MINIMAL", "UNDER", "ALLOWED_EXCESS", "OVER_LIMIT", "WRONGFUL", "REJECTED",
                             "INVALID_RECORD", "ABSORBED"}));
  audit->add_option("--labels", c.labels_file, kLabelsHelp);
  commands->push_back({audit, [&c] { return run_audit(c.db, c.format, c.only, c.labels_file); }});

  auto* account = app.add_subcommand("account", "an account's balances, positions and health");
  account->add_option("DB", c.db, "ledger directory")->required();
  account->add_option("ID", c.account_id, "account id")->required();
  account->add_option("--at", c.at, "as of this seq (default: the head)");
  account->add_flag("--json", c.account_json, "print one JSON object");
  account->add_option("--labels", c.labels_file, kLabelsHelp);
  commands->push_back({account, [&c] { return run_account(c.db, c.account_id, c.at, c.account_json, c.labels_file); }});

  auto* export_cmd = app.add_subcommand("export", "write the log as JSON Lines (exact round trip)");
  export_cmd->add_option("DB", c.db, "ledger directory")->required();
  commands->push_back({export_cmd, [&c] { return run_export(c.db); }});

  auto* verify = app.add_subcommand(
      "verify", "check every record, the hash chain, every snapshot and a full re-replay; exit 0 only if all hold");
  verify->add_option("DB", c.db, "ledger directory")->required();
  commands->push_back({verify, [&c] { return run_verify(c.db); }});

  auto* prove = app.add_subcommand(
      "prove", "an inclusion proof of one account in the committed state, with the protocol's totals (JSON)");
  prove->add_option("DB", c.db, "ledger directory")->required();
  prove->add_option("ACCOUNT", c.account_id, "account id")->required();
  prove->add_option("--at", c.at, "as of this seq (default: the head)");
  commands->push_back({prove, [&c] { return run_prove(c.db, c.account_id, c.at); }});

  auto* verify_proof = app.add_subcommand(
      "verify-proof", "check an inclusion proof without the ledger; exit 0 only if it holds");
  verify_proof->add_option("FILE", c.file, "proof JSON file, or - for stdin")->required();
  verify_proof->add_option("--state-hash", c.expected_hash, "the state hash the proof must reach (lowercase hex)");
  commands->push_back({verify_proof, [&c] { return run_verify_proof(c.file, c.expected_hash); }});
}

// generate, risk, whatif, report: the synthetic market and the lab.
void add_lab_commands(CLI::App& app, CommandLine& c, Commands* commands) {
  auto* generate = app.add_subcommand(
      "generate", "write a deterministic synthetic market with a price crash as JSON Lines to stdout");
  generate->add_option("--seed", c.generate.seed, "random seed")->required();
  generate->add_option("--accounts", c.generate.accounts, "ordinary accounts")->required();
  generate->add_option("--events", c.generate.events, "number of JSON lines, exactly")->required();
  generate->add_option("--crash", c.generate.crash_pct, "depth of the price crash in percent")
      ->check(CLI::Range(0, 95))
      ->capture_default_str();
  generate->add_flag("--progress", c.generate.progress, "progress lines on stderr");
  generate->add_option("--price-path", c.price_path,
                       "follow the relative moves of a file of price lines (JSON Lines) instead of the synthetic crash");
  commands->push_back(
      {generate, [&c, generate] { return run_generate(c.generate, c.price_path, generate->count("--crash") > 0); }});

  auto* risk = app.add_subcommand(
      "risk", "per account and instrument, the exact price at which H_maint crosses 0 (docs/WHATIF.md)");
  risk->add_option("DB", c.db, "ledger directory")->required();
  risk->add_option("--at", c.risk_at, "as of this seq (default: the head)");
  risk->add_option("--within", c.risk_within, "table: the accounts whose nearest crossing is within PCT % of the price");
  risk->add_option("--format", c.risk_format, "table, json or csv")->check(CLI::IsMember({"table", "json", "csv"}));
  risk->add_option("--labels", c.labels_file, kLabelsHelp);
  commands->push_back({risk, [&c] { return run_risk(c.db, c.risk_at, c.risk_within, c.risk_format, c.labels_file); }});

  auto* whatif = app.add_subcommand(
      "whatif", "replay the log under other liquidation rules with a backstop keeper and price impact (docs/WHATIF.md)");
  whatif->add_option("DB", c.db, "ledger directory")->required();
  whatif->add_option("--policy", c.whatif.policies,
                     "partial, full, close_factor:CF:HF, aave-v3.3, chunked:F:COOLDOWN_S (repeat for several)")
      ->required();
  whatif->add_option("--impact", c.whatif.impact_file, "price impact JSON (docs/WHATIF.md); default: none");
  whatif->add_option("--to", c.whatif.to, "stop after this seq (default: the head)");
  whatif->add_option("--format", c.whatif.format, "table, json or csv")->check(CLI::IsMember({"table", "json", "csv"}));
  whatif->add_option("--series", c.whatif.series_dir, "write one CSV per variant over time into this directory");
  commands->push_back({whatif, [&c] { return run_whatif_cmd(c.db, c.whatif); }});

  auto* report = app.add_subcommand(
      "report", "one self-contained HTML file: price paths, the variants side by side, the liquidation map, the audit");
  report->add_option("DB", c.db, "ledger directory")->required();
  report->add_option("--out", c.report_out, "the HTML file to write")->required();
  report->add_option("--policy", c.report.policies,
                     "as for whatif (default: partial, full, close_factor:0.5:0.95, aave-v3.3)");
  report->add_option("--impact", c.report.impact_file, "price impact JSON (docs/WHATIF.md); default: none");
  commands->push_back({report, [&c] { return run_report(c.db, c.report, c.report_out); }});
}

// import aave, import chainlink: a real protocol's history in.
void add_import_commands(CLI::App& app, CommandLine& c, Commands* commands) {
  auto* import_cmd = app.add_subcommand("import", "convert a real protocol's history to JSON Lines (docs/IMPORT.md)");
  import_cmd->require_subcommand(1);
  auto* aave =
      import_cmd->add_subcommand("aave", "Aave v2/v3 Pool events (JSON Lines or CSV) -> an observe-mode log on stdout");
  auto* chainlink =
      import_cmd->add_subcommand("chainlink", "Chainlink AnswerUpdated logs or getRoundData dumps -> price lines on stdout");
  for (CLI::App* sub : {aave, chainlink}) {
    sub->add_option("--config", c.import.config, "MARKET.json (docs/IMPORT.md)")->required();
    sub->add_option("FILES", c.import.inputs, "event files, JSON Lines or CSV, or - for stdin")->required();
  }
  aave->add_option("--accounts", c.import.accounts_out, "write the account id -> address map (CSV) here");
  aave->add_option("--prices", c.import.prices, "price lines (import chainlink's output) merged by ts");
  aave->add_flag("--skip-unknown", c.import.skip_unknown, "count unknown event names instead of refusing");
  commands->push_back({aave, [&c] { return run_import("aave", c.import); }});
  commands->push_back({chainlink, [&c] { return run_import("chainlink", c.import); }});
}

}  // namespace
}  // namespace liql

int main(int argc, char** argv) {
  using namespace liql;
  CLI::App app{"liqledger: replay a leveraged protocol's event log and audit every liquidation (SPEC.md)"};
  app.footer(
      "Exit codes: 0 ok; 1 a check found a problem (verify, verify-proof); 2 usage or bad input (an unknown flag,\n"
      "a refused append, a malformed flag value or file, an account that does not exist); 3 corrupt data or I/O\n"
      "(a missing ledger, a record that fails its checks, a file that cannot be written).");
  app.require_subcommand(1);
  CommandLine command_line;
  Commands commands;
  add_log_commands(app, command_line, &commands);
  add_reading_commands(app, command_line, &commands);
  add_lab_commands(app, command_line, &commands);
  add_import_commands(app, command_line, &commands);
  ClusterCommands cluster(app);  // publish, follow, audit-plan, audit-worker, audit-join

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, or the error
    return code == 0 ? 0 : kExitBadInput;
  }
  if (std::optional<int> code = cluster.run()) return *code;
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return kExitBadInput;  // unreachable: a subcommand is required
}
