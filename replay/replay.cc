#include "replay/replay.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "schemas/event_check.h"
#include "schemas/event_types.h"

namespace liql {

Status replay(Ledger& ledger, uint64_t to_seq, Machine* machine, ReplayCounts* counts, const EventVisitor& visit,
              uint64_t progress) {
  const uint64_t last = std::min(to_seq, ledger.head().seq);
  std::unique_ptr<LogReader> reader = ledger.read(machine->state().seq + 1, last);
  LogRecord record;
  while (reader->next(&record)) {
    const Outcome outcome = machine->apply(*record.event, record.seq);
    (outcome.applied() ? counts->applied : counts->rejected) += 1;
    if (visit) {
      if (Status s = visit(EventView{record, outcome, machine->state()}); !s.is_ok()) return s;
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

std::string trace_line(const EventView& view) {
  nlohmann::ordered_json line;
  line["seq"] = view.record.seq;
  line["type"] = std::string(event_type_name(view.record.event->body_type()));
  line["result"] = view.outcome.applied() ? "applied" : "rejected";
  line["reason"] = std::string(reason_name(view.outcome.reason));
  line["state_hash"] = to_hex(state_hash(view.state));
  return line.dump();
}

std::string replay_summary_json(const State& state, const ReplayCounts& counts) {
  nlohmann::ordered_json out;
  out["seq"] = state.seq;
  out["ts"] = state.ts;
  out["state_hash"] = to_hex(state_hash(state));
  out["accounts"] = state.accounts.size();
  out["events_applied"] = counts.applied;
  out["events_rejected"] = counts.rejected;
  return out.dump();
}

Status append_jsonl(Ledger& ledger, std::string_view text, AppendResult* result, InputError* error) {
  // The importer needs the listings and mode in force at the head.
  Machine head;
  ReplayCounts counts;
  if (Status s = replay(ledger, kHeadSeq, &head, &counts); !s.is_ok()) return s;
  JsonlImporter importer(head.state());
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
  return Status::ok();
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
    outcomes_.push_back(machine_.apply(*event, machine_.state().seq + 1));
    events_.push_back(bytes);
  }
  return true;
}

bool MemoryRun::add_text(std::string_view text, InputError* error) {
  return for_each_line(text, [&](std::string_view line, size_t number) { return add_line(line, number, error); });
}

}  // namespace liql
