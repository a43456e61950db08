// libFuzzer target: arbitrary bytes as a value of the `events` column family,
// through the ledger's record decoder (decode_record_value, the one LogReader
// uses: FlatBuffers verifier for the Record and the nested Event, seq,
// presence, chain length, alignment copy, check_event). Any answer but a
// crash, a leak or undefined behaviour is fine; SPEC §6.2 wants corruption
// reported, never a crash.
//
// Each input is decoded three ways, which must agree: as the record of seq 1,
// as the record of the seq it claims (to get past the seq check), and from a
// misaligned copy (the alignment copy). A record that decodes is then chained
// and its event applied to the state machine: genesis (seq 1) to a fresh
// machine, anything else to the state after a SPEC §8-like example; the
// incremental state hash must equal a full one, and the state must survive its
// canonical encoding (snapshots).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/machine.h"
#include "ledger/ledger.h"
#include "replay/account_view.h"
#include "replay/audit.h"
#include "replay/jsonl_export.h"
#include "replay/replay.h"

namespace {

constexpr char kExample[] =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"set_protocol","ts":0,"policy":"close_factor","close_factor":"0.5","full_liquidation_hf":"0.95","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"list_asset","ts":0,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"}
{"type":"list_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"}
{"type":"price","ts":1000,"market":1,"price":"2000"}
{"type":"price","ts":1000,"asset":1,"price":"2000"}
{"type":"deposit","ts":2000,"account":7,"asset":0,"amount":"1000"}
{"type":"deposit","ts":2000,"account":8,"asset":0,"amount":"100000"}
{"type":"deposit","ts":2000,"account":9,"asset":1,"amount":"1"}
{"type":"withdraw","ts":2000,"account":9,"asset":0,"amount":"1000"}
{"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"4","price":"2000"}
{"type":"price","ts":4000,"market":1,"price":"1800"}
{"type":"price","ts":4000,"asset":1,"price":"1100"}
)";

// The state after the example: listings, prices, positions and a debt, so
// that events of every type reach past the unknown-id checks.
const liql::Machine& example_machine() {
  static const liql::Machine* machine = [] {
    liql::MemoryRun run;
    liql::InputError error;
    if (!run.add_text(kExample, &error)) {
      std::fprintf(stderr, "record_fuzz: the built-in example is refused: %s\n", error.to_string().c_str());
      std::abort();
    }
    return new liql::Machine(run.machine());
  }();
  return *machine;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "record_fuzz: %s\n", what);
  std::abort();
}

struct Decoded {
  liql::Status status;
  liql::LogRecord record;
};

Decoded decode(uint64_t seq, std::string_view value, liql::AlignedScratch* scratch) {
  Decoded out;
  out.status = liql::decode_record_value(seq, value, scratch, &out.record);
  return out;
}

void expect_same(const Decoded& a, const Decoded& b) {
  if (a.status.code() != b.status.code() || a.status.message() != b.status.message()) {
    fail("aligned and misaligned copies decode differently");
  }
  if (!a.status.is_ok()) return;
  if (a.record.seq != b.record.seq || a.record.chain != b.record.chain ||
      a.record.event_bytes.size() != b.record.event_bytes.size() ||
      std::memcmp(a.record.event_bytes.data(), b.record.event_bytes.data(), a.record.event_bytes.size()) != 0) {
    fail("aligned and misaligned copies decode to different records");
  }
}

// The seq the value claims, when its outer Record verifies.
uint64_t claimed_seq(std::string_view value) {
  std::vector<uint64_t> words(value.size() / 8 + 1);
  if (!value.empty()) std::memcpy(words.data(), value.data(), value.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(words.data());
  flatbuffers::Verifier verifier(bytes, value.size());
  if (!liql::fb::VerifyRecordBuffer(verifier)) return 1;
  return liql::fb::GetRecord(bytes)->seq();
}

// The decoder lets genesis through at seq 1 only, and nothing else there, so
// the engine's contract (event 1 is genesis, and only event 1) holds.
void apply(const liql::LogRecord& record) {
  (void)liql::chain_next(liql::Hash{}, record.event_bytes);
  const bool genesis = record.event->body_type() == liql::fb::Body::Genesis;
  if (genesis != (record.seq == 1)) fail("genesis decoded at a seq other than 1, or another event at seq 1");
  liql::Machine machine = genesis ? liql::Machine() : example_machine();
  liql::Commitment hasher;
  (void)hasher.hash(machine.state());
  liql::Outcome outcome;
  if (liql::Status s = machine.apply(*record.event, machine.state().seq + 1, &outcome); !s.is_ok()) {
    if (s.code() == liql::Status::Code::InvalidArgument) return;  // ts before the example's: a log never holds it
    fail(s.to_string().c_str());
  }
  const liql::State& state = machine.state();
  hasher.touch(outcome.touched);
  if (hasher.hash(state) != liql::state_hash(state)) fail("the incremental state hash differs from state_hash");
  const std::string encoded = liql::encode_state(state);
  const liql::Result<liql::State> decoded = liql::decode_state(encoded);
  if (!decoded.is_ok() || decoded.value() != state) fail("the state does not survive encode/decode");

  // What the CLI prints of a record read back: export, trace, audit, accounts.
  (void)liql::event_to_json(*record.event);
  (void)liql::trace_line(liql::EventView{record, outcome, state, hasher});
  if (outcome.audit) {
    const liql::AuditRecord audit{record.seq, record.event->ts(), *outcome.audit, {}};
    (void)liql::audit_json(audit);
    (void)liql::audit_csv(audit);
    (void)liql::audit_table_row(audit, state);
    liql::AuditSummary summary;
    summary.add(*outcome.audit);
    (void)summary.to_text(state, {});
  }
  for (liql::AccountId id : state.sorted_account_ids()) {
    (void)liql::account_json(state, id);
    (void)liql::account_text(state, id);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Conservation and the perp zero-sum after every event (a broken one aborts: a finding).
  liql::Machine::set_invariant_checks(true);
  (void)example_machine();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  // libFuzzer's copy of the input is exactly `size` bytes: ASan sees any
  // read past the end. The misaligned copy is exact too, one byte in.
  std::unique_ptr<char[]> shifted(new char[size + 1]);
  if (size != 0) std::memcpy(shifted.get() + 1, data, size);
  const std::string_view misaligned(shifted.get() + 1, size);

  const uint64_t claimed = claimed_seq(value);
  for (uint64_t seq : {uint64_t{1}, claimed}) {
    liql::AlignedScratch scratch_a, scratch_b;
    const Decoded a = decode(seq, value, &scratch_a);
    const Decoded b = decode(seq, misaligned, &scratch_b);
    expect_same(a, b);
    if (a.status.is_ok()) {
      if (a.record.seq != seq || a.record.event == nullptr) fail("a decoded record without its seq or event");
      apply(a.record);
    } else if (a.status.code() != liql::Status::Code::Corruption) {
      fail("a bad record is not Corruption");
    } else if (a.status.message().rfind("record seq " + std::to_string(seq) + ":", 0) != 0) {
      fail("corruption does not name the seq");
    }
    if (claimed == 1) break;
  }
  return 0;
}
