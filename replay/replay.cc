#include "replay/replay.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "replay/proof.h"
#include "schemas/bytes.h"
#include "schemas/event_check.h"
#include "schemas/event_types.h"

namespace liql {

Status replay(Ledger& ledger, uint64_t to_seq, Machine* machine, ReplayCounts* counts, const EventVisitor& visit,
              uint64_t progress) {
  const uint64_t last = std::min(to_seq, ledger.head().seq);
  std::unique_ptr<LogReader> reader = ledger.read(machine->state().seq + 1, last);
  LogRecord record;
  Commitment hasher;
  Outcome outcome;
  while (reader->next(&record)) {
    if (const fb::Event* ahead = reader->peek()) machine->prefetch(*ahead);
    // A fault of the machine stops the replay at this seq, the state that of the event before.
    if (Status s = machine->apply(*record.event, record.seq, &outcome); !s.is_ok()) return s;
    (outcome.applied() ? counts->applied : counts->rejected) += 1;
    hasher.touch(outcome.touched);
    if (visit) {
      if (Status s = visit(EventView{record, outcome, machine->state(), hasher}); !s.is_ok()) return s;
    }
    if (progress != 0 && record.seq % progress == 0) {
      std::fprintf(stderr, "replay: seq %llu of %llu\n", static_cast<unsigned long long>(record.seq),
                   static_cast<unsigned long long>(last));
    }
  }
  if (!reader->status().is_ok()) return reader->status();
  if (machine->state().seq != last) {
    return Status::corruption("replay stopped at seq " + std::to_string(machine->state().seq) + " of " +
                              std::to_string(last));
  }
  return Status::ok();
}

// Written by hand (one per event, a hash after each: the JSON library's tree
// would cost as much as the rest of the line); every value is a number, a
// lowercase hex digest or one of the engine's fixed names, none needs escaping.
std::string trace_line(const EventView& view) {
  std::string line = fmt::format(R"({{"seq":{},"type":"{}","result":"{}","reason":"{}")", view.record.seq,
                                 event_type_name(view.record.event->body_type()),
                                 view.outcome.applied() ? "applied" : "rejected", reason_name(view.outcome.reason));
  // SPEC §5.5: an observe-mode event applied in spite of a rule carries its flags.
  if (view.outcome.flags != 0) {
    line += R"(,"flags":[)";
    const char* separator = "";
    for (std::string_view name : flag_names(view.outcome.flags)) {
      line += fmt::format(R"({}"{}")", separator, name);
      separator = ",";
    }
    line += ']';
  }
  line += R"(,"state_hash":")" + to_hex(view.hash()) + "\"}";
  return line;
}

std::string replay_summary_json(const State& state, const ReplayCounts& counts) {
  nlohmann::ordered_json out;
  out["seq"] = state.seq;
  out["ts"] = state.ts;
  out["state_hash"] = to_hex(state_hash(state));
  out["accounts"] = state.accounts.size();
  out["events_applied"] = counts.applied;
  out["events_rejected"] = counts.rejected;
  out["totals"] = sums_json(state.totals);
  return out.dump();
}

namespace {

void warn_old_snapshot(uint64_t seq) {
  std::fprintf(stderr,
               "replay: snapshot at seq %llu has the pre-v2 format (LIQL-STATE-1): ignored, replaying without it "
               "(append writes v2 snapshots from now on)\n",
               static_cast<unsigned long long>(seq));
}

}  // namespace

// The decoded state must hash (SPEC §7.2) to the stored state hash.
Status decode_snapshot_payload(uint64_t seq, std::string_view payload, const Hash& stored_hash, State* state,
                               ReplayCounts* counts, Commitment* commitment) {
  const std::string where = "snapshot at seq " + std::to_string(seq);
  if (payload.size() < 16) return Status::corruption(where + ": truncated");
  Result<State> decoded = decode_state(payload.substr(16));
  if (!decoded.is_ok()) {
    const Status& why = decoded.status();
    if (why.code() != Status::Code::Corruption) return Status::internal(where + ": " + why.message());
    return Status::corruption(where + ": " + why.message());
  }
  *state = std::move(decoded).value();
  const Hash hash = commitment != nullptr ? commitment->hash(*state) : state_hash(*state);
  if (hash != stored_hash) return Status::corruption(where + ": state hash mismatch");
  if (state->seq != seq) return Status::corruption(where + ": holds the state of seq " + std::to_string(state->seq));
  counts->applied = load_be64(payload);
  counts->rejected = load_be64(payload.substr(8));
  if (counts->applied + counts->rejected != seq) return Status::corruption(where + ": event counts do not add up");
  return Status::ok();
}

bool is_pre_v2_snapshot(std::string_view payload) {
  return payload.size() >= 16 && payload.substr(16, kPreV2SnapshotTag.size()) == kPreV2SnapshotTag;
}

Status put_snapshot(Ledger& ledger, const Machine& machine, const ReplayCounts& counts) {
  const std::string bytes = encode_state(machine.state());
  std::string payload;
  payload.reserve(16 + bytes.size());
  append_be(payload, counts.applied, 8);
  append_be(payload, counts.rejected, 8);
  payload += bytes;
  return ledger.put_snapshot(machine.state().seq, payload, state_hash(machine.state()));
}

