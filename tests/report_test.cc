// The what-if report (replay/report.h): what each section draws, counted in
// the HTML; exact figures in the tables; self-contained, escaped,
// deterministic, light on long series; and rendered by a real browser
// (Debian's headless Chromium), its screenshot and DOM checked by
// tests/report_browser_check.py.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "replay/report.h"
#include "tests/shell.h"
#include "tests/test_dirs.h"

namespace liql {
namespace {

const Instrument kPerp = Instrument::market(1);
const Instrument kToken = Instrument::asset(1);

Int whole(int64_t units) { return Int(units) * wad(); }

// Prices in whole quote units, amounts in quote base units (6 decimals).
SeriesPoint point(uint64_t seq, uint64_t ts, Instrument instrument, int64_t oracle, int64_t effective,
                  int64_t closed, int64_t insurance, int64_t bad_debt) {
  SeriesPoint p;
  p.seq = seq;
  p.ts = ts;
  p.instrument = instrument;
  p.oracle = whole(oracle);
  p.effective = whole(effective);
  p.closed_notional = closed;
  p.insurance_value = insurance;
  p.bad_debt_value = bad_debt;
  return p;
}

LiquidationMark mark(uint64_t seq, uint64_t ts, Instrument instrument, uint32_t round) {
  LiquidationMark m;
  m.seq = seq;
  m.ts = ts;
  m.instrument = instrument;
  m.round = round;
  return m;
}

VariantResult partial_variant() {
  VariantResult v;
  v.policy = "partial";
  v.liquidations = 3;
  v.accounts_liquidated = 2;
  v.accounts_kept_position = 1;
  v.accounts_closed = 1;
  v.closed_notional = 1234567890;
  v.penalties = 12345678;
  v.bankruptcies = 1;
  v.close_outs = 1;
  v.bad_debt = {{0, Int(0)}, {1, Int(250000000)}};
  v.insurance = {{0, Int(5000000)}, {1, Int(0)}};
  v.bad_debt_value = 11000000;
  v.user_equity = -1500000;
  v.max_cascade_depth = 2;
  v.cascade_rounds = 1;
  v.exogenous_rejected = 4;
  v.instruments = {InstrumentStats{kPerp, "ETH-PERP", {}, {}, {}, {}},
                   InstrumentStats{kToken, "<B&B>", {}, {}, {}, {}}};
  v.series = {point(1, 1'000'000, kPerp, 2000, 2000, 0, 0, 0), point(2, 2'000'000, kToken, 50, 50, 0, 0, 0),
              point(3, 3'000'000, kPerp, 1800, 1790, 600000000, 1000000, 0),
              point(3, 3'000'000, kPerp, 1800, 1780, 1234567890, 2000000, 0),  // the cascade round's impact
              point(4, 4'000'000, kToken, 45, 44, 1234567890, 5000000, 11000000)};
  v.marks = {mark(3, 3'000'000, kPerp, 0), mark(3, 3'000'000, kPerp, 1), mark(4, 4'000'000, kToken, 0)};
  return v;
}

VariantResult full_variant() {
  VariantResult v;
  v.policy = "full";
  v.liquidations = 1;
  v.accounts_liquidated = 1;
  v.accounts_closed = 1;
  v.closed_notional = 2000000000;
  v.penalties = 20000000;
  v.bad_debt = {{0, Int(0)}, {1, Int(0)}};
  v.insurance = {{0, Int(3000000)}, {1, Int(0)}};
  v.user_equity = 7000000;
  v.max_cascade_depth = 1;
  v.instruments = partial_variant().instruments;
  v.series = {point(1, 1'000'000, kPerp, 2000, 2000, 0, 0, 0), point(2, 2'000'000, kToken, 50, 50, 0, 0, 0),
              point(3, 3'000'000, kPerp, 1800, 1750, 2000000000, 3000000, 0),
              point(4, 4'000'000, kToken, 45, 45, 2000000000, 3000000, 0)};
  v.marks = {mark(3, 3'000'000, kPerp, 0)};
  return v;
}

constexpr size_t kMarks = 4;          // 3 + 1
constexpr size_t kMapNonzero = 4;     // 3 + 1
constexpr size_t kInstruments = 2, kVariants = 2;

WhatIfResult sample_result() {
  WhatIfResult r;
  r.seq = 4;
  r.ts = 4'000'000;
  r.assets = {{0, "USDC"}, {1, "<B&B>"}};
  r.decimals = {{0, 6}, {1, 8}};
  r.quote_decimals = 6;
  r.variants = {partial_variant(), full_variant()};
  return r;
}

ReportInput sample_input(const WhatIfResult& result) {
  ReportInput input;
  input.title = "ledger <script>alert('x')</script> & co";
  input.whatif = &result;
  input.audit.liquidations = 8;
  input.audit.perp = 6;
  input.audit.token = 2;
  input.audit.bankruptcies = 1;
  input.audit.closed_notional = 987654321;
  input.audit.by_verdict[static_cast<size_t>(Verdict::Minimal)] = 5;
  input.audit.by_verdict[static_cast<size_t>(Verdict::Under)] = 1;
  input.audit.by_verdict[static_cast<size_t>(Verdict::Wrongful)] = 2;
  LiquidationMapRow perp{"ETH-PERP", std::vector<Int>(100)};
  perp.buckets[10] = 5000000000;
  perp.buckets[40] = 1000000000;
  perp.buckets[49] = 1;  // one base unit still draws a bar
  LiquidationMapRow token{"<B&B>", std::vector<Int>(100)};
  token.buckets[30] = 2000000;
  input.liquidation_map = {perp, token};
  return input;
}

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The text from `open` to the next `close`, both included; empty when `open` is missing.
std::string_view between(std::string_view text, std::string_view open, std::string_view close) {
  const size_t begin = text.find(open);
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find(close, begin);
  return text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end + close.size() - begin);
}

using testing::slurp;

// The points="…" lists of every polyline, each as its "x,y" pairs.
std::vector<std::vector<std::string>> polylines(std::string_view html) {
  std::vector<std::vector<std::string>> lines;
  const std::string_view key = "<polyline class=\"series\" points=\"";
  for (size_t at = html.find(key); at != std::string_view::npos; at = html.find(key, at + 1)) {
    const size_t begin = at + key.size(), end = html.find('"', begin);
    std::vector<std::string> pairs;
    for (size_t p = begin; p < end;) {
      const size_t space = std::min(html.find(' ', p), end);
      pairs.emplace_back(html.substr(p, space - p));
      p = space + 1;
    }
    lines.push_back(std::move(pairs));
  }
  return lines;
}

TEST(Report, EverySectionAndChart) {
  const WhatIfResult result = sample_result();
  const std::string html = render_report(sample_input(result));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* heading : {"<h2>Price path</h2>", "<h2>Closed notional</h2>", "<h2>Insurance fund</h2>",
                              "<h2>Bad debt</h2>", "<h2>Liquidation map</h2>", "<h2>The log's own audit</h2>",
                              "<h2>Side by side</h2>"}) {
    EXPECT_EQ(count(html, heading), 1u) << heading;
  }
  for (const char* id : {"price-0", "price-1", "closed-notional", "insurance-fund", "bad-debt", "liquidation-map-0",
                         "liquidation-map-1", "audit-verdicts"}) {
    EXPECT_EQ(count(html, std::string("<svg class=\"chart\" id=\"") + id + "\""), 1u) << id;
  }
  EXPECT_EQ(count(html, "<svg class=\"chart\""), 8u);
  EXPECT_EQ(count(html, "</svg>"), 8u);
  // Instrument order: assets before markets.
  EXPECT_NE(between(html, "id=\"price-0\"", "</svg>").find("&lt;B&amp;B&gt; (asset:1)"), std::string_view::npos);
  EXPECT_NE(between(html, "id=\"price-1\"", "</svg>").find("ETH-PERP (market:1)"), std::string_view::npos);
}

