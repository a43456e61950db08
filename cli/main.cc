// liqledger: the command line, a thin shell over the library (ledger/,
// engine/, replay/). Parses flags, calls the library, prints. Errors go to
// stderr with a non-zero exit code.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "replay/aave_import.h"
#include "replay/account_view.h"
#include "replay/labels.h"
#include "replay/audit.h"
#include "tools/generate.h"
#include "replay/jsonl_export.h"
#include "replay/proof.h"
#include "replay/report.h"
#include "replay/whatif.h"
#include "replay/replay.h"
#include "replay/risk.h"
#include "schemas/event_types.h"

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
  std::string db, file, format = "table", only, labels_file;
  bool sync = false;
  ReplayFlags replay_flags;
  uint64_t account_id = 0, at = kHeadSeq;
  bool account_json_flag = false;

  auto* append = app.add_subcommand("append", "append JSON Lines events to the ledger (atomic: all lines or none)");
  append->add_option("DB", db, "ledger directory (created if missing)")->required();
  append->add_option("FILE", file, "JSON Lines file, or - for stdin")->required();
  append->add_flag("--sync", sync, "fsync the write-ahead log before acknowledging (survives power loss)");
  uint64_t snapshot_every = kDefaultSnapshotEvery;
  append->add_option("--snapshot-every", snapshot_every, "write a state snapshot every N events (0: never)")
      ->capture_default_str();

  auto* replay_cmd = app.add_subcommand("replay", "replay the log and print the state hash");
  replay_cmd->add_option("DB", db, "ledger directory")->required();
  replay_cmd->add_option("--to", replay_flags.to, "stop after this seq (default: the head)");
  replay_cmd->add_flag("--json", replay_flags.json, "print one JSON object");
  replay_cmd->add_flag("--trace", replay_flags.trace, "print one JSON line per event with the state hash after it");
  replay_cmd->add_flag("--from-genesis", replay_flags.from_genesis, "ignore snapshots; replay every event");

  auto* audit = app.add_subcommand("audit", "one audit record per liquidation event (SPEC §5.6)");
  audit->add_option("DB", db, "ledger directory")->required();
  audit->add_option("--format", format, "table, jsonl, csv or summary")
      ->check(CLI::IsMember({"table", "jsonl", "csv", "summary"}));
  audit->add_option("--only", only, "only records with this verdict")
      ->check(CLI::IsMember({"MINIMAL", "UNDER", "ALLOWED_EXCESS", "OVER_LIMIT", "WRONGFUL", "REJECTED",
                             "INVALID_RECORD", "ABSORBED"}));
  const char* const labels_help = "account,address CSV (import aave --accounts): print addresses for ids";
  audit->add_option("--labels", labels_file, labels_help);

  auto* account = app.add_subcommand("account", "an account's balances, positions and health");
  account->add_option("DB", db, "ledger directory")->required();
  account->add_option("ID", account_id, "account id")->required();
  account->add_option("--at", at, "as of this seq (default: the head)");
  account->add_flag("--json", account_json_flag, "print one JSON object");
  account->add_option("--labels", labels_file, labels_help);

  auto* export_cmd = app.add_subcommand("export", "write the log as JSON Lines (exact round trip)");
  export_cmd->add_option("DB", db, "ledger directory")->required();

  auto* verify_cmd = app.add_subcommand(
      "verify", "check every record, the hash chain, every snapshot and a full re-replay; exit 0 only if all hold");
  verify_cmd->add_option("DB", db, "ledger directory")->required();

  auto* prove = app.add_subcommand(
      "prove", "an inclusion proof of one account in the committed state, with the protocol's totals (JSON)");
  prove->add_option("DB", db, "ledger directory")->required();
  prove->add_option("ACCOUNT", account_id, "account id")->required();
  prove->add_option("--at", at, "as of this seq (default: the head)");

  std::string expected_hash;
  auto* verify_proof = app.add_subcommand(
      "verify-proof", "check an inclusion proof without the ledger; exit 0 only if it holds");
  verify_proof->add_option("FILE", file, "proof JSON file, or - for stdin")->required();
  verify_proof->add_option("--state-hash", expected_hash, "the state hash the proof must reach (lowercase hex)");

  GenerateOptions generate_options;
  auto* generate = app.add_subcommand(
      "generate", "write a deterministic synthetic market with a price crash as JSON Lines to stdout");
  generate->add_option("--seed", generate_options.seed, "random seed")->required();
  generate->add_option("--accounts", generate_options.accounts, "ordinary accounts")->required();
  generate->add_option("--events", generate_options.events, "number of JSON lines, exactly")->required();
  generate->add_option("--crash", generate_options.crash_pct, "depth of the price crash in percent")
      ->check(CLI::Range(0, 95))
      ->capture_default_str();
  generate->add_flag("--progress", generate_options.progress, "progress lines on stderr");
  std::string price_path;
  generate->add_option("--price-path", price_path,
                       "follow the relative moves of a file of price lines (JSON Lines) instead of the synthetic crash");

  uint64_t risk_at = kHeadSeq;
  std::string risk_within, risk_format = "table";
  auto* risk = app.add_subcommand(
      "risk", "per account and instrument, the exact price at which H_maint crosses 0 (docs/WHATIF.md)");
  risk->add_option("DB", db, "ledger directory")->required();
  risk->add_option("--at", risk_at, "as of this seq (default: the head)");
  risk->add_option("--within", risk_within, "table: the accounts whose nearest crossing is within PCT % of the price");
  risk->add_option("--format", risk_format, "table, json or csv")->check(CLI::IsMember({"table", "json", "csv"}));
  risk->add_option("--labels", labels_file, labels_help);

  WhatIfFlags whatif_flags;
  auto* whatif = app.add_subcommand(
      "whatif", "replay the log under other liquidation rules with a backstop keeper and price impact (docs/WHATIF.md)");
  whatif->add_option("DB", db, "ledger directory")->required();
  whatif->add_option("--policy", whatif_flags.policies,
                     "partial, full, close_factor:CF:HF, aave-v3.3, chunked:F:COOLDOWN_S (repeat for several)")
      ->required();
  whatif->add_option("--impact", whatif_flags.impact_file, "price impact JSON (docs/WHATIF.md); default: none");
  whatif->add_option("--to", whatif_flags.to, "stop after this seq (default: the head)");
  whatif->add_option("--format", whatif_flags.format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  whatif->add_option("--series", whatif_flags.series_dir, "write one CSV per variant over time into this directory");

  WhatIfFlags report_flags;
  std::string report_out;
  auto* report = app.add_subcommand(
      "report", "one self-contained HTML file: price paths, the variants side by side, the liquidation map, the audit");
  report->add_option("DB", db, "ledger directory")->required();
  report->add_option("--out", report_out, "the HTML file to write")->required();
  report->add_option("--policy", report_flags.policies,
                     "as for whatif (default: partial, full, close_factor:0.5:0.95, aave-v3.3)");
  report->add_option("--impact", report_flags.impact_file, "price impact JSON (docs/WHATIF.md); default: none");

  ImportFlags import_flags;
  auto* import_cmd = app.add_subcommand("import", "convert a real protocol's history to JSON Lines (docs/IMPORT.md)");
  import_cmd->require_subcommand(1);
  auto* import_aave = import_cmd->add_subcommand(
      "aave", "Aave v2/v3 Pool events (JSON Lines or CSV) -> an observe-mode log on stdout");
  auto* import_chainlink =
      import_cmd->add_subcommand("chainlink", "Chainlink AnswerUpdated logs or getRoundData dumps -> price lines on stdout");
  for (CLI::App* sub : {import_aave, import_chainlink}) {
    sub->add_option("--config", import_flags.config, "MARKET.json (docs/IMPORT.md)")->required();
    sub->add_option("FILES", import_flags.inputs, "event files, JSON Lines or CSV, or - for stdin")->required();
  }
  import_aave->add_option("--accounts", import_flags.accounts_out, "write the account id -> address map (CSV) here");
  import_aave->add_option("--prices", import_flags.prices, "price lines (import chainlink's output) merged by ts");
  import_aave->add_flag("--skip-unknown", import_flags.skip_unknown, "count unknown event names instead of refusing");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, or the error
    return code == 0 ? 0 : kExitBadInput;
  }
  if (import_aave->parsed()) return run_import("aave", import_flags);
  if (import_chainlink->parsed()) return run_import("chainlink", import_flags);
  if (append->parsed()) return run_append(db, file, sync, snapshot_every);
  if (verify_cmd->parsed()) return run_verify(db);
  if (replay_cmd->parsed()) return run_replay(db, replay_flags);
  if (audit->parsed()) return run_audit(db, format, only, labels_file);
  if (account->parsed()) return run_account(db, account_id, at, account_json_flag, labels_file);
  if (export_cmd->parsed()) return run_export(db);
  if (generate->parsed()) return run_generate(generate_options, price_path, generate->count("--crash") > 0);
  if (prove->parsed()) return run_prove(db, account_id, at);
  if (verify_proof->parsed()) return run_verify_proof(file, expected_hash);
  if (risk->parsed()) return run_risk(db, risk_at, risk_within, risk_format, labels_file);
  if (whatif->parsed()) return run_whatif_cmd(db, whatif_flags);
  if (report->parsed()) return run_report(db, report_flags, report_out);
  return kExitBadInput;  // unreachable: a subcommand is required
}
