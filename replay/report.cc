#include "replay/report.h"

#include "replay/replay.h"
#include "replay/risk.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include "engine/types.h"

namespace liql {
namespace {

// Chart geometry in pixels: the plot area is [kLeft, kRight] × [kTop, kBottom].
constexpr int64_t kWidth = 960, kHeight = 280;
constexpr int64_t kLeft = 110, kRight = 940, kTop = 20, kBottom = 240;
constexpr int64_t kInset = 6;  // lines keep off the frame's top and bottom
constexpr int64_t kStub = 8;   // length of a one-pixel line held at the right edge
constexpr int kMarkRadius = 3, kCascadeRadius = 6;
constexpr unsigned kLabelDecimals = 4;
constexpr unsigned kPriceDecimals = 18;  // prices are WAD-scaled
constexpr unsigned kMicrosDecimals = 6;  // ts is in microseconds
constexpr std::string_view kOracleColour = "#444444";
constexpr std::string_view kAuditColour = "#666666";  // the log's own audit is no variant
constexpr std::array<std::string_view, 8> kColours = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}"
    "h2{margin-top:28px;border-bottom:1px solid #ccc}"
    ".chart{display:block;margin:8px 0;background:#fff}"
    ".chart text{font-size:11px;fill:#333}"
    ".frame{fill:none;stroke:#bbb}"
    ".series{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}"
    ".key{margin-right:16px;white-space:nowrap}"
    ".swatch{display:inline-block;width:16px;height:4px;margin-right:4px;vertical-align:middle}"
    "table{border-collapse:collapse;margin:8px 0}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{text-align:left;background:#f4f4f4}";

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string_view colour(size_t variant) { return kColours[variant % kColours.size()]; }


struct Range {
  Int lo, hi;
  bool empty = true;
  void add(const Int& value) {
    if (empty || value < lo) lo = value;
    if (empty || value > hi) hi = value;
    empty = false;
  }
};

// Maps [lo, hi] onto the pixels [from, to] (to < from for a y axis),
// rounding toward −∞; a range of one value maps to the middle.
struct Scale {
  Int lo, hi;
  int64_t from, to;
  Scale(const Range& range, int64_t from_px, int64_t to_px) : lo(range.lo), hi(range.hi), from(from_px), to(to_px) {}
  bool flat() const { return lo == hi; }
  int64_t at(const Int& value) const {
    if (flat()) return (from + to) / 2;  // both ≥ 0: rounds down
    return from + static_cast<int64_t>(muldiv_floor(value - lo, Int(to - from), hi - lo));
  }
};

struct Point {
  int64_t x = 0, y = 0;
  bool operator==(const Point&) const = default;
};

void push_distinct(std::vector<Point>& points, const Point& point) {
  if (points.empty() || !(points.back() == point)) points.push_back(point);
}

// Of each run of points on one pixel column, the lowest and the highest in
// the order they came, then the line's last point; a line of one distinct
// point gets a second one (held to the right edge) so that it draws.
std::vector<Point> thin(const std::vector<Point>& points) {
  std::vector<Point> out;
  for (size_t begin = 0; begin < points.size();) {
    size_t end = begin, low = begin, high = begin;
    for (; end < points.size() && points[end].x == points[begin].x; ++end) {
      if (points[end].y < points[low].y) low = end;
      if (points[end].y > points[high].y) high = end;
    }
    push_distinct(out, points[std::min(low, high)]);
    push_distinct(out, points[std::max(low, high)]);
    begin = end;
  }
  if (!points.empty()) push_distinct(out, points.back());
  if (out.size() == 1) out.push_back(Point{out[0].x < kRight ? kRight : out[0].x - kStub, out[0].y});
  return out;
}

using Points = std::vector<const SeriesPoint*>;  // of one variant, in seq order

// A step line: each value holds until the next point.
std::vector<Point> line(const Points& points, const Scale& x, const Scale& y, Int SeriesPoint::*field) {
  std::vector<Point> pixels;
  pixels.reserve(2 * points.size());
  for (const SeriesPoint* point : points) {
    const Point at{x.at(Int(point->ts)), y.at(point->*field)};
    if (!pixels.empty()) pixels.push_back(Point{at.x, pixels.back().y});
    pixels.push_back(at);
  }
  return thin(pixels);
}

void polyline(std::string& out, const std::vector<Point>& points, std::string_view stroke, bool dashed) {
  out += R"(<polyline class="series" points=")";
  for (size_t i = 0; i < points.size(); ++i) out += fmt::format("{}{},{}", i == 0 ? "" : " ", points[i].x, points[i].y);
  out += fmt::format(R"(" stroke="{}"{}/>)", stroke, dashed ? R"( stroke-dasharray="6 4")" : "");
  out += '\n';
}