Status restore_snapshot(Ledger& ledger, uint64_t to_seq, Machine* machine, ReplayCounts* counts,
                        uint64_t* snapshot_seq) {
  *snapshot_seq = 0;
  uint64_t seq = 0;
  std::string payload;
  Hash stored{};
  Status found = ledger.newest_snapshot(std::min(to_seq, ledger.head().seq), &seq, &payload, &stored);
  if (found.code() == Status::Code::NotFound) return Status::ok();
  if (!found.is_ok()) return found;
  if (is_pre_v2_snapshot(payload)) {
    warn_old_snapshot(seq);
    return Status::ok();
  }
  State state;
  if (Status s = decode_snapshot_payload(seq, payload, stored, &state, counts); !s.is_ok()) return s;
  *machine = Machine(std::move(state));
  *snapshot_seq = seq;
  return Status::ok();
}

Status load_state(Ledger& ledger, uint64_t to_seq, Machine* machine, ReplayCounts* counts, uint64_t progress) {
  uint64_t snapshot_seq = 0;
  if (Status s = restore_snapshot(ledger, to_seq, machine, counts, &snapshot_seq); !s.is_ok()) return s;
  return replay(ledger, to_seq, machine, counts, {}, progress);
}

Status verify(Ledger& ledger, VerifyReport* report, uint64_t progress) {
  std::vector<uint64_t> snapshots;
  if (Status s = ledger.list_snapshots(&snapshots); !s.is_ok()) return s;
  const uint64_t head = ledger.head().seq;
  if (!snapshots.empty() && snapshots.back() > head) {
    return Status::corruption("snapshot at seq " + std::to_string(snapshots.back()) + " is beyond the head seq " +
                              std::to_string(head));
  }
  size_t next_snapshot = 0;
  Machine machine;
  ReplayCounts counts;
  auto check = [&](const EventView& view) {
    report->records += 1;
    report->head_chain = view.record.chain;
    if (next_snapshot == snapshots.size() || snapshots[next_snapshot] != view.record.seq) return Status::ok();
    uint64_t seq = 0;
    std::string payload;
    Hash stored{};
    if (Status s = ledger.newest_snapshot(view.record.seq, &seq, &payload, &stored); !s.is_ok()) return s;
    ++next_snapshot;
    if (is_pre_v2_snapshot(payload)) {
      warn_old_snapshot(seq);
      report->old_snapshots += 1;
      return Status::ok();
    }
    State state;
    ReplayCounts snapshot_counts;
    if (Status s = decode_snapshot_payload(seq, payload, stored, &state, &snapshot_counts); !s.is_ok()) return s;
    if (stored != view.hash() || snapshot_counts.applied != counts.applied ||
        snapshot_counts.rejected != counts.rejected) {
      return Status::corruption("snapshot at seq " + std::to_string(seq) + ": differs from the replayed state");
    }
    report->snapshots += 1;
    return Status::ok();
  };
  if (Status s = replay(ledger, kHeadSeq, &machine, &counts, check, progress); !s.is_ok()) return s;
  if (report->head_chain != ledger.head().chain) {
    return Status::corruption("meta head chain differs from the chain of record seq " + std::to_string(head));
  }
  report->state_hash = state_hash(machine.state());
  return Status::ok();
}

Status append_jsonl(Ledger& ledger, std::string_view text, AppendResult* result, InputError* error,
                    uint64_t snapshot_every) {
  // The importer needs the listings and mode in force at the head.
  Machine machine;
  ReplayCounts counts;
  if (Status s = load_state(ledger, kHeadSeq, &machine, &counts); !s.is_ok()) return s;
  JsonlImporter importer(machine.state());
  const bool accepted = for_each_line(
      text, [&](std::string_view line, size_t number) { return importer.add_line(line, number, error); });
  if (!accepted) return Status::invalid_argument(error->to_string());
  size_t failed = 0;
  if (Status s = ledger.append(importer.events(), &result->head, &failed); !s.is_ok()) {
    if (s.code() == Status::Code::InvalidArgument && failed < importer.line_numbers().size()) {
      *error = InputError{importer.line_numbers()[failed], "", s.message()};
      return Status::invalid_argument(error->to_string());
    }
    return s;
  }
  result->appended = importer.events().size();
  if (snapshot_every == 0) return Status::ok();
  // Snapshots are derived data: the events read back (and so checked) from
  // the log, applied, and the state written at every multiple of the interval.
  auto snapshot = [&](const EventView& view) {
    return view.record.seq % snapshot_every == 0 ? put_snapshot(ledger, machine, counts) : Status::ok();
  };
  return replay(ledger, kHeadSeq, &machine, &counts, snapshot);
}

bool MemoryRun::add_line(std::string_view line, size_t line_number, InputError* error) {
  JsonlImporter importer(machine_.state());
  if (!importer.add_line(line, line_number, error)) return false;
  for (const std::string& bytes : importer.events()) {
    std::string field, message;
    const fb::Event* event = verify_event_buffer(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                                 &field, &message);
    if (event == nullptr) {
      *error = InputError{line_number, field, message};
      return false;
    }
    Outcome outcome;
    if (Status s = machine_.apply(*event, machine_.state().seq + 1, &outcome); !s.is_ok()) {
      *error = InputError{line_number, "", s.to_string()};
      return false;
    }
    outcomes_.push_back(std::move(outcome));
    events_.push_back(bytes);
  }
  return true;
}

bool MemoryRun::add_text(std::string_view text, InputError* error) {
  return for_each_line(text, [&](std::string_view line, size_t number) { return add_line(line, number, error); });
}

}  // namespace liql