TEST(Report, CountsWhatItDraws) {
  const WhatIfResult result = sample_result();
  const std::string html = render_report(sample_input(result));
  EXPECT_EQ(count(html, "class=\"series\""), kInstruments * (kVariants + 1) + 3 * kVariants);
  EXPECT_EQ(count(html, "class=\"mark\""), kMarks);
  EXPECT_EQ(count(between(html, "<section id=\"liquidation-map\">", "</section>"), "class=\"bar\""), kMapNonzero);
  EXPECT_EQ(count(between(html, "id=\"audit-verdicts\"", "</svg>"), "class=\"bar\""), 3u);  // three verdicts seen
  // The cascade round's mark is the larger one.
  EXPECT_EQ(count(html, "class=\"mark\" cx="), kMarks);
  EXPECT_EQ(count(html, "r=\"6\""), 1u);
  // Per price chart: one line per variant and the oracle; per cumulative chart one per variant.
  for (const char* id : {"price-0", "price-1"}) {
    EXPECT_EQ(count(between(html, std::string("id=\"") + id + "\"", "</svg>"), "class=\"series\""), kVariants + 1);
  }
  for (const char* id : {"closed-notional", "insurance-fund", "bad-debt"}) {
    EXPECT_EQ(count(between(html, std::string("id=\"") + id + "\"", "</svg>"), "class=\"series\""), kVariants);
  }
}

