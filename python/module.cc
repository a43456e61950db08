// _liqledger: the C++ half of the Python module (python/liqledger/__init__.py
// is the other). Thin on purpose: every call is one library function, and
// results cross as the library's own JSON text, which the Python side parses
// with exact integers. A Status that is not ok becomes liqledger.Error; any
// other C++ exception is translated by pybind11, never left to escape.
//
// Thread safety: the library's Ledger is used from one thread at a time; the
// GIL is released during replays, so each wrapped ledger holds a mutex.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/commitment.h"
#include "replay/account_view.h"
#include "replay/audit.h"
#include "replay/proof.h"
#include "replay/replay.h"
#include "replay/whatif.h"

namespace py = pybind11;

namespace liql {
namespace {

// Raised as liqledger.Error (registered in the module below).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void check(const Status& status) {
  if (!status.is_ok()) throw Error(status.to_string());
}

uint64_t seq_or_head(std::optional<uint64_t> seq) { return seq.value_or(kHeadSeq); }

// A replayed state: what `replay --json` and `account --json` print.
class StateSnapshot {
 public:
  StateSnapshot(Machine machine, ReplayCounts counts) : machine_(std::move(machine)), counts_(counts) {}
  const State& state() const { return machine_.state(); }
  std::string summary_json() const { return replay_summary_json(state(), counts_); }
  std::string account_view_json(AccountId id) const {
    if (state().account(id) == nullptr) {
      throw Error(fmt::format("not found: account {} does not exist at seq {}", id, state().seq));
    }
    return account_json(state(), id);
  }
  std::vector<AccountId> account_ids() const { return state().order; }

 private:
  Machine machine_;
  ReplayCounts counts_;
};

// A ledger opened read-only (a RocksDB secondary instance: it may sit beside a
// writer and sees the log as of open()).
class ReadLedger {
 public:
  explicit ReadLedger(const std::string& path) {
    LedgerOptions options;
    options.read_only = true;
    options.create_if_missing = false;
    check(Ledger::open(path, options, &ledger_));
  }

  uint64_t head_seq() const { return ledger_->head().seq; }
  std::string head_chain() const { return to_hex(ledger_->head().chain); }
  uint64_t head_ts() const { return ledger_->head().ts; }

  std::unique_ptr<StateSnapshot> replay_to(std::optional<uint64_t> to) {
    std::lock_guard lock(mutex_);
    Machine machine;
    ReplayCounts counts;
    check(load_state(*ledger_, seq_or_head(to), &machine, &counts));
    return std::make_unique<StateSnapshot>(std::move(machine), counts);
  }

  // audit_json of every liquidation up to `to`, in seq order.
  std::vector<std::string> audit_lines(std::optional<uint64_t> to) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> lines;
    Machine machine;
    ReplayCounts counts;
    auto visit = [&](const EventView& view) {
      if (!view.outcome.audit) return Status::ok();
      lines.push_back(audit_json(AuditRecord{view.record.seq, view.record.event->ts(), *view.outcome.audit, view.hash()}));
      return Status::ok();
    };
    check(replay(*ledger_, seq_or_head(to), &machine, &counts, visit));
    return lines;
  }

  std::string prove(AccountId id, std::optional<uint64_t> at) {
    std::lock_guard lock(mutex_);
    Machine machine;
    ReplayCounts counts;
    check(load_state(*ledger_, seq_or_head(at), &machine, &counts));
    Commitment commitment;
    const std::optional<InclusionProof> proof = commitment.prove(machine.state(), id);
    if (!proof) throw Error(fmt::format("not found: account {} does not exist at seq {}", id, machine.state().seq));
    return proof_json(*proof);
  }

  std::string whatif(const std::vector<std::string>& policies, const std::string& impact_json,
                     std::optional<uint64_t> to) {
    std::lock_guard lock(mutex_);
    WhatIfOptions options;
    options.policies = policies;
    options.to_seq = seq_or_head(to);
    std::string error;
    if (!impact_json.empty() && !parse_impact(impact_json, &options.impact, &error)) {
      throw Error("invalid argument: impact: " + error);
    }
    WhatIfResult result;
    check(run_whatif(*ledger_, options, &result));
    return whatif_json(result);
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<Ledger> ledger_;
};

// (ok, message): whether the proof holds, as `verify-proof` decides it.
// A malformed proof is an Error (bad input), not a proof that fails.
std::pair<bool, std::string> verify_proof_text(const std::string& text, const std::string& expected_hash) {
  InclusionProof proof;
  check(parse_proof(text, &proof));
  std::string why;
  if (!verify_inclusion(proof, &why)) return {false, "proof does not hold: " + why};
  const std::string proved = to_hex(proof.state_hash);
  if (!expected_hash.empty() && expected_hash != proved) {
    return {false, "proof does not hold: it proves state " + proved + ", not the expected " + expected_hash};
  }
  return {true, fmt::format("ok: account {} in state {} at seq {}", proof.id, proved, proof.seq)};
}

// Appends JSON Lines in one atomic batch (creating the ledger if missing):
// (events appended, head seq). A refused line is an Error naming line and field.
std::pair<uint64_t, uint64_t> append_text(const std::string& path, const std::string& text, bool sync,
                                          uint64_t snapshot_every) {
  LedgerOptions options;
  options.sync = sync;
  std::unique_ptr<Ledger> ledger;
  check(Ledger::open(path, options, &ledger));
  AppendResult result;
  InputError error;
  const Status status = append_jsonl(*ledger, text, &result, &error, snapshot_every);
  if (!status.is_ok() && !error.message.empty()) throw Error("invalid argument: " + error.to_string());
  check(status);
  return {result.appended, result.head.seq};
}

}  // namespace
}  // namespace liql

PYBIND11_MODULE(_liqledger, m) {
  using namespace liql;
  m.doc() = "liqledger's C++ library (internal: use the liqledger package)";
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  using release = py::call_guard<py::gil_scoped_release>;

  py::class_<StateSnapshot>(m, "State")
      .def_property_readonly("seq", [](const StateSnapshot& s) { return s.state().seq; })
      .def_property_readonly("ts", [](const StateSnapshot& s) { return s.state().ts; })
      .def_property_readonly("state_hash", [](const StateSnapshot& s) { return to_hex(state_hash(s.state())); })
      .def_property_readonly("accounts", [](const StateSnapshot& s) { return s.state().accounts.size(); })
      .def("summary_json", &StateSnapshot::summary_json)
      .def("account_json", &StateSnapshot::account_view_json, py::arg("id"))
      .def("account_ids", &StateSnapshot::account_ids);

  py::class_<ReadLedger>(m, "Ledger")
      .def(py::init<const std::string&>(), py::arg("path"), release())
      .def_property_readonly("head_seq", &ReadLedger::head_seq)
      .def_property_readonly("head_chain", &ReadLedger::head_chain)
      .def_property_readonly("head_ts", &ReadLedger::head_ts)
      .def("replay", &ReadLedger::replay_to, py::arg("to") = py::none(), release())
      .def("audit_lines", &ReadLedger::audit_lines, py::arg("to") = py::none(), release())
      .def("prove", &ReadLedger::prove, py::arg("account"), py::arg("at") = py::none(), release())
      .def("whatif", &ReadLedger::whatif, py::arg("policies"), py::arg("impact_json") = "",
           py::arg("to") = py::none(), release());

  m.def("verify_proof", &verify_proof_text, py::arg("text"), py::arg("state_hash") = "", release());
  m.def("append", &append_text, py::arg("path"), py::arg("text"), py::arg("sync") = false,
        py::arg("snapshot_every") = kDefaultSnapshotEvery, release());
}
