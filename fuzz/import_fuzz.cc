// libFuzzer target: arbitrary bytes as JSON Lines through the input boundary
// (SPEC §6.2, §8) and into the state machine, the way MemoryRun takes them:
// each accepted line is imported against the state so far, verified as the
// ledger would verify it, then applied. A refused line is fine; a crash, a
// leak or undefined behaviour is not.
//
// Every event that got through is also exported (event_to_json) and imported
// again: SPEC §8 promises the same Event bytes, so the same chain; after each
// one the incremental state hash (Commitment) must equal a full state_hash.
// The audit records and account views of the result are printed too.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "replay/account_view.h"
#include "replay/audit.h"
#include "replay/jsonl_export.h"
#include "replay/replay.h"
#include "schemas/event_check.h"

namespace {

[[noreturn]] void fail(const char* what, const liql::InputError* error = nullptr) {
  std::fprintf(stderr, "import_fuzz: %s%s%s\n", what, error ? ": " : "", error ? error->to_string().c_str() : "");
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Conservation and the perp zero-sum after every event (a broken one aborts: a finding).
  liql::Machine::set_invariant_checks(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  liql::MemoryRun run;
  liql::InputError error;
  run.add_text(text, &error);  // a refusal stops at the bad line; what came before stays applied

  // Export → import round trip of what was accepted.
  liql::MemoryRun again;
  liql::Commitment hasher;
  size_t line = 0;
  for (const std::string& bytes : run.events()) {
    std::string field, message;
    const liql::fb::Event* event =
        liql::verify_event_buffer(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &field, &message);
    if (event == nullptr) fail("an accepted event does not verify");
    const std::string json = liql::event_to_json(*event);
    if (!again.add_line(json, ++line, &error)) fail("an exported event is refused on import", &error);
    if (again.events().back() != bytes) fail("export then import changed the event bytes");
    // Replay hashes the state after every event incrementally; it must equal a full hash.
    hasher.touch(again.outcomes().back().touched);
    if (hasher.hash(again.machine().state()) != liql::state_hash(again.machine().state())) {
      fail("the incremental state hash differs from state_hash");
    }
  }
  if (again.machine().state() != run.machine().state()) fail("export then import changed the state");

  // The printers the CLI runs on a replay of these events.
  const liql::State& state = run.machine().state();
  liql::AuditSummary summary;
  for (size_t i = 0; i < run.outcomes().size(); ++i) {
    const liql::Outcome& outcome = run.outcomes()[i];
    if (!outcome.audit) continue;
    summary.add(*outcome.audit);
    const liql::AuditRecord record{i + 1, 0, *outcome.audit, {}};
    (void)liql::audit_json(record);
    (void)liql::audit_csv(record);
    (void)liql::audit_table_row(record, state);
  }
  (void)summary.to_text(state, liql::state_hash(state));
  for (liql::AccountId id : state.sorted_account_ids()) {
    (void)liql::account_json(state, id);
    (void)liql::account_text(state, id);
  }
  const liql::Result<liql::State> decoded = liql::decode_state(liql::encode_state(state));
  if (!decoded.is_ok() || decoded.value() != state) fail("the state does not survive encode/decode");
  return 0;
}