TEST(Report, AxisLabelsInWholeUnits) {
  const WhatIfResult result = sample_result();
  const std::string html = render_report(sample_input(result));
  // ETH-PERP: from 1750 (full's effective price) to 2000, over 3 s (ts 1 000 000 to 4 000 000 µs).
  const std::string_view perp = between(html, "id=\"price-1\"", "</svg>");
  EXPECT_NE(perp.find(">1750</text>"), std::string_view::npos);
  EXPECT_NE(perp.find(">2000</text>"), std::string_view::npos);
  EXPECT_NE(perp.find(">0 s</text>"), std::string_view::npos);
  EXPECT_NE(perp.find(">3 s</text>"), std::string_view::npos);
  // Closed notional from 0 to 2000 USDC.
  const std::string_view closed = between(html, "id=\"closed-notional\"", "</svg>");
  EXPECT_NE(closed.find(">0</text>"), std::string_view::npos);
  EXPECT_NE(closed.find(">2000</text>"), std::string_view::npos);
  // The map's largest bucket: 5000000000 base units = 5000 USDC; the move from -50 % to +50 %.
  const std::string_view map = between(html, "id=\"liquidation-map-0\"", "</svg>");
  EXPECT_NE(map.find(">5000</text>"), std::string_view::npos);
  EXPECT_NE(map.find(">-50 %</text>"), std::string_view::npos);
  EXPECT_NE(map.find(">+50 %</text>"), std::string_view::npos);
  // The verdicts by name, with their counts.
  const std::string_view verdicts = between(html, "id=\"audit-verdicts\"", "</svg>");
  for (const char* name : {">MINIMAL</text>", ">UNDER</text>", ">WRONGFUL</text>", ">ABSORBED</text>", ">5</text>"}) {
    EXPECT_NE(verdicts.find(name), std::string_view::npos) << name;
  }
}

// A price below 10^-4: labels with as many decimals as tell the lowest from the highest.
TEST(Report, AxisLabelsOfTinyPrices) {
  WhatIfResult result = sample_result();
  result.variants.resize(1);
  result.variants[0].marks.clear();
  result.variants[0].series = {point(1, 1'000'000, kToken, 0, 0, 0, 0, 0), point(2, 2'000'000, kToken, 0, 0, 0, 0, 0)};
  result.variants[0].series[0].oracle = result.variants[0].series[0].effective = Int(12340000000000);  // 0.00001234
  result.variants[0].series[1].oracle = result.variants[0].series[1].effective = Int(13000000000000);  // 0.000013
  const std::string html = render_report(sample_input(result));
  const std::string_view token = between(html, "id=\"price-0\"", "</svg>");
  EXPECT_NE(token.find(">0.000012</text>"), std::string_view::npos);
  EXPECT_NE(token.find(">0.000013</text>"), std::string_view::npos);
}