void text(std::string& out, int64_t x, int64_t y, std::string_view anchor, std::string_view escaped) {
  out += fmt::format(R"(<text x="{}" y="{}" text-anchor="{}">{}</text>)", x, y, anchor, escaped);
}

// `title` is escaped already.
void open_chart(std::string& out, std::string_view id, std::string_view title) {
  out += fmt::format(R"(<svg class="chart" id="{}" width="{}" height="{}" viewBox="0 0 {} {}" role="img">)", id,
                     kWidth, kHeight, kWidth, kHeight);
  out += fmt::format("<title>{}</title>", title);
  out += fmt::format(R"(<rect class="frame" x="{}" y="{}" width="{}" height="{}"/>)", kLeft, kTop, kRight - kLeft,
                     kBottom - kTop);
  out += '\n';
}

void close_chart(std::string& out) { out += "</svg>\n"; }

// The lowest and highest value (one label when they are equal) in whole
// units, cut toward −∞ to the fewest decimals, kLabelDecimals at least, that
// tell the two apart and show neither as 0 unless it is.
void value_labels(std::string& out, const Scale& y, unsigned decimals) {
  unsigned kept = std::min(decimals, kLabelDecimals);
  const auto cut = [&](const Int& value) { return fdiv(value, pow10(decimals - kept)); };
  const auto shown = [&](const Int& value) { return value.is_zero() || !cut(value).is_zero(); };
  while (kept < decimals && !((y.flat() || cut(y.lo) != cut(y.hi)) && shown(y.lo) && shown(y.hi))) ++kept;
  text(out, kLeft - 6, y.at(y.lo) + 4, "end", format_units(cut(y.lo), kept));
  if (!y.flat()) text(out, kLeft - 6, y.at(y.hi) + 4, "end", format_units(cut(y.hi), kept));
}

void time_labels(std::string& out, const Scale& x) {
  text(out, x.at(x.lo), kBottom + 16, x.flat() ? "middle" : "start", "0 s");
  if (!x.flat()) text(out, kRight, kBottom + 16, "end", format_units(x.hi - x.lo, kMicrosDecimals) + " s");
  text(out, (kLeft + kRight) / 2, kBottom + 32, "middle", "seconds since the first point");
}

// A bar from 0 to `value` over the pixels [x0, x1), at least one pixel high and wide.
void bar(std::string& out, int64_t x0, int64_t x1, const Scale& y, const Int& value, std::string_view fill) {
  const int64_t zero = y.at(Int(0)), top = std::min(zero, y.at(value));
  const int64_t height = std::max<int64_t>(std::max(zero, y.at(value)) - top, 1);
  out += fmt::format(R"(<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}"/>)", x0, top,
                     std::max<int64_t>(x1 - x0 - 1, 1), height, fill);
}

std::string key(std::string_view escaped_name, std::string_view fill) {
  return fmt::format(R"(<span class="key"><span class="swatch" style="background:{}"></span>{}</span>)", fill,
                     escaped_name);
}

void legend(std::string& out, const WhatIfResult& result, std::string_view extra) {
  out += R"(<p class="legend">)";
  out += extra;
  for (size_t v = 0; v < result.variants.size(); ++v) out += key(escape(result.variants[v].policy), colour(v));
  out += "</p>\n";
}

