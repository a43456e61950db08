#pragma once
// Audit records (SPEC §5.6): one per liquidation event, applied or rejected,
// and the formats they are printed in. Amounts are integer strings in base
// units (perp sizes in the market's base units, token sizes in the liability
// asset's, penalties in quote units for perps and in collateral units for
// token liquidations); prices are WAD-scaled integers.

#include <array>
#include <map>
#include <string>
#include <vector>

#include "engine/outcome.h"
#include "replay/labels.h"
#include "schemas/sha256.h"

namespace liql {

struct AuditRecord {
  uint64_t seq = 0;
  uint64_t ts = 0;
  LiquidationAudit audit;
  Hash state_hash{};  // the state after the event
};

// The JSON object of one record, on one line. With labels, the JSON gains
// account_address and liquidator_address, the CSV two columns of the same
// names at the end, and the table shows the labels instead of the ids. The
// JSON and the CSV keep base units; the table shows whole units with their
// symbols, from `state` (decimals and symbols never change once listed).
std::string audit_json(const AuditRecord& record, const AccountLabels& labels = {});
std::string audit_csv_header(const AccountLabels& labels = {});
std::string audit_csv(const AuditRecord& record, const AccountLabels& labels = {});
std::string audit_table_header(const AccountLabels& labels = {});
std::string audit_table_row(const AuditRecord& record, const State& state, const AccountLabels& labels = {});

// Totals over a replay, for the demo and `audit --format summary`.
struct AuditSummary {
  uint64_t liquidations = 0;
  std::array<uint64_t, 8> by_verdict{};  // indexed by Verdict
  uint64_t perp = 0, token = 0, absorbs = 0;
  Int closed_notional;                   // Σ closed_value, quote units
  PenaltySplit perp_penalties;           // quote units
  std::map<AssetId, PenaltySplit> token_bonuses;  // collateral units, by asset
  uint64_t bankruptcies = 0;
  Int bankrupt_covered_value, bankrupt_bad_debt_value;  // quote units at the time
  std::map<std::string, uint64_t> reasons;              // rejections by reason code
  std::map<std::string, uint64_t> flags;                // findings by flag

  void add(const LiquidationAudit& audit);
  // Human text; `state` is the final state (bad debt, insurance, names, decimals).
  std::string to_text(const State& state, const Hash& final_hash) const;
};

}  // namespace liql
