#pragma once
// Replay: the log read back, verified, and applied to the state machine
// (SPEC §6, §7). The CLI and the tests drive the library through here.

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "engine/machine.h"
#include "ledger/ledger.h"
#include "replay/jsonl_import.h"

namespace liql {

inline constexpr uint64_t kHeadSeq = std::numeric_limits<uint64_t>::max();

struct ReplayCounts {
  uint64_t applied = 0;
  uint64_t rejected = 0;
};

// One event as replay applied it; `state` is the state after it.
struct EventView {
  const LogRecord& record;
  const Outcome& outcome;
  const State& state;
  Commitment& hasher;
  // state_hash(state), computed incrementally (only touched accounts re-encoded).
  Hash hash() const { return hasher.hash(state); }
};
// A visitor may stop the replay by returning a non-OK status.
using EventVisitor = std::function<Status(const EventView&)>;

// Replays seq 1..to_seq (clamped to the head) into *machine, which must be
// fresh. A record that fails its checks stops it with Corruption naming the
// seq; an event the machine cannot process (Machine::apply's Internal) with
// that status, *machine then holding the state of the event before; a
// visitor's non-OK status with that status. When `progress` is set, a line
// goes to stderr every `progress` events.
Status replay(Ledger& ledger, uint64_t to_seq, Machine* machine, ReplayCounts* counts,
              const EventVisitor& visit = {}, uint64_t progress = 0);

// ---- snapshots (SPEC §6.1) ---------------------------------------------------
//
// A snapshot's payload, as the ledger stores it beside its state hash:
// u64 BE events applied ‖ u64 BE events rejected ‖ snapshot encoding
// (engine/state.h, docs/STATE_ENCODING.md). The stored hash is the state hash
// (SPEC §7.2) of the encoded state; restoring recomputes and compares it.
// Snapshots of the pre-v2 format are ignored with a warning: replay goes on
// without them.
inline constexpr uint64_t kDefaultSnapshotEvery = 50'000;

// Restores the newest snapshot with seq ≤ to_seq into *machine (a fresh one),
// after checking its hash; *snapshot_seq = 0 when there is none. A snapshot
// that fails its check is Corruption naming its seq, never used.
Status restore_snapshot(Ledger& ledger, uint64_t to_seq, Machine* machine, ReplayCounts* counts,
                        uint64_t* snapshot_seq);
// The state at to_seq: the newest good snapshot, then replay of what follows.
Status load_state(Ledger& ledger, uint64_t to_seq, Machine* machine, ReplayCounts* counts, uint64_t progress = 0);
// Decodes and checks a snapshot payload (as newest_snapshot returns it) of
// `seq`: the state must hash to stored_hash, hold seq, and the counts add up;
// Corruption naming the seq otherwise (Internal when memory runs out). With a
// fresh `commitment`, the check builds its tree, which then serves the
// state's later hashes incrementally (no second pass over the state).
Status decode_snapshot_payload(uint64_t seq, std::string_view payload, const Hash& stored_hash, State* state,
                               ReplayCounts* counts, Commitment* commitment = nullptr);
// A snapshot payload written before SPEC v2 (LIQL-STATE-1 encoding and hash):
// derived data that v2 cannot use, never corruption.
bool is_pre_v2_snapshot(std::string_view payload);
// Writes the snapshot of the machine's state at its seq.
Status put_snapshot(Ledger& ledger, const Machine& machine, const ReplayCounts& counts);

// `liqledger verify`: every record (verifier and chain), the head against the
// last record, every snapshot's hash and its equality with the replayed state.
// The first failure is returned, naming its seq.
struct VerifyReport {
  uint64_t records = 0;
  uint64_t snapshots = 0;
  uint64_t old_snapshots = 0;  // pre-v2 snapshots, ignored (derived data)
  Hash head_chain{};
  Hash state_hash{};
};
Status verify(Ledger& ledger, VerifyReport* report, uint64_t progress = 0);

// The JSON line `replay --trace` prints for one event:
// {"seq","type","result":"applied"|"rejected","reason",["flags",]"state_hash"};
// "flags" (SPEC §5.5) only on an event with findings, e.g. an observe-mode
// withdrawal applied in spite of INSUFFICIENT_HEALTH, or a liquidation's flags.
std::string trace_line(const EventView& view);
// The object `replay --json` prints:
// {"seq","ts","state_hash","accounts","events_applied","events_rejected",
//  "totals":[{"asset","credit","debit"}]} (totals: the commitment's root sums).
std::string replay_summary_json(const State& state, const ReplayCounts& counts);

// Imports JSON Lines against the ledger's head and appends them in one atomic
// batch: all lines or none. A refused line fills *error (line and field).
struct AppendResult {
  uint64_t appended = 0;
  Head head;
};
// Snapshots are written at every multiple of `snapshot_every` (0: never).
Status append_jsonl(Ledger& ledger, std::string_view text, AppendResult* result, InputError* error,
                    uint64_t snapshot_every = kDefaultSnapshotEvery);

// The same input path without a ledger: imports and applies line by line.
// For tests, the generator and what-if runs. Returns false on a refused line,
// and on a line the machine could not process (Machine::apply not OK: *error
// then has no field and the status as its message; the line is not applied).
class MemoryRun {
 public:
  bool add_line(std::string_view line, size_t line_number, InputError* error);
  bool add_text(std::string_view text, InputError* error);
  const Machine& machine() const { return machine_; }
  const std::vector<Outcome>& outcomes() const { return outcomes_; }
  const std::vector<std::string>& events() const { return events_; }

 private:
  Machine machine_;
  std::vector<Outcome> outcomes_;
  std::vector<std::string> events_;
};

// Splits text into lines ('\n', a trailing '\r' dropped), numbered from 1.
template <typename Visit>
bool for_each_line(std::string_view text, Visit visit) {
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!visit(line, ++line_number)) return false;
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return true;
}

}  // namespace liql