// "ETH-PERP (market:1)", or "market:1" without a symbol.
std::string instrument_label(const WhatIfResult& result, Instrument instrument) {
  const std::string id = instrument_name(instrument);
  for (const VariantResult& variant : result.variants) {
    for (const InstrumentStats& stats : variant.instruments) {
      if (stats.instrument == instrument && !stats.symbol.empty()) return stats.symbol + " (" + id + ")";
    }
  }
  return id;
}

struct Context {
  const WhatIfResult& result;
  std::vector<Points> series;                               // per variant
  std::map<Instrument, std::vector<Points>> by_instrument;  // per variant
  Range times;                                              // ts of every series point and mark
  std::string quote;                                        // the quote asset's symbol, escaped
};

Context context(const WhatIfResult& result) {
  Context c{result, std::vector<Points>(result.variants.size()), {}, {}, ""};
  const auto quote = result.assets.find(kQuoteAsset);
  if (quote != result.assets.end()) c.quote = escape(quote->second);
  for (size_t v = 0; v < result.variants.size(); ++v) {
    for (const SeriesPoint& point : result.variants[v].series) {
      std::vector<Points>& per_variant = c.by_instrument[point.instrument];
      per_variant.resize(result.variants.size());
      per_variant[v].push_back(&point);
      c.series[v].push_back(&point);
      c.times.add(Int(point.ts));
    }
    // A liquidation after an event that moved no price (governance, say) may come after every point.
    for (const LiquidationMark& mark : result.variants[v].marks) c.times.add(Int(mark.ts));
  }
  return c;
}

// The point in force at `ts`: the last at or before it (the first when none is). REQUIRES !points.empty().
const SeriesPoint& in_force(const Points& points, uint64_t ts) {
  const auto after = std::upper_bound(points.begin(), points.end(), ts,
                                      [](uint64_t t, const SeriesPoint* point) { return t < point->ts; });
  return after == points.begin() ? **after : **(after - 1);
}

