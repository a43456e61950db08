// The synthetic market (tools/generate.h): deterministic, exactly the number
// of lines asked for, every line accepted, and — run through the state
// machine — many partial liquidations, bankruptcies, capped seizures whose
// dust is closed out, absorbed traders who realised a loss, no account left
// BANKRUPT at the end, and the conservation invariant of SPEC §7 after every
// single event.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/health.h"
#include "engine/state.h"
#include "replay/replay.h"
#include "tests/test_dirs.h"
#include "tools/generate.h"
#include "tools/price_path.h"

namespace liql {
namespace {

std::vector<std::string> generate(const GenerateOptions& options) {
  std::vector<std::string> lines;
  const Status status = generate_market(options, [&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  return lines;
}

// Options generate_market refuses: InvalidArgument with `message`, before any line.
void expect_refused(const GenerateOptions& options, const std::string& message) {
  size_t lines = 0;
  const Status status = generate_market(options, [&](std::string_view) { ++lines; });
  EXPECT_EQ(status.code(), Status::Code::InvalidArgument) << status.to_string();
  EXPECT_EQ(status.message(), message);
  EXPECT_EQ(lines, 0u);
}

GenerateOptions options(uint64_t seed, uint64_t accounts, uint64_t events, uint32_t crash_pct = 40) {
  GenerateOptions o;
  o.seed = seed;
  o.accounts = accounts;
  o.events = events;
  o.crash_pct = crash_pct;
  return o;
}

// Feeds every line to a MemoryRun; fails the test at the first refused line.
void run_all(const std::vector<std::string>& lines, MemoryRun* run) {
  for (size_t i = 0; i < lines.size(); ++i) {
    InputError error;
    ASSERT_TRUE(run->add_line(lines[i], i + 1, &error)) << error.to_string() << "\n" << lines[i];
  }
}

TEST(Generate, SameOptionsSameBytesOtherSeedOtherBytes) {
  const auto first = generate(options(7, 200, 3000));
  const auto second = generate(options(7, 200, 3000));
  EXPECT_EQ(first, second);
  const auto other = generate(options(8, 200, 3000));
  EXPECT_NE(first, other);
}

TEST(Generate, WritesExactlyTheNumberOfEventsAskedFor) {
  for (uint64_t events : {0, 1, 2, 5, 9, 17, 40, 333, 2500}) {
    const auto lines = generate(options(3, 50, events));
    EXPECT_EQ(lines.size(), events);
    // A short budget cuts the story anywhere: every prefix is still a valid log.
    MemoryRun run;
    run_all(lines, &run);
    for (const auto& line : lines) EXPECT_EQ(line.find('\n'), std::string::npos);
  }
  EXPECT_EQ(generate(options(3, 0, 500)).size(), 500u);  // no ordinary accounts: prices and the setup only
}

// crash_pct is a percentage of the price, at most 95: 96 is refused, with nothing written; 95 runs.
TEST(Generate, RefusesACrashDeeperThan95Percent) {
  expect_refused(options(1, 10, 10, 96), "crash_pct 96: not between 0 and 95");
  expect_refused(options(1, 10, 10, 1000), "crash_pct 1000: not between 0 and 95");
  EXPECT_EQ(generate(options(1, 10, 10, 95)).size(), 10u);
}

// Σ deposits − Σ withdrawals + Σ insurance_deposits per asset, from the
// applied events (SPEC §7's right-hand side).
void add_flow(const std::string& line, const State& state, std::map<AssetId, Int>* flows) {
  const auto json = nlohmann::json::parse(line);
  const std::string type = json.at("type").get<std::string>();
  if (type != "deposit" && type != "withdraw" && type != "insurance_deposit") return;
  const AssetId asset = json.at("asset").get<AssetId>();
  const auto amount = parse_units(json.at("amount").get<std::string>(), state.assets.at(asset).params.decimals);
  ASSERT_TRUE(amount.has_value()) << line;
  (*flows)[asset] += type == "withdraw" ? Int(-*amount) : *amount;
}

// SPEC §7: for every asset X, Σ balance[X] + insurance + treasury
// (+ Σ position quote for the quote asset) − bad_debt = flows[X] + external[X];
// Σ base = 0 per market.
void expect_conserved(const State& state, std::map<AssetId, Int> flows, size_t line_number) {
  std::map<AssetId, Int> held;
  std::map<MarketId, Int> base;
  for (const auto& [id, account] : state.accounts) {  // sums only: order does not matter
    for (const auto& [asset, balance] : account.balances) held[asset] += balance;
    for (const auto& [market, position] : account.positions) {
      held[kQuoteAsset] += position.quote;
      base[market] += position.base;
    }
  }
  for (const auto& [asset, listed] : state.assets) {
    const Funds& funds = state.funds_of(asset);
    const Int lhs = held[asset] + funds.insurance + funds.treasury - funds.bad_debt;
    ASSERT_EQ(lhs, flows[asset] + funds.external) << "asset " << asset << " after line " << line_number;
  }
  for (const auto& [market, sum] : base) {
    ASSERT_TRUE(sum.is_zero()) << "market " << market << " base " << sum << " after line " << line_number;
  }
}

struct AuditCounts {
  // Liquidations (perp and token) applied, and their verdicts.
  size_t applied = 0, minimal = 0, under = 0, bankrupt = 0;
  // Token liquidations whose close-out moved unseizable dust to insurance.
  size_t dust_closed_out = 0;
  // Absorbs: applied (ABSORBED, every one a close-out), rejected NOT_EXHAUSTED (the
  // keeper's deliberate premature attempts).
  size_t absorbed = 0, not_exhausted = 0;
  size_t not_liquidatable = 0, other_rejections = 0;
  // Events without an audit record (trades, deposits, prices, …) that were rejected.
  size_t events_rejected = 0;
};

AuditCounts count_audits(const MemoryRun& run) {
  AuditCounts c;
  for (const Outcome& outcome : run.outcomes()) {
    if (!outcome.audit) {
      c.events_rejected += !outcome.applied();
      continue;
    }
    const LiquidationAudit& audit = *outcome.audit;
    if (!outcome.applied()) {
      if (outcome.reason == Reason::NotLiquidatable) {
        ++c.not_liquidatable;
      } else if (outcome.reason == Reason::NotExhausted && audit.kind == LiquidationKind::Absorb) {
        ++c.not_exhausted;
      } else {
        ++c.other_rejections;
      }
      continue;
    }
    if (audit.kind == LiquidationKind::Absorb) {
      c.absorbed += audit.verdict == Verdict::Absorbed && audit.bankrupt.has_value();
      continue;
    }
    ++c.applied;
    c.minimal += audit.verdict == Verdict::Minimal;
    c.under += audit.verdict == Verdict::Under;
    c.bankrupt += audit.bankrupt.has_value();
    if (audit.kind == LiquidationKind::Token && audit.bankrupt) {
      bool dust = false;
      for (const BankruptcyLine& line : audit.bankrupt->lines) dust = dust || line.dust.sign() > 0;
      c.dust_closed_out += dust;
    }
  }
  std::printf("liquidations: %zu applied, %zu minimal, %zu under, %zu bankrupt, %zu token close-outs with dust; "
              "%zu absorbed; rejected: %zu not liquidatable, %zu not exhausted, %zu other\n",
              c.applied, c.minimal, c.under, c.bankrupt, c.dust_closed_out, c.absorbed, c.not_liquidatable,
              c.not_exhausted, c.other_rejections);
  return c;
}

// Traders who realised a loss by trading are absorbed, capped seizures leave
// dust that the engine closes out, and the keeper leaves nobody BANKRUPT.
void expect_loss_realisers_and_dust_closed_out(const MemoryRun& run, const AuditCounts& counts) {
  EXPECT_EQ(counts.events_rejected, 0u) << "every trade (the fire sales too), transfer and price is accepted";
  EXPECT_GE(counts.absorbed, 1u);
  EXPECT_GE(counts.dust_closed_out, 1u);
  const State& state = run.machine().state();
  size_t still_bankrupt = 0;
  for (const auto& [id, account] : state.accounts) {
    if (!priced(state, account)) continue;  // the status needs every price
    if (health_report(state, account).status == AccountStatus::Bankrupt) {
      ++still_bankrupt;
      ADD_FAILURE() << "account " << id << " is still BANKRUPT at seq " << state.seq;
    }
  }
  EXPECT_EQ(still_bankrupt, 0u);
}

TEST(Generate, AThousandAccountsThroughTheMachine) {
  const auto lines = generate(options(2024, 1000, 20000));
  ASSERT_EQ(lines.size(), 20000u);

  MemoryRun run;
  std::map<AssetId, Int> flows;
  for (size_t i = 0; i < lines.size(); ++i) {
    InputError error;
    ASSERT_TRUE(run.add_line(lines[i], i + 1, &error)) << error.to_string() << "\n" << lines[i];
    if (run.outcomes().back().applied()) add_flow(lines[i], run.machine().state(), &flows);
    expect_conserved(run.machine().state(), flows, i + 1);
    if (HasFatalFailure()) return;
  }

  const AuditCounts counts = count_audits(run);
  EXPECT_GE(counts.minimal, 200u);
  EXPECT_GE(counts.under, 1u);
  EXPECT_GE(counts.bankrupt, 1u);
  EXPECT_GE(counts.not_liquidatable, 1u);
  EXPECT_EQ(counts.other_rejections, 0u);
  // The keeper only liquidates accounts that are liquidatable: partial policy, no max → MINIMAL.
  EXPECT_EQ(counts.applied, counts.minimal + counts.under);
  expect_loss_realisers_and_dust_closed_out(run, counts);
}

// The SPEC §5.4 cases, in a market of the default size (GenerateOptions{}).
TEST(Generate, DefaultMarketAbsorbsLossesAndClosesOutDust) {
  const GenerateOptions defaults;
  const auto lines = generate(defaults);
  ASSERT_EQ(lines.size(), defaults.events);
  MemoryRun run;
  run_all(lines, &run);
  if (HasFatalFailure()) return;
  const AuditCounts counts = count_audits(run);
  EXPECT_EQ(counts.other_rejections, 0u);
  EXPECT_EQ(counts.applied, counts.minimal + counts.under);
  expect_loss_realisers_and_dust_closed_out(run, counts);
}

// ---- a real price path (GenerateOptions::price_path, tools/price_path.h) ----------------

RealPricePath parsed_path(const std::string& text) {
  RealPricePath path;
  InputError error;
  EXPECT_TRUE(parse_price_path(text, &path, &error)) << error.to_string();
  return path;
}

GenerateOptions with_path(uint64_t seed, uint64_t accounts, uint64_t events, const std::string& text) {
  GenerateOptions o = options(seed, accounts, events);
  o.price_path = parsed_path(text);
  return o;
}

// The prices the log publishes for one feed, in order, consecutive repeats
// dropped (every round republishes all four feeds).
std::vector<Int> published(const std::vector<std::string>& lines, const std::string& key, uint32_t id) {
  std::vector<Int> prices;
  for (const std::string& line : lines) {
    const auto json = nlohmann::json::parse(line);
    if (json.at("type") != "price" || !json.contains(key) || json.at(key) != id) continue;
    const auto price = parse_units(json.at("price").get<std::string>(), 18);
    EXPECT_TRUE(price.has_value()) << line;
    if (prices.empty() || prices.back() != *price) prices.push_back(*price);
  }
  return prices;
}

// Whole units of a price (10^18 per unit) given in units of 10^-4.
Int ticks(int64_t ten_thousandths) { return Int(ten_thousandths) * pow10(14); }

// A real path 3000 → 2100 (−30%) → 2550 (+21.43%) → 2549.99999, one
// instrument (asset 1 of the file): it drives ETH, and BTC follows the same
// relative moves. price_k = ⌊base · p_k / p_0⌋ down to the tick of 0.0001:
//   ETH (base 2000):  2000·3000/3000 = 2000;  2000·2100/3000 = 1400;  2000·2550/3000 = 1700;
//                     2000·2549.99999/3000 = 1699.99999333… → 1699.9999
//   BTC (base 40000): 40000, 28000, 34000;    40000·2549.99999/3000 = 33999.9998666… → 33999.9998
constexpr const char* kCrashPath =
    R"({"type":"price","ts":100,"asset":1,"price":"3000","publish_ts":90}
{"type":"price","ts":200,"asset":1,"price":"2100"}

{"type":"price","ts":300,"asset":1,"price":"2550"}
{"type":"price","ts":300,"asset":1,"price":"2549.99999","publish_ts":300}
)";

TEST(GeneratePricePath, ParsesTheFileExactly) {
  const RealPricePath path = parsed_path(kCrashPath);
  ASSERT_EQ(path.instruments, std::vector<std::string>{"asset 1"});
  ASSERT_EQ(path.points.size(), 4u);
  EXPECT_EQ(path.points[0].price, Int(3000) * pow10(18));
  EXPECT_EQ(path.points[3].price, Int(254999999) * pow10(13));  // 2549.99999 · 10^18
  for (const auto& point : path.points) EXPECT_EQ(point.instrument, 0u);
}

TEST(GeneratePricePath, EthAndBtcFollowTheRelativeMovesExactly) {
  const auto lines = generate(with_path(7, 300, 5000, kCrashPath));
  ASSERT_EQ(lines.size(), 5000u);
  const std::vector<Int> eth = {ticks(20'000'000), ticks(14'000'000), ticks(17'000'000), ticks(16'999'999)};
  const std::vector<Int> btc = {ticks(400'000'000), ticks(280'000'000), ticks(340'000'000), ticks(339'999'998)};
  EXPECT_EQ(published(lines, "asset", 1), eth);
  EXPECT_EQ(published(lines, "market", 1), eth);  // spot and perp move as one
  EXPECT_EQ(published(lines, "asset", 2), btc);
  EXPECT_EQ(published(lines, "market", 2), btc);
  // The generator's own timestamps: the first price at 1000 µs + 0.5..1.5 s, never the file's 100.
  EXPECT_GT(nlohmann::json::parse(lines[5]).at("ts").get<uint64_t>(), 300u);

  // Every line accepted; the keeper liquidates, after the fall and only then.
  MemoryRun run;
  run_all(lines, &run);
  if (HasFatalFailure()) return;
  size_t fall = 0;  // the line of the first price at 1400
  for (size_t i = 0; i < lines.size() && fall == 0; ++i) {
    if (lines[i].find(R"("type":"price")") != std::string::npos && lines[i].find(R"("price":"1400")") != std::string::npos) {
      fall = i;
    }
  }
  ASSERT_GT(fall, 0u);
  // Onboarding (40% of the events) holds the first point; the path starts right after.
  EXPECT_GE(fall, 2000u);
  size_t liquidations_before_fall = 0;
  for (size_t i = 0; i < fall; ++i) {
    const Outcome& outcome = run.outcomes()[i];
    liquidations_before_fall += outcome.audit.has_value() && outcome.applied();
  }
  EXPECT_EQ(liquidations_before_fall, 0u);
  const AuditCounts counts = count_audits(run);
  EXPECT_GE(counts.minimal, 50u);
  EXPECT_GE(counts.bankrupt, 1u);
  EXPECT_EQ(counts.other_rejections, 0u);
  EXPECT_EQ(counts.events_rejected, 0u);
  EXPECT_EQ(counts.applied, counts.minimal + counts.under);
}

TEST(GeneratePricePath, SameOptionsSameBytes) {
  const auto first = generate(with_path(11, 200, 3000, kCrashPath));
  EXPECT_EQ(first, generate(with_path(11, 200, 3000, kCrashPath)));
  EXPECT_NE(first, generate(options(11, 200, 3000)));
  // crash_pct is ignored with a path.
  GenerateOptions deeper = with_path(11, 200, 3000, kCrashPath);
  deeper.crash_pct = 80;
  EXPECT_EQ(first, generate(deeper));
}

// Two instruments (market 5 drives ETH, asset 9 BTC; asset 3, a third, is
// checked and ignored). Points in file order: m5 100, a9 50, m5 80, a9 60, m5 90:
//   ETH = 2000 · p/100:  2000, 2000, 1600, 1600, 1800
//   BTC = 40000 · p/50:  40000 (its base until its first point), 40000, 40000, 48000, 48000
TEST(GeneratePricePath, ASecondInstrumentDrivesBtc) {
  const std::string text =
      R"({"type":"price","ts":1,"market":5,"price":"100"}
{"type":"price","ts":2,"asset":9,"price":"50"}
{"type":"price","ts":3,"market":5,"price":"80"}
{"type":"price","ts":3,"asset":3,"price":"7"}
{"type":"price","ts":4,"asset":9,"price":"60"}
{"type":"price","ts":5,"asset":3,"price":"9000"}
{"type":"price","ts":6,"market":5,"price":"90"}
)";
  const RealPricePath path = parsed_path(text);
  EXPECT_EQ(path.instruments, (std::vector<std::string>{"market 5", "asset 9"}));
  EXPECT_EQ(path.points.size(), 5u);
  const auto lines = generate(with_path(5, 200, 6000, text));
  // ETH and BTC published together each round: the pairs, consecutive repeats dropped.
  std::vector<std::pair<Int, Int>> pairs;
  Int eth;
  for (const std::string& line : lines) {
    const auto json = nlohmann::json::parse(line);
    if (json.at("type") != "price" || !json.contains("asset")) continue;
    const Int price = *parse_units(json.at("price").get<std::string>(), 18);
    if (json.at("asset") == 1) eth = price;
    if (json.at("asset") != 2) continue;
    if (pairs.empty() || pairs.back() != std::pair(eth, price)) pairs.emplace_back(eth, price);
  }
  const auto whole = [](int64_t units) { return Int(units) * pow10(18); };
  const std::vector<std::pair<Int, Int>> expected = {{whole(2000), whole(40000)},
                                                     {whole(1600), whole(40000)},
                                                     {whole(1600), whole(48000)},
                                                     {whole(1800), whole(48000)}};
  EXPECT_EQ(pairs, expected);
  MemoryRun run;
  run_all(lines, &run);
}

// A bad file is refused naming the line and the field.
TEST(GeneratePricePath, BadInputNamesTheLineAndField) {
  const std::string good = R"({"type":"price","ts":1,"asset":1,"price":"2000"})";
  struct Case {
    std::string second_line;
    std::string field;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {R"({"type":"price","ts":2,"asset":1,"price":"2000")", "", "malformed JSON"},
      {R"([1,2])", "", "expected a JSON object"},
      {R"({"type":"deposit","ts":2,"account":1,"asset":0,"amount":"1"})", "type", "expected \"price\""},
      {R"({"ts":2,"asset":1,"price":"2000"})", "type", "missing"},
      {R"({"type":"price","asset":1,"price":"2000"})", "ts", "missing"},
      {R"({"type":"price","ts":"2","asset":1,"price":"2000"})", "ts", "expected an integer"},
      {R"({"type":"price","ts":0,"asset":1,"price":"2000"})", "ts", "before the previous line's 1"},
      {R"({"type":"price","ts":2,"price":"2000"})", "asset", "exactly one of asset and market"},
      {R"({"type":"price","ts":2,"asset":1,"market":1,"price":"2000"})", "market", "exactly one"},
      {R"({"type":"price","ts":2,"asset":-1,"price":"2000"})", "asset", "out of range"},
      {R"({"type":"price","ts":2,"asset":1})", "price", "missing"},
      {R"({"type":"price","ts":2,"asset":1,"price":2000.5})", "price", "expected a decimal string"},
      {R"({"type":"price","ts":2,"asset":1,"price":"20a0"})", "price", ""},
      {R"({"type":"price","ts":2,"asset":1,"price":"0"})", "price", "greater than 0"},
      {R"({"type":"price","ts":2,"asset":1,"price":"-5"})", "price", "greater than 0"},
      {R"({"type":"price","ts":2,"asset":1,"price":"1.0000000000000000001"})", "price", "more than 18 decimals"},
      {R"({"type":"price","ts":2,"asset":1,"price":"2000001"})", "price", "more than 1000 times"},
      {R"({"type":"price","ts":2,"asset":1,"price":"2000","publish_ts":3})", "publish_ts", "after the line's ts"},
      {R"({"type":"price","ts":2,"asset":1,"price":"2000","source":"x"})", "source", "unknown field"},
  };
  for (const Case& c : cases) {
    RealPricePath path;
    InputError error;
    EXPECT_FALSE(parse_price_path(good + "\n" + c.second_line + "\n" + good, &path, &error)) << c.second_line;
    EXPECT_EQ(error.line, 2u) << c.second_line;
    EXPECT_EQ(error.field, c.field) << c.second_line << ": " << error.to_string();
    EXPECT_NE(error.message.find(c.message_part), std::string::npos) << c.second_line << ": " << error.to_string();
  }
  // Fewer than 2 points of the first instrument: the file as a whole (line 0).
  for (const std::string& text : {std::string(), std::string("\n\n"), good + "\n",
                                  good + "\n" + R"({"type":"price","ts":2,"market":1,"price":"5"})"}) {
    RealPricePath path;
    InputError error;
    EXPECT_FALSE(parse_price_path(text, &path, &error)) << text;
    EXPECT_EQ(error.line, 0u);
    EXPECT_NE(error.message.find("at least 2 points"), std::string::npos) << error.message;
  }
  // A missing file, and the line and field through read_price_path.
  testing::ScratchDir dir;
  RealPricePath path;
  Status status = read_price_path(dir.path("none.jsonl"), &path);
  EXPECT_EQ(status.code(), Status::Code::IOError);
  EXPECT_EQ(status.message(), dir.path("none.jsonl") + ": cannot read it");
  std::ofstream(dir.path("bad.jsonl")) << good << "\n" << R"({"type":"price","ts":2,"asset":1,"price":"1.2.3"})";
  status = read_price_path(dir.path("bad.jsonl"), &path);
  EXPECT_EQ(status.code(), Status::Code::InvalidArgument);
  EXPECT_EQ(status.message().rfind(dir.path("bad.jsonl") + ": line 2, field \"price\": ", 0), 0u) << status.message();
  std::ofstream(dir.path("good.jsonl")) << kCrashPath;
  status = read_price_path(dir.path("good.jsonl"), &path);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(path.points.size(), 4u);
}

// A path built by hand is checked like a parsed one: a Status naming the
// option and the point, and nothing written.
TEST(GeneratePricePath, RefusesAnInvalidHandBuiltPath) {
  GenerateOptions o = options(1, 10, 100);
  o.price_path = RealPricePath{{}, {{0, Int(5)}, {0, Int(6)}}};
  expect_refused(o, "price_path: one or two instruments");
  o.price_path = RealPricePath{{"asset 1", "asset 2", "asset 3"}, {{0, Int(5)}, {0, Int(6)}}};
  expect_refused(o, "price_path: one or two instruments");
  o.price_path = RealPricePath{{"asset 1", "asset 2"}, {{1, Int(5)}, {0, Int(5)}, {0, Int(6)}}};
  expect_refused(o, "price_path: the first point must be of the first instrument");
  o.price_path = RealPricePath{{"asset 1"}, {{0, Int(5)}}};
  expect_refused(o, "price_path: fewer than 2 points of the first instrument");
  o.price_path = RealPricePath{{"asset 1", "asset 2"}, {{0, Int(5)}, {1, Int(5)}}};  // one point of the first
  expect_refused(o, "price_path: fewer than 2 points of the first instrument");
  o.price_path = RealPricePath{{"asset 1"}, {{0, Int(5)}, {0, Int(0)}}};
  expect_refused(o, "price_path: point 1: a price ≤ 0");
  o.price_path = RealPricePath{{"asset 1"}, {{0, Int(5)}, {1, Int(5)}}};
  expect_refused(o, "price_path: point 1: an unknown instrument");
  // 5 · 1000 = 5000 is the most a point of an instrument first at 5 may be.
  o.price_path = RealPricePath{{"asset 1"}, {{0, Int(5)}, {0, Int(7)}, {0, Int(5001)}}};
  expect_refused(o, "price_path: point 2: more than 1000 times its instrument's first price");
  o.price_path = RealPricePath{{"asset 1"}, {{0, Int(5)}, {0, Int(5000)}}};
  EXPECT_EQ(generate(o).size(), 100u);
}

// A path with more points than the log has rounds still ends on its last
// point (after the wind-down starts), and a short log is still a valid prefix.
TEST(GeneratePricePath, ALongPathIsTraversedWhateverTheEvents) {
  std::string text;
  for (int i = 0; i <= 2000; ++i) {  // 1000, 1001, …, 3000: the last is 3×
    text += R"({"type":"price","ts":)" + std::to_string(i) + R"(,"asset":1,"price":")" + std::to_string(1000 + i) +
            "\"}\n";
  }
  for (uint64_t events : {1, 10, 100, 1000, 3000}) {
    const auto lines = generate(with_path(2, 50, events, text));
    EXPECT_EQ(lines.size(), events);
    MemoryRun run;
    run_all(lines, &run);
  }
  const auto lines = generate(with_path(2, 50, 3000, text));
  const auto eth = published(lines, "asset", 1);
  ASSERT_GE(eth.size(), 2u);
  EXPECT_EQ(eth.front(), Int(2000) * pow10(18));
  EXPECT_EQ(eth.back(), Int(6000) * pow10(18));  // 2000 · 3000/1000
  EXPECT_TRUE(std::is_sorted(eth.begin(), eth.end()));
}

}  // namespace
}  // namespace liql