TEST(Report, SideBySideShowsExactFigures) {
  const WhatIfResult result = sample_result();
  const std::string html = render_report(sample_input(result));
  const std::string_view table = between(html, "<section id=\"side-by-side\">", "</section>");
  for (const char* row : {
           "<tr><th></th><th>partial</th><th>full</th></tr>",
           "<tr><th>liquidations</th><td>3</td><td>1</td></tr>",
           "<tr><th>accounts liquidated</th><td>2</td><td>1</td></tr>",
           "<tr><th>kept a position</th><td>1</td><td>0</td></tr>",
           "<tr><th>fully closed</th><td>1</td><td>1</td></tr>",
           "<tr><th>closed notional (USDC)</th><td>1234.56789</td><td>2000</td></tr>",
           "<tr><th>penalties (USDC)</th><td>12.345678</td><td>20</td></tr>",
           "<tr><th>bankruptcies</th><td>1</td><td>0</td></tr>",
           "<tr><th>close-outs</th><td>1</td><td>0</td></tr>",
           "<tr><th>absorbed</th><td>0</td><td>0</td></tr>",
           "<tr><th>bad debt, value (USDC)</th><td>11</td><td>0</td></tr>",
           "<tr><th>user equity (USDC)</th><td>-1.5</td><td>7</td></tr>",
           "<tr><th>max cascade depth</th><td>2</td><td>1</td></tr>",
           "<tr><th>cascade rounds</th><td>1</td><td>0</td></tr>",
           "<tr><th>exogenous events rejected</th><td>4</td><td>0</td></tr>",
           "<tr><th>bad debt (USDC)</th><td>0</td><td>0</td></tr>",
           "<tr><th>insurance (USDC)</th><td>5</td><td>3</td></tr>",
           "<tr><th>bad debt (&lt;B&amp;B&gt;)</th><td>2.5</td><td>0</td></tr>",  // 250000000 at 8 decimals
           "<tr><th>insurance (&lt;B&amp;B&gt;)</th><td>0</td><td>0</td></tr>",
       }) {
    EXPECT_NE(table.find(row), std::string_view::npos) << row;
  }
  const std::string_view totals = between(html, "<table class=\"totals\">", "</table>");
  for (const char* row : {"<tr><th>liquidation events</th><td>8</td></tr>",
                          "<tr><th>perp / token / absorb</th><td>6 / 2 / 0</td></tr>",
                          "<tr><th>bankruptcies</th><td>1</td></tr>",
                          "<tr><th>closed notional (USDC)</th><td>987.654321</td></tr>"}) {
    EXPECT_NE(totals.find(row), std::string_view::npos) << row;
  }
}