// The variant's liquidations of `instrument` on its effective line; one circle per pixel and size.
void marks(std::string& out, const VariantResult& variant, Instrument instrument, const Points& points,
           const Scale& x, const Scale& y, std::string_view fill) {
  if (points.empty()) return;
  std::set<std::tuple<int64_t, int64_t, bool>> drawn;
  for (const LiquidationMark& mark : variant.marks) {
    if (mark.instrument != instrument) continue;
    const bool cascade = mark.round >= 1;
    const Point at{x.at(Int(mark.ts)), y.at(in_force(points, mark.ts).effective)};
    if (!drawn.insert({at.x, at.y, cascade}).second) continue;
    // A cascade round's mark is a larger ring, so that a dot of the same event shows inside it.
    out += fmt::format(R"(<circle class="mark" cx="{}" cy="{}" r="{}" {}/>)", at.x, at.y,
                       cascade ? kCascadeRadius : kMarkRadius,
                       cascade ? fmt::format(R"(fill="none" stroke="{}" stroke-width="2")", fill)
                               : fmt::format(R"(fill="{}" stroke="#000")", fill));
  }
  out += '\n';
}

void price_chart(std::string& out, const Context& c, size_t index, Instrument instrument,
                 const std::vector<Points>& per_variant) {
  Range prices;
  for (const Points& points : per_variant) {
    for (const SeriesPoint* point : points) {
      prices.add(point->oracle);
      prices.add(point->effective);
    }
  }
  const Scale x(c.times, kLeft, kRight), y(prices, kBottom - kInset, kTop + kInset);
  const std::string label = escape(instrument_label(c.result, instrument));
  out += fmt::format("<h3>{}</h3>\n", label);
  open_chart(out, fmt::format("price-{}", index), label + ": oracle and effective price");
  value_labels(out, y, kPriceDecimals);
  time_labels(out, x);
  for (size_t v = 0; v < per_variant.size(); ++v) {
    if (!per_variant[v].empty()) polyline(out, line(per_variant[v], x, y, &SeriesPoint::effective), colour(v), false);
  }
  // The oracle is the same in every variant: drawn once, dashed, over the effective lines.
  const auto first = std::find_if(per_variant.begin(), per_variant.end(), [](const Points& p) { return !p.empty(); });
  polyline(out, line(*first, x, y, &SeriesPoint::oracle), kOracleColour, true);
  for (size_t v = 0; v < per_variant.size(); ++v) {
    marks(out, c.result.variants[v], instrument, per_variant[v], x, y, colour(v));
  }
  close_chart(out);
}

void price_section(std::string& out, const Context& c) {
  out += "<section id=\"price-path\">\n<h2>Price path</h2>\n";
  legend(out, c.result,
         key("oracle (dashed)", kOracleColour) +
             "<span class=\"key\">&#9679; liquidation, &#9711; cascade round &ge; 1 (in the variant's colour)</span>");
  if (c.by_instrument.empty()) out += "<p>No price series in this run.</p>\n";
  size_t index = 0;
  for (const auto& [instrument, per_variant] : c.by_instrument) price_chart(out, c, index++, instrument, per_variant);
  out += "</section>\n";
}

// A running total of every variant over time, from 0 up (or down).
void cumulative_section(std::string& out, const Context& c, std::string_view id, std::string_view heading,
                        Int SeriesPoint::*field) {
  Range values;
  values.add(Int(0));
  for (const Points& points : c.series) {
    for (const SeriesPoint* point : points) values.add(point->*field);
  }
  const Scale x(c.times, kLeft, kRight), y(values, kBottom - kInset, kTop + kInset);
  out += fmt::format("<section id=\"{}-section\">\n<h2>{}</h2>\n", id, heading);
  legend(out, c.result, "");
  open_chart(out, id, fmt::format("{} ({}), per variant", heading, c.quote));
  value_labels(out, y, c.result.quote_decimals);
  time_labels(out, x);
  for (size_t v = 0; v < c.series.size(); ++v) {
    if (!c.series[v].empty()) polyline(out, line(c.series[v], x, y, field), colour(v), false);
  }
  close_chart(out);
  out += "</section>\n";
}

void map_chart(std::string& out, const Context& c, size_t index, const LiquidationMapRow& row) {
  Range values;
  values.add(Int(0));
  for (const Int& notional : row.buckets) values.add(notional);
  const Scale y(values, kBottom, kTop);
  const std::string label = escape(row.instrument);
  out += fmt::format("<h3>{}</h3>\n", label);
  open_chart(out, fmt::format("liquidation-map-{}", index),
             label + ": notional that becomes liquidatable by price move");
  value_labels(out, y, c.result.quote_decimals);
  text(out, kLeft, kBottom + 16, "start", "-50 %");
  text(out, (kLeft + kRight) / 2, kBottom + 16, "middle", "0 %");
  text(out, kRight, kBottom + 16, "end", "+50 %");
  text(out, (kLeft + kRight) / 2, kBottom + 32, "middle", "price move");
  const int64_t count = static_cast<int64_t>(row.buckets.size());
  for (int64_t k = 0; k < count; ++k) {
    if (row.buckets[k].is_zero()) continue;
    // Integer pixel edges: ⌊k · width / count⌋, all operands ≥ 0.
    bar(out, kLeft + k * (kRight - kLeft) / count, kLeft + (k + 1) * (kRight - kLeft) / count, y, row.buckets[k],
        colour(0));
  }
  out += '\n';
  close_chart(out);
}

void map_section(std::string& out, const Context& c, const std::vector<LiquidationMapRow>& rows) {
  out += "<section id=\"liquidation-map\">\n<h2>Liquidation map</h2>\n";
  out += fmt::format("<p>Notional ({}) that becomes liquidatable at each price move, per 1 % bucket.</p>\n",
                     c.quote);
  if (rows.empty()) out += "<p>No liquidation map in this run.</p>\n";
  for (size_t i = 0; i < rows.size(); ++i) map_chart(out, c, i, rows[i]);
  out += "</section>\n";
}

void audit_section(std::string& out, const Context& c, const AuditSummary& audit) {
  out += "<section id=\"audit\">\n<h2>The log's own audit</h2>\n";
  Range counts;
  counts.add(Int(0));
  for (uint64_t count : audit.by_verdict) counts.add(Int(count));
  const Scale y(counts, kBottom, kTop);
  open_chart(out, "audit-verdicts", "Liquidation events of the log by verdict");
  value_labels(out, y, 0);
  const int64_t slots = static_cast<int64_t>(audit.by_verdict.size());
  for (int64_t v = 0; v < slots; ++v) {
    const int64_t x0 = kLeft + v * (kRight - kLeft) / slots, x1 = kLeft + (v + 1) * (kRight - kLeft) / slots;
    const Int count(audit.by_verdict[v]);
    if (!count.is_zero()) bar(out, x0 + 8, x1 - 8, y, count, kAuditColour);
    text(out, (x0 + x1) / 2, y.at(count) - 4, "middle", count.str());
    text(out, (x0 + x1) / 2, kBottom + 16, "middle", verdict_name(static_cast<Verdict>(v)));
  }
  out += '\n';
  close_chart(out);
  out += "<table class=\"totals\">\n";
  out += fmt::format("<tr><th>liquidation events</th><td>{}</td></tr>\n", audit.liquidations);
  out += fmt::format("<tr><th>perp / token / absorb</th><td>{} / {} / {}</td></tr>\n", audit.perp, audit.token,
                     audit.absorbs);
  out += fmt::format("<tr><th>bankruptcies</th><td>{}</td></tr>\n", audit.bankruptcies);
  out += fmt::format("<tr><th>closed notional ({})</th><td>{}</td></tr>\n", c.quote,
                     format_units(audit.closed_notional, c.result.quote_decimals));
  out += "</table>\n</section>\n";
}

template <typename Cell>
void variant_row(std::string& out, const WhatIfResult& result, std::string_view escaped_label, Cell cell) {
  out += fmt::format("<tr><th>{}</th>", escaped_label);
  for (const VariantResult& variant : result.variants) out += "<td>" + escape(cell(variant)) + "</td>";
  out += "</tr>\n";
}

const Int& of_asset(const std::map<AssetId, Int>& amounts, AssetId asset) {
  static const Int zero;
  const auto it = amounts.find(asset);
  return it == amounts.end() ? zero : it->second;
}

void side_by_side(std::string& out, const Context& c) {
  const WhatIfResult& r = c.result;
  const unsigned qd = c.result.quote_decimals;
  const std::string& quote = c.quote;
  out += "<section id=\"side-by-side\">\n<h2>Side by side</h2>\n<table class=\"variants\">\n<tr><th></th>";
  for (const VariantResult& variant : r.variants) out += "<th>" + escape(variant.policy) + "</th>";
  out += "</tr>\n";
  const auto count = [](uint64_t VariantResult::*field) {
    return [field](const VariantResult& v) { return std::to_string(v.*field); };
  };
  const auto amount = [qd](Int VariantResult::*field) {
    return [field, qd](const VariantResult& v) { return format_units(v.*field, qd); };
  };
  variant_row(out, r, "liquidations", count(&VariantResult::liquidations));
  variant_row(out, r, "accounts liquidated", count(&VariantResult::accounts_liquidated));
  variant_row(out, r, "kept a position", count(&VariantResult::accounts_kept_position));
  variant_row(out, r, "fully closed", count(&VariantResult::accounts_closed));
  variant_row(out, r, fmt::format("closed notional ({})", quote), amount(&VariantResult::closed_notional));
  variant_row(out, r, fmt::format("penalties ({})", quote), amount(&VariantResult::penalties));
  variant_row(out, r, "bankruptcies", count(&VariantResult::bankruptcies));
  variant_row(out, r, "close-outs", count(&VariantResult::close_outs));
  variant_row(out, r, "absorbed", count(&VariantResult::absorbed));
  variant_row(out, r, fmt::format("bad debt, value ({})", quote), amount(&VariantResult::bad_debt_value));
  variant_row(out, r, fmt::format("user equity ({})", quote), amount(&VariantResult::user_equity));
  variant_row(out, r, "max cascade depth", [](const VariantResult& v) { return std::to_string(v.max_cascade_depth); });
  variant_row(out, r, "cascade rounds", count(&VariantResult::cascade_rounds));
  variant_row(out, r, "truncated cascades", count(&VariantResult::truncated_cascades));
  variant_row(out, r, "exogenous events rejected", count(&VariantResult::exogenous_rejected));
  for (const auto& [id, symbol] : r.assets) {
    const AssetId asset = id;  // a plain variable: clang 14 captures no structured binding
    const auto decimals = r.decimals.find(asset);
    const unsigned d = decimals == r.decimals.end() ? 0 : decimals->second;
    variant_row(out, r, fmt::format("bad debt ({})", escape(symbol)),
                [&](const VariantResult& v) { return format_units(of_asset(v.bad_debt, asset), d); });
    variant_row(out, r, fmt::format("insurance ({})", escape(symbol)),
                [&](const VariantResult& v) { return format_units(of_asset(v.insurance, asset), d); });
  }
  out += "</table>\n</section>\n";
}

}  // namespace

std::string render_report(const ReportInput& input) {
  const Context c = context(*input.whatif);
  const std::string title = escape(input.title);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += fmt::format("<title>What-if report: {}</title>\n<style>{}</style>\n</head>\n<body>\n", title, kStyle);
  out += fmt::format("<h1>What-if report: {}</h1>\n", title);
  out += fmt::format(
      "<p>The log replayed to seq {} (ts {} &micro;s) under {} variants. Amounts in whole units of the quote "
      "asset ({}) unless an asset is named.</p>\n",
      c.result.seq, c.result.ts, c.result.variants.size(), c.quote);
  price_section(out, c);
  cumulative_section(out, c, "closed-notional", "Closed notional", &SeriesPoint::closed_notional);
  cumulative_section(out, c, "insurance-fund", "Insurance fund", &SeriesPoint::insurance_value);
  cumulative_section(out, c, "bad-debt", "Bad debt", &SeriesPoint::bad_debt_value);
  map_section(out, c, input.liquidation_map);
  audit_section(out, c, input.audit);
  side_by_side(out, c);
  out += "</body>\n</html>\n";
  return out;
}

Status build_report(Ledger& ledger, const std::string& title, WhatIfOptions options, std::string* html) {
  options.series = true;
  WhatIfResult whatif;
  if (Status s = run_whatif(ledger, options, &whatif); !s.is_ok()) return s;
  ReportInput input;
  input.title = title;
  input.whatif = &whatif;
  Machine machine;
  ReplayCounts counts;
  if (options.progress) std::fprintf(stderr, "report: the log's own audit\n");
  auto visit = [&](const EventView& view) {
    if (view.outcome.audit) input.audit.add(*view.outcome.audit);
    return Status::ok();
  };
  if (Status s = replay(ledger, whatif.seq, &machine, &counts, visit); !s.is_ok()) return s;
  if (options.progress) std::fprintf(stderr, "report: the liquidation map at seq %llu\n",
                                     static_cast<unsigned long long>(whatif.seq));
  const State& state = machine.state();
  for (const auto& [instrument, buckets] : risk_pass(state, RiskOptions{}).map) {
    LiquidationMapRow row;
    row.instrument = instrument_symbol(state, instrument) + " (" + instrument_name(instrument) + ")";
    try {
      for (const Wide& notional : buckets) row.buckets.push_back(narrow(notional));
    } catch (const std::overflow_error&) {
      return Status::invalid_argument("the liquidation map of " + row.instrument + " does not fit 256 bits");
    }
    input.liquidation_map.push_back(std::move(row));
  }
  *html = render_report(input);
  return Status::ok();
}

}  // namespace liql
