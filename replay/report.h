#pragma once
// The what-if lab's HTML report: one self-contained HTML5 file (inline SVG
// and CSS, no script, no external URL) that a browser reads offline.
//
// Sections, each a heading and one `<svg class="chart">` per chart:
//   price-path        per instrument (ids price-0, price-1, … in Instrument
//                     order): the oracle price, each variant's effective
//                     price, the keeper's liquidations as marks on it
//   closed-notional, insurance-fund, bad-debt
//                     cumulative lines per variant over time
//   liquidation-map   per row (ids liquidation-map-0, …): a bar per nonzero
//                     bucket of the price move
//   audit             the log's own audit: a bar per nonzero verdict count
//                     (chart audit-verdicts) and a table of totals
//   side-by-side      a table, a column per variant
// Data elements carry a class a test can count: `class="series"` (one
// polyline per line), `class="mark"` (one circle per liquidation drawn),
// `class="bar"` (one rect per bar).
//
// Integers only (the pixel mapping is exact Int arithmetic, rounded toward
// −∞), deterministic (same input, same bytes). Lines are steps (a value holds
// until the next point); each keeps at most the lowest and the highest point
// of each of the plot's 831 pixel columns, and its last point (≤ 1663 points
// whatever its length); a line of one distinct pixel is held to the right
// edge, so every line draws. A mark sits on its variant's effective price in
// force at the mark's ts; marks on the same pixel with the same size are
// drawn once. Axis labels are whole units cut toward −∞ to 4 decimals, or to
// as many more as it takes to tell the lowest from the highest value, time
// is in seconds since the first series point or mark; tables show amounts exactly
// (format_units).

#include <string>
#include <vector>

#include "engine/int.h"
#include "replay/audit.h"
#include "replay/whatif.h"

namespace liql {

// Notional (quote base units) that becomes liquidatable at each price move:
// bucket k of 100 is the move [k − 50 %, k − 49 %).
struct LiquidationMapRow {
  std::string instrument;  // a label, e.g. "ETH-PERP"
  std::vector<Int> buckets;
};

struct ReportInput {
  std::string title;                     // e.g. the ledger path
  const WhatIfResult* whatif = nullptr;  // variants with series and marks; REQUIRES non-null
  AuditSummary audit;                    // the log's own audit (by_verdict indexed by Verdict)
  std::vector<LiquidationMapRow> liquidation_map;
};

std::string render_report(const ReportInput& input);

// `liqledger report`: the lab of `options` (with series), the log's own audit
// (a replay from genesis) and the liquidation map of the state at the head
// (replay/risk.h), rendered into *html. The statuses of run_whatif and replay,
// and InvalidArgument for a liquidation map whose notional does not fit 256
// bits; *html is written only when OK.
Status build_report(Ledger& ledger, const std::string& title, WhatIfOptions options, std::string* html);

}  // namespace liql