TEST(Report, SelfContainedEscapedDeterministic) {
  const WhatIfResult result = sample_result();
  const std::string html = render_report(sample_input(result));
  for (const char* external : {"http", "https", "<script", "src=", "url(", "@import", "<link", "<img"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
  EXPECT_EQ(html.find("<B&B>"), std::string::npos);
  EXPECT_EQ(html.find("'x'"), std::string::npos);
  EXPECT_NE(html.find("&lt;B&amp;B&gt;"), std::string::npos);
  EXPECT_NE(html.find("<h1>What-if report: ledger &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co</h1>"),
            std::string::npos);
  EXPECT_EQ(render_report(sample_input(result)), html);
}

// Every polyline has two points at least, and two distinct ones.
void expect_every_line_draws(const std::string& html) {
  const auto lines = polylines(html);
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    ASSERT_GE(line.size(), 2u);
    EXPECT_NE(line.front(), line.back());
  }
}

TEST(Report, OnePointOrAFlatSeriesStillDraws) {
  WhatIfResult result = sample_result();
  result.variants.resize(1);
  result.variants[0].series = {point(1, 5'000'000, kPerp, 2000, 2000, 0, 0, 0)};
  result.variants[0].marks = {mark(1, 5'000'000, kPerp, 0)};
  std::string html = render_report(sample_input(result));
  EXPECT_EQ(count(html, "class=\"series\""), 1 * (1 + 1) + 3 * 1u);
  EXPECT_EQ(count(html, "class=\"mark\""), 1u);
  expect_every_line_draws(html);
  EXPECT_NE(between(html, "id=\"price-0\"", "</svg>").find(">2000</text>"), std::string_view::npos);

  result.variants[0].series = {point(1, 1'000'000, kPerp, 2000, 2000, 7, 0, 0),
                               point(2, 2'000'000, kPerp, 2000, 2000, 7, 0, 0),
                               point(3, 3'000'000, kPerp, 2000, 2000, 7, 0, 0)};
  html = render_report(sample_input(result));
  expect_every_line_draws(html);
}

// A keeper liquidation after an event that moved no price comes after every
// series point: the time axis reaches it, the mark stays in the frame.
TEST(Report, AMarkAfterTheLastPointStaysInTheFrame) {
  WhatIfResult result = sample_result();
  result.variants[0].marks.push_back(mark(9, 9'000'000, kPerp, 0));
  const std::string html = render_report(sample_input(result));
  const std::string_view perp = between(html, "id=\"price-1\"", "</svg>");
  EXPECT_NE(perp.find(">8 s</text>"), std::string_view::npos);  // 1 000 000 to 9 000 000 µs
  EXPECT_NE(perp.find("<circle class=\"mark\" cx=\"940\""), std::string_view::npos);  // the frame's right edge
}

TEST(Report, NothingToDrawStillRenders) {
  WhatIfResult result;
  result.variants = {partial_variant()};
  result.variants[0].series.clear();
  result.variants[0].marks.clear();
  ReportInput input;
  input.whatif = &result;
  const std::string html = render_report(input);
  EXPECT_NE(html.find("No price series in this run."), std::string::npos);
  EXPECT_NE(html.find("No liquidation map in this run."), std::string::npos);
  EXPECT_EQ(count(html, "class=\"series\""), 0u);
  EXPECT_EQ(count(html, "<svg class=\"chart\""), 4u);  // three cumulative charts and the verdicts, axes only
}

// 10^5 points: every line thinned to two points per pixel column of the plot
// (830 px wide) and the last one; the file stays small.
TEST(Report, LongSeriesAreThinned) {
  WhatIfResult result = sample_result();
  result.variants.resize(1);
  std::vector<SeriesPoint>& series = result.variants[0].series;
  std::vector<LiquidationMark>& marks = result.variants[0].marks;
  series.clear();
  marks.clear();
  for (uint64_t i = 0; i < 100'000; ++i) {
    const int64_t price = 1000 + static_cast<int64_t>((i * 7919) % 1000);
    series.push_back(point(i + 1, 1'000'000 + i * 1000, i % 2 == 0 ? kPerp : kToken, price, price - 1,
                           static_cast<int64_t>(i) * 1000, static_cast<int64_t>(i), 0));
    if (i % 10 == 0) marks.push_back(mark(i + 1, 1'000'000 + i * 1000, i % 2 == 0 ? kPerp : kToken, i % 3 == 0));
  }
  const std::string html = render_report(sample_input(result));
  const auto lines = polylines(html);
  ASSERT_EQ(lines.size(), 2 * (1 + 1) + 3 * 1u);
  for (const auto& line : lines) EXPECT_LE(line.size(), 2 * 831 + 1u);
  EXPECT_LT(html.size(), 1'000'000u);
  EXPECT_GT(count(html, "class=\"mark\""), 100u);
}

// The report opened in Debian's headless Chromium: a screenshot that is not
// blank, showing both variants' colours and the audit's grey bars, and a DOM in
// which every chart drew.
TEST(ReportBrowser, ChromiumDrawsEveryChart) {
  const std::string chromium = "/usr/bin/chromium";
  ASSERT_TRUE(std::filesystem::exists(chromium))
      << chromium << " is missing: run scripts/setup (it installs the Debian package chromium)";
  ASSERT_EQ(testing::run_shell("python3 -c pass 2>&1").exit_code, 0) << "python3 is missing: run scripts/setup";
  testing::ScratchDir dir;
  const WhatIfResult result = sample_result();
  {
    std::ofstream out(dir.path("report.html"), std::ios::binary);
    out << render_report(sample_input(result));
  }
  const std::string browser = "timeout 120 " + chromium +
                              " --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=" +
                              dir.path("profile") + " --window-size=1280,4000 ";
  const std::string url = "file://" + dir.path("report.html");
  const auto shot = testing::run_shell(browser + "--screenshot=" + dir.path("report.png") + " " + url + " 2>" +
                                       dir.path("screenshot.log"));
  ASSERT_EQ(shot.exit_code, 0) << "chromium --screenshot failed:\n" << slurp(dir.path("screenshot.log"));
  const auto dom = testing::run_shell(browser + "--dump-dom " + url + " 2>" + dir.path("dom.log"));
  ASSERT_EQ(dom.exit_code, 0) << "chromium --dump-dom failed:\n" << slurp(dir.path("dom.log"));
  {
    std::ofstream out(dir.path("dom.html"), std::ios::binary);
    out << dom.out;
  }
  const auto check = testing::run_shell(
      std::string("python3 ") + LIQL_SOURCE_DIR + "/tests/report_browser_check.py " + dir.path("report.png") + " " +
      dir.path("dom.html") +
      " --charts price-0,price-1,closed-notional,insurance-fund,bad-debt,liquidation-map-0,liquidation-map-1,"
      "audit-verdicts --colours 1f77b4,d62728,666666 2>&1");
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

}  // namespace
}  // namespace liql
