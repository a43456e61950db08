// Embedding liqledger: opens a ledger read-only (safe beside a process that
// appends to it), replays it to a seq, and prints every liquidation whose
// audit verdict is UNDER (less than the smallest size that restores the
// account) or OVER_LIMIT (more than the rules allow).
//
//   embed LEDGER [SEQ]      SEQ: replay up to this seq (default: the head)
//
// Output: a header line, one line per such liquidation
//   seq=S account=A verdict=UNDER required=R executed=E
// (sizes in base units), and a summary line. Exit 0 ok, 2 usage, 3 a ledger
// that cannot be opened or replayed.

#include <liqledger/audit.h>
#include <liqledger/ledger.h>
#include <liqledger/replay.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace {

std::string size_text(const std::optional<liql::Int>& size) { return size ? liql::to_string(*size) : "-"; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: embed LEDGER [SEQ]\n");
    return 2;
  }
  uint64_t to_seq = liql::kHeadSeq;
  if (argc == 3) {
    const std::string_view text = argv[2];
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), to_seq);
    if (error != std::errc() || end != text.data() + text.size()) {
      std::fprintf(stderr, "embed: SEQ must be a non-negative integer, got '%s'\n", argv[2]);
      return 2;
    }
  }

  liql::LedgerOptions options;
  options.read_only = true;  // a reader: never writes, sees the log as of open()
  options.create_if_missing = false;
  std::unique_ptr<liql::Ledger> ledger;
  liql::Status status = liql::Ledger::open(argv[1], options, &ledger);
  if (!status.is_ok()) {
    std::fprintf(stderr, "embed: %s\n", status.to_string().c_str());
    return 3;
  }
  const uint64_t head = ledger->head().seq;
  std::printf("ledger %s: head seq %llu, replaying to seq %llu\n", argv[1], static_cast<unsigned long long>(head),
              static_cast<unsigned long long>(to_seq < head ? to_seq : head));

  liql::Machine machine;
  liql::ReplayCounts counts;
  uint64_t liquidations = 0, flagged = 0;
  status = liql::replay(*ledger, to_seq, &machine, &counts, [&](const liql::EventView& view) {
    if (!view.outcome.audit) return liql::Status::ok();
    const liql::LiquidationAudit& audit = *view.outcome.audit;
    ++liquidations;
    if (audit.verdict == liql::Verdict::Under || audit.verdict == liql::Verdict::OverLimit) {
      ++flagged;
      std::printf("seq=%llu account=%llu verdict=%.*s required=%s executed=%s\n",
                  static_cast<unsigned long long>(view.record.seq), static_cast<unsigned long long>(audit.account),
                  static_cast<int>(liql::verdict_name(audit.verdict).size()), liql::verdict_name(audit.verdict).data(),
                  size_text(audit.required).c_str(), size_text(audit.executed).c_str());
    }
    return liql::Status::ok();
  });
  if (!status.is_ok()) {
    std::fprintf(stderr, "embed: %s\n", status.to_string().c_str());
    return 3;
  }
  std::printf("replayed to seq %llu: %llu applied, %llu rejected, %llu liquidations, %llu UNDER or OVER_LIMIT; state %s\n",
              static_cast<unsigned long long>(machine.state().seq), static_cast<unsigned long long>(counts.applied),
              static_cast<unsigned long long>(counts.rejected), static_cast<unsigned long long>(liquidations),
              static_cast<unsigned long long>(flagged), liql::to_hex(liql::state_hash(machine.state())).c_str());
  return 0;
}
