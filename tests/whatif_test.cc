// The policy lab (docs/WHATIF.md): `run_whatif` on logs built by hand, with
// every figure worked out by hand from SPEC.md (§1 values, §3 health, §5.1 s*,
// §5.2 r*, penalties and their split, §5.4 close-out) and docs/WHATIF.md (the
// keeper's rounds and steps, the rules, impact and recovery), the arithmetic
// in the comments; then the invariants on a generated market, determinism, and
// the refusal of bad input. Every run also checks SPEC §7.4 (conservation, the
// zero-sum perp base) after every event each variant applies, keeper actions
// included.
//
// Layout: helpers (logs in a scratch ledger, the conservation check, a run that
// records what each variant's keeper did, the figures of a variant), then the
// tests by topic:
//   1. the hand market under partial, full and close_factor;
//   2. cascades through price impact, and the impact's recovery;
//   3. aave-v3.3 and chunked;
//   4. conservation after every keeper step (generated market, five rules);
//   5. the same output twice, and the JSON layout;
//   6. bad input refused before any work;
//   7. an observe-mode log.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "replay/replay.h"
#include "replay/whatif.h"
#include "tests/cli_run.h"
#include "tests/engine_fixtures.h"
#include "tests/event_lines.h"
#include "tests/scenario_util.h"
#include "tests/test_dirs.h"
#include "tools/generate.h"

namespace liql {
namespace {

using fixtures::dec;
using fixtures::usdc;
using fixtures::W;

// =============================================================================
// Helpers
// =============================================================================

// ---- JSON lines not in tests/event_lines.h -----------------------------------

std::string genesis(const char* mode = "enforce") {
  return std::string(R"({"type":"genesis","ts":0,"mode":")") + mode +
         R"(","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"})";
}

// SPEC §2: the quote asset is not borrowable unless a set_asset says so.
const std::string kUsdcBorrowable =
    R"({"type":"set_asset","ts":0,"asset":0,"symbol":"USDC","decimals":6,"borrowable":true,"max_oracle_age_us":0,"asset_weight":{"init":"1","target":"1","maint":"1"},"liab_weight":{"init":"1","target":"1","maint":"1"},"liquidation_bonus":"0"})";

// The hand markets' perp, market 1: base_decimals 3, margins 0.2 / 0.15 / 0.1
// unless given, liquidation_fee 0.05, min_position 0 (no dust rule), the given
// lot size; a list_market, or a set_market at `ts`.
std::string perp_spec(const char* type, uint64_t ts, const std::string& lot_size, const char* init = "0.2",
                      const char* target = "0.15", const char* maint = "0.1") {
  return lines::head(type, ts) + R"(,"market":1,"symbol":"ETH-PERP","base_decimals":3,"margin":{"init":")" + init +
         R"(","target":")" + target + R"(","maint":")" + maint + R"("},"liquidation_fee":"0.05","lot_size":")" +
         lot_size + R"(","min_position":"0","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})";
}
std::string hand_perp(const std::string& lot_size) { return perp_spec("list_market", 0, lot_size); }

// ---- a log in a scratch ledger ------------------------------------------------

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// A ledger at `path` holding `text`, appended in one batch. Throws (failing
// the test) when the input boundary refuses a line.
std::unique_ptr<Ledger> ledger_with(const std::string& path, const std::string& text) {
  std::unique_ptr<Ledger> ledger;
  if (Status s = Ledger::open(path, LedgerOptions{}, &ledger); !s.is_ok()) throw std::runtime_error(s.to_string());
  AppendResult appended;
  InputError error;
  if (Status s = append_jsonl(*ledger, text, &appended, &error); !s.is_ok()) {
    throw std::runtime_error(s.to_string() + " " + error.to_string());
  }
  return ledger;
}

// One test's log in its own scratch directory.
struct LogDb {
  explicit LogDb(const std::vector<std::string>& lines)
      : path(dir.path("db")), ledger(ledger_with(path, joined(lines))) {}
  testing::ScratchDir dir;
  std::string path;
  std::unique_ptr<Ledger> ledger;
};

// ---- SPEC §7.4 after every event a variant applies ------------------------------

// Conservation per asset, Σ balances + insurance + treasury (+ Σ position
// quote) − bad debt = Σ deposits − Σ withdrawals + Σ insurance deposits
// (+ external), and the zero-sum perp base (scenario::conserved), checked after
// every event each variant applies, the keeper's included; the flows are
// counted per variant from the log events it applied.
class Conservation {
 public:
  explicit Conservation(size_t variants) : net_(variants) {}

  void after(size_t variant, const fb::Event& event, const State& state, bool keeper) {
    if (!keeper) count_flow(variant, event, state);
    ++checked_;
    const ::testing::AssertionResult conserved = scenario::conserved(state, net_.at(variant));
    if (!conserved && failures_++ < 5) {
      ADD_FAILURE() << "variant " << variant << ", seq " << state.seq << (keeper ? " (keeper)" : "") << ": "
                    << conserved.message();
    }
  }
  uint64_t checked() const { return checked_; }

 private:
  void count_flow(size_t variant, const fb::Event& event, const State& state) {
    const flatbuffers::String* amount = nullptr;
    AssetId asset = 0;
    bool out = false;
    switch (event.body_type()) {
      case fb::Body::Deposit:
        amount = event.body_as_Deposit()->amount();
        asset = event.body_as_Deposit()->asset();
        break;
      case fb::Body::Withdraw:
        amount = event.body_as_Withdraw()->amount();
        asset = event.body_as_Withdraw()->asset();
        out = true;
        break;
      case fb::Body::InsuranceDeposit:
        amount = event.body_as_InsuranceDeposit()->amount();
        asset = event.body_as_InsuranceDeposit()->asset();
        break;
      default: return;
    }
    const Int units = scenario::units(amount->string_view(), state.assets.at(asset).params.decimals);
    net_[variant][asset] += out ? Int(-units) : units;
  }

  std::vector<std::map<AssetId, Int>> net_;
  uint64_t checked_ = 0, failures_ = 0;
};

// ---- a run that records what each variant's keeper did ------------------------

// One keeper action that the engine applied, seen through WhatIfOptions::observer.
struct KeeperAction {
  uint64_t seq = 0;  // the log event it followed
  uint64_t ts = 0;
  AccountId account = 0;
  LiquidationKind kind = LiquidationKind::Perp;
  Int executed;  // perp: base units closed; token: units of L repaid; absorb: 0
  Int penalty;   // perp: F in quote units; token: bonus units of C
  std::optional<HealthSnapshot> post;
  bool closed_out = false;  // SPEC §5.4 close-out
};

// A keeper price event (an impact move): the instrument and the price applied.
struct PriceMove {
  uint64_t seq = 0;
  Instrument instrument;
  Int price;
};

struct Lab {
  Status status;
  WhatIfResult result;
  std::vector<std::vector<KeeperAction>> actions;  // per variant, in order
  std::vector<std::vector<PriceMove>> moves;       // per variant, in order
  uint64_t observed = 0;                           // observer calls, all variants
  uint64_t conservation_checks = 0;                // SPEC §7.4 checked after each of them
};

struct LabOptions {
  std::string impact = {};  // an impact file's JSON; empty: no impact
  bool series = false;
  uint64_t to_seq = ~uint64_t{0};
};

// Runs the variants; after every event each one applies, records the keeper's
// actions and price moves and checks SPEC §7.4 (Conservation).

Lab run_lab(Ledger& ledger, const std::vector<std::string>& policies, const LabOptions& lab_options = {}) {
  Lab lab;
  lab.actions.resize(policies.size());
  lab.moves.resize(policies.size());
  WhatIfOptions options;
  options.policies = policies;
  options.series = lab_options.series;
  options.to_seq = lab_options.to_seq;
  if (!lab_options.impact.empty()) {
    std::string error;
    EXPECT_TRUE(parse_impact(lab_options.impact, &options.impact, &error)) << error;
  }
  Conservation conservation(policies.size());
  options.observer = [&](size_t variant, const fb::Event& event, const Outcome& outcome, const State& state,
                         bool keeper) {
    ++lab.observed;
    conservation.after(variant, event, state, keeper);
    if (keeper && outcome.audit) {
      const LiquidationAudit& audit = *outcome.audit;
      KeeperAction action{state.seq, state.ts, audit.account, audit.kind, Int(0), Int(0), audit.post,
                          audit.bankrupt.has_value()};
      if (audit.executed) action.executed = *audit.executed;
      if (audit.penalty) action.penalty = audit.penalty->total;
      lab.actions.at(variant).push_back(action);
    }
    if (keeper && event.body_type() == fb::Body::Price) {
      const fb::Price& price = *event.body_as_Price();
      const Instrument instrument =
          price.asset().has_value() ? Instrument::asset(*price.asset()) : Instrument::market(*price.market());
      const Oracle& oracle = instrument.kind == Instrument::Kind::Asset ? state.assets.at(instrument.id).oracle
                                                                        : state.markets.at(instrument.id).oracle;
      lab.moves.at(variant).push_back(PriceMove{state.seq, instrument, oracle.price});
    }
  };
  lab.status = run_whatif(ledger, options, &lab.result);
  lab.conservation_checks = conservation.checked();
  return lab;
}

// ---- the figures of a variant -------------------------------------------------

struct Figures {
  uint64_t liquidations = 0;
  uint64_t accounts_liquidated = 0;
  uint64_t accounts_kept_position = 0;
  uint64_t accounts_closed = 0;
  Int closed_notional;
  Int penalties;
  uint64_t bankruptcies = 0;
  uint64_t close_outs = 0;
  uint64_t absorbed = 0;
  std::map<AssetId, Int> bad_debt, insurance;
  Int bad_debt_value;
  uint32_t max_cascade_depth = 0;
  uint64_t cascade_rounds = 0;
  uint64_t truncated_cascades = 0;
  Int user_equity;
  uint64_t exogenous_applied = 0, exogenous_rejected = 0, keeper_rejected = 0;
};

void expect_figures(const VariantResult& v, const Figures& f) {
  SCOPED_TRACE("variant " + v.policy);
  EXPECT_EQ(v.liquidations, f.liquidations);
  EXPECT_EQ(v.accounts_liquidated, f.accounts_liquidated);
  EXPECT_EQ(v.accounts_kept_position, f.accounts_kept_position);
  EXPECT_EQ(v.accounts_closed, f.accounts_closed);
  EXPECT_EQ(v.closed_notional, f.closed_notional);
  EXPECT_EQ(v.penalties, f.penalties);
  EXPECT_EQ(v.bankruptcies, f.bankruptcies);
  EXPECT_EQ(v.close_outs, f.close_outs);
  EXPECT_EQ(v.absorbed, f.absorbed);
  EXPECT_EQ(v.bad_debt, f.bad_debt);
  EXPECT_EQ(v.insurance, f.insurance);
  EXPECT_EQ(v.bad_debt_value, f.bad_debt_value);
  EXPECT_EQ(v.max_cascade_depth, f.max_cascade_depth);
  EXPECT_EQ(v.cascade_rounds, f.cascade_rounds);
  EXPECT_EQ(v.truncated_cascades, f.truncated_cascades);
  EXPECT_EQ(v.user_equity, f.user_equity);
  EXPECT_EQ(v.exogenous_applied, f.exogenous_applied);
  EXPECT_EQ(v.exogenous_rejected, f.exogenous_rejected);
  EXPECT_EQ(v.keeper_rejected, f.keeper_rejected);
}

void expect_instrument(const InstrumentStats& s, Instrument instrument, const std::string& symbol,
                       const Int& max_impact, const Int& lowest_oracle, const Int& lowest_effective,
                       const Int& highest_effective) {
  SCOPED_TRACE(instrument_name(instrument));
  EXPECT_TRUE(s.instrument == instrument) << instrument_name(s.instrument);
  EXPECT_EQ(s.symbol, symbol);
  EXPECT_EQ(s.max_impact, max_impact);
  EXPECT_EQ(s.lowest_oracle, lowest_oracle);
  EXPECT_EQ(s.lowest_effective, lowest_effective);
  EXPECT_EQ(s.highest_effective, highest_effective);
}

// One keeper action: which account, what kind, how much, the penalty.
void expect_action(const KeeperAction& a, AccountId account, LiquidationKind kind, const Int& executed,
                   const Int& penalty) {
  SCOPED_TRACE("keeper action on account " + std::to_string(account) + " after seq " + std::to_string(a.seq));
  EXPECT_EQ(a.account, account);
  EXPECT_EQ(static_cast<int>(a.kind), static_cast<int>(kind));
  EXPECT_EQ(a.executed, executed);
  EXPECT_EQ(a.penalty, penalty);
}

// =============================================================================
// 1. The hand market
// =============================================================================
//
// Quote USDC (6 decimals, made borrowable), ETH (asset 1: 18 decimals, asset
// weights 0.8 / 0.85 / 0.9, bonus 0.05, SPEC §8's listing) and ETH-PERP
// (market 1: base_decimals 3, lot 0.1 ETH = 100 base units, margins
// 0.2 / 0.15 / 0.1, fee 0.05, min_position 0). Shares: liquidator 0.5,
// insurance 0.3, treasury the rest. Both prices 2000, then ONE crash to 1500
// (the perp at seq 15, the spot at seq 16, same ts). No impact.
//
//   seq  1 genesis          2 USDC borrowable    3 list ETH   4 list ETH-PERP
//   seq  5 ETH-PERP 2000    6 ETH 2000 (ts 1 s)
//   seq  7 insurance deposit 100 USDC (ts 2 s)
//   seq  8-11 deposits: maker 100: 1,000,000 USDC; A (1): 6,200 USDC;
//             B (2): 1,800 USDC; C (3): 2 ETH
//   seq 12 A buys 10 ETH-PERP from the maker at 2000 (ts 3 s)
//   seq 13 B buys  4 ETH-PERP from the maker at 2000
//   seq 14 C withdraws (borrows) 2,800 USDC
//   seq 15 ETH-PERP 1500 (ts 10 s)    seq 16 ETH 1500 (ts 10 s)
//   seq 17 a recorded liquidate_perp (endogenous: every variant skips it)
//   seq 18 ETH-PERP 1500 at ts 39.999999 s    seq 19 ETH-PERP 1500 at ts 40 s
// Seq 18 and 19 change nothing but the perp's publish_ts; they exist for the
// chunked rule's cooldown (section 3). 18 exogenous events are applied.
//
// At 2000 (health of the trades, SPEC §4.1): A H_init = 6200 − 0.2·20000 =
// 2200 ≥ 0; B 1800 − 0.2·8000 = 200 ≥ 0; C after borrowing:
// 0.8·2·2000 − 2800 = 400 ≥ 0.
//
// At 1500, before any liquidation (values in USDC):
// * A: 10 ETH long, quote −20000, balance 6200. notional 15000, pnl −5000,
//   equity 1200, H_maint = 1200 − 0.1·15000 = −300 (LIQUIDATABLE),
//   H_target = 1200 − 0.15·15000 = −1050. HF_maint = A/L = 6200 / (5000 + 1500)
//   = 0.9538…: WAD·6200 ≥ 0.95·6500 = 6175, not below 0.95.
// * B: 4 ETH long, quote −8000, balance 1800: pnl −2000, equity −200
//   (BANKRUPT), H_maint = −200 − 600 = −800, HF = 1800 / 2600 = 0.692 < 0.95.
// * C: 2 ETH, −2800 USDC: ETH value 3000, equity 200,
//   H_maint = 0.9·3000 − 2800 = −100, H_target = 0.85·3000 − 2800 = −250,
//   HF = 2700 / 2800 = 0.964 (≥ 0.95).
// * maker: 1,000,000 USDC, 14 ETH short at quote +28000: pnl +7000.
// The keeper takes B before A at seq 15 (HF 0.692 < 0.954), and C at seq 16.
//
// Perp arithmetic at 1500: closing s ETH transfers T = 1500·s USDC exactly
// (⌊T⌋ = ⌈T⌉, no dust), penalty F = cdiv(⌊T⌋·0.05, WAD) = 75·s.
// Token arithmetic at 1500 (L = USDC, C = ETH): for r base units of USDC,
// seize_exact(r) = r·10^18·10^18·1.05·10^18 / (10^6·1500·10^18·10^18)
// = 7·10^8·r wei exactly; the bonus part is 7·10^8·r − ⌊r·10^12/1500⌋.
//
// B (every rule): equity < 0, so no size reaches H_target ≥ 0 (closing at the
// oracle leaves equity − F < 0): the binary search finds no ok(k) in 1..40 and
// ends at k = 40, s* = |base| = 4 ETH; full takes |base|; close_factor takes
// |base| (WAD·1800 < 0.95·2600 = 2470). T = 6000, F = 300 (split 150 / 90 /
// 60). B's quote −8000 + 6000 − 300 = −2300 settles into its balance:
// 1800 − 2300 = −500, and B is exhausted (no position, nothing to seize):
// close-out, insurance 100 + 90 = 190 pays 190, bad debt 310 USDC.
//
// Final equity of the maker in every variant: 1,000,000 + 28000 − 14·1500
// = 1,007,000 USDC (B: 0 after the close-out).

class HandMarket : public ::testing::Test {
 protected:
  static constexpr AccountId kA = 1, kB = 2, kC = 3, kMaker = 100;
  HandMarket()
      : db_({
            genesis(),
            kUsdcBorrowable,
            lines::kListEth,
            hand_perp("0.1"),
            lines::price_market(1'000'000, 1, "2000"),
            lines::price_asset(1'000'000, 1, "2000"),
            lines::insurance_deposit(2'000'000, 0, "100"),
            lines::deposit(2'000'000, kMaker, 0, "1000000"),
            lines::deposit(2'000'000, kA, 0, "6200"),
            lines::deposit(2'000'000, kB, 0, "1800"),
            lines::deposit(2'000'000, kC, 1, "2"),
            lines::trade(3'000'000, 1, kA, kMaker, "10", "2000"),
            lines::trade(3'000'000, 1, kB, kMaker, "4", "2000"),
            lines::withdraw(3'000'000, kC, 0, "2800"),
            lines::price_market(10'000'000, 1, "1500"),
            lines::price_asset(10'000'000, 1, "1500"),
            lines::liquidate_perp(10'000'000, kMaker, kA, 1),
            lines::price_market(39'999'999, 1, "1500"),
            lines::price_market(40'000'000, 1, "1500"),
        }) {}

  // B's liquidation at seq 15, the same in every variant (see above).
  static void expect_b_closed_out(const KeeperAction& a) {
    expect_action(a, kB, LiquidationKind::Perp, dec("4", 3), usdc("300"));
    EXPECT_EQ(a.seq, 15u);
    EXPECT_TRUE(a.closed_out);
    ASSERT_TRUE(a.post.has_value());
    EXPECT_EQ(a.post->equity, 0);  // every balance 0 after the close-out
  }

  // Both instruments: never moved by impact, lowest price 1500, highest 2000.
  static void expect_no_impact(const VariantResult& v) {
    ASSERT_EQ(v.instruments.size(), 2u);  // assets before markets
    expect_instrument(v.instruments[0], Instrument::asset(1), "ETH", Int(0), W("1500"), W("1500"), W("2000"));
    expect_instrument(v.instruments[1], Instrument::market(1), "ETH-PERP", Int(0), W("1500"), W("1500"), W("2000"));
  }

  LogDb db_;
};

// partial (s*, r*):
// * seq 15, B as above.
// * seq 15, A: closing k lots (s = k/10 ETH): equity 1200 − 75·s, target
//   requirement 0.15·1500·(10 − s) = 2250 − 225·s, so
//   H_target(k) = −1050 + 150·s = −1050 + 15·k  (exact, no rounding).
//   ok(k) ⇔ 15·k ≥ 1050 ⇔ k ≥ 70; K = 100 and ok is monotonic, so the binary
//   search gives k* = 70: s* = 7 ETH (no dust rule: min_position 0).
//   T = 10500, F = 525 (262.5 / 157.5 / 105). A keeps 3 ETH, quote
//   −20000 + 10500 − 525 = −10025: equity 6200 + 4500 − 10025 = 675,
//   H_target = 675 − 675 = 0, H_maint = 675 − 450 = 225 ≥ 0: one step.
// * seq 16, C: after repaying r base units,
//   H_target(r) = ⌊(2·10^18 − 7·10^8·r)·1275/10^12⌋ − (2800·10^6 − r)
//               = ⌊2550·10^6 − 0.8925·r⌋ − 2800·10^6 + r = ⌊0.1075·r⌋ − 250·10^6,
//   ok(r) ⇔ 0.1075·r ≥ 250·10^6 ⇔ 43·r ≥ 10^11 ⇔ r ≥ 2325581396
//   (43·2325581395 = 99999999985 < 10^11). cap = min(2800·10^6,
//   ⌊2·10^18 / (7·10^8)⌋ = 2857142857) = 2800·10^6 ≥ r*, so
//   r* = 2325581396 (2325.581396 USDC). Seized 7·10^8·r* =
//   1627906977200000000 wei (exact, no dust); bonus = 1627906977200000000 −
//   ⌊2325581396·2·10^9/3⌋ (= 1550387597333333333) = 77519379866666667 wei,
//   valued ⌊77519379866666667·1500/10^12⌋ = 116279069 (116.279069 USDC);
//   insurance gets ⌊0.3·bonus⌋ = 23255813960000000 wei. C is left with
//   372093022800000000 wei and −474418604: H_target = ⌊0.1075·r*⌋ − 250·10^6 = 0,
//   H_maint = ⌊372093022800000000·1350/10^12⌋ − 474418604 = 502325580 −
//   474418604 = 27906976 ≥ 0: one step; equity ⌊372093022800000000·1500/10^12⌋
//   − 474418604 = 558139534 − 474418604 = 83720930.
// Nobody is liquidatable at seq 18 and 19.
TEST_F(HandMarket, PartialClosesExactlyWhatRestoresTheTarget) {
  const Lab lab = run_lab(*db_.ledger, {"partial"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  ASSERT_EQ(lab.result.variants.size(), 1u);
  const VariantResult& v = lab.result.variants[0];
  EXPECT_EQ(v.policy, "partial");
  expect_figures(v, Figures{
                        .liquidations = 3,
                        .accounts_liquidated = 3,     // B, A, C
                        .accounts_kept_position = 2,  // A keeps 3 ETH, C keeps debt and collateral
                        .accounts_closed = 1,         // B
                        .closed_notional = usdc("6000") + usdc("10500") + Int(2325581396),
                        .penalties = usdc("300") + usdc("525") + Int(116279069),
                        .bankruptcies = 1,
                        .close_outs = 1,
                        .absorbed = 0,
                        .bad_debt = {{0, usdc("310")}, {1, Int(0)}},
                        // 100 + 90 − 190 (B's cover) + 157.5 (A's share)
                        .insurance = {{0, usdc("157.5")}, {1, dec("0.02325581396", 18)}},
                        .bad_debt_value = usdc("310"),
                        .max_cascade_depth = 0,
                        .cascade_rounds = 0,
                        .truncated_cascades = 0,
                        // A 675 + B 0 + C 83.720930 + maker 1,007,000
                        .user_equity = usdc("1007758.72093"),
                        .exogenous_applied = 18,
                        .exogenous_rejected = 0,
                        .keeper_rejected = 0,
                    });
  expect_no_impact(v);

  const auto& actions = lab.actions[0];
  ASSERT_EQ(actions.size(), 3u);
  expect_b_closed_out(actions[0]);
  expect_action(actions[1], kA, LiquidationKind::Perp, dec("7", 3), usdc("525"));
  ASSERT_TRUE(actions[1].post.has_value());
  EXPECT_EQ(actions[1].post->h_target, 0);
  EXPECT_EQ(actions[1].post->h_maint, usdc("225"));
  EXPECT_EQ(actions[1].post->equity, usdc("675"));
  expect_action(actions[2], kC, LiquidationKind::Token, Int(2325581396), Int(77519379866666667LL));
  EXPECT_EQ(actions[2].seq, 16u);
  ASSERT_TRUE(actions[2].post.has_value());
  EXPECT_EQ(actions[2].post->h_target, 0);
  EXPECT_EQ(actions[2].post->h_maint, Int(27906976));
  EXPECT_EQ(actions[2].post->equity, Int(83720930));
  EXPECT_TRUE(lab.moves[0].empty());  // no impact: no keeper price
}

// full (|base|, the cap):
// * seq 15, B as above; A: 10 ETH, T = 15000, F = 750 (375 / 225 / 150);
//   quote −20000 + 15000 − 750 = −5750 settles: balance 6200 − 5750 = 450,
//   no debt, no close-out.
// * seq 16, C: the cap 2800·10^6 (2800 < r_max 2857.142857): seized
//   7·10^8·2800·10^6 = 1.96·10^18 wei, bonus 1.96·10^18 − ⌊5.6·10^18/3⌋
//   = 1.96·10^18 − 1866666666666666666 = 93333333333333334 wei, valued
//   ⌊93333333333333334·1500/10^12⌋ = 140000000 (140 USDC); insurance
//   ⌊0.3·bonus⌋ = 28000000000000000 wei. C keeps 0.04 ETH and no debt:
//   equity 60, H_maint = 0.9·60 = 54, H_target = 0.85·60 = 51.
TEST_F(HandMarket, FullClosesEverything) {
  const Lab lab = run_lab(*db_.ledger, {"full"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  EXPECT_EQ(v.policy, "full");
  expect_figures(v, Figures{
                        .liquidations = 3,
                        .accounts_liquidated = 3,
                        .accounts_kept_position = 0,
                        .accounts_closed = 3,  // B and A no position, C no debt
                        .closed_notional = usdc("6000") + usdc("15000") + usdc("2800"),
                        .penalties = usdc("300") + usdc("750") + usdc("140"),
                        .bankruptcies = 1,
                        .close_outs = 1,
                        .absorbed = 0,
                        .bad_debt = {{0, usdc("310")}, {1, Int(0)}},
                        // 100 + 90 − 190 + 225 (A's share)
                        .insurance = {{0, usdc("225")}, {1, dec("0.028", 18)}},
                        .bad_debt_value = usdc("310"),
                        .max_cascade_depth = 0,
                        .cascade_rounds = 0,
                        .truncated_cascades = 0,
                        // A 450 + B 0 + C 60 + maker 1,007,000
                        .user_equity = usdc("1007510"),
                        .exogenous_applied = 18,
                        .exogenous_rejected = 0,
                        .keeper_rejected = 0,
                    });
  expect_no_impact(v);

  const auto& actions = lab.actions[0];
  ASSERT_EQ(actions.size(), 3u);
  expect_b_closed_out(actions[0]);
  expect_action(actions[1], kA, LiquidationKind::Perp, dec("10", 3), usdc("750"));
  EXPECT_EQ(actions[1].post->equity, usdc("450"));
  EXPECT_FALSE(actions[1].closed_out);
  expect_action(actions[2], kC, LiquidationKind::Token, usdc("2800"), Int(93333333333333334LL));
  EXPECT_EQ(actions[2].post->equity, usdc("60"));
  EXPECT_EQ(actions[2].post->h_maint, usdc("54"));
  EXPECT_EQ(actions[2].post->h_target, usdc("51"));
}

// close_factor:0.5:0.95 (SPEC §5.3):
// * seq 15, B: HF 0.692 < 0.95 → |base|, as above.
// * seq 15, A: WAD·6200 < 0.95·6500 = 6175 is false → roundup_lot(cdiv(10000
//   · 0.5)) = 5000 base units = 5 ETH: T = 7500, F = 375 (187.5 / 112.5 / 75).
//   A keeps 5 ETH at quote −20000 + 7500 − 375 = −12875: equity 6200 + 7500 −
//   12875 = 825, H_maint = 825 − 750 = 75 ≥ 0: one step (H_target = 825 −
//   1125 = −300: the rule does not care).
// * seq 16, C, two steps in the same round (WHATIF.md: up to 16 while still
//   liquidatable):
//   1. 2700 ≥ 0.95·2800 = 2660 → cdiv(2800·10^6·0.5) = 1400·10^6: seized
//      9.8·10^17, bonus 9.8·10^17 − ⌊2.8·10^18/3⌋ = 46666666666666667 wei
//      (70 USDC; insurance 14·10^15 wei). Left: 1.02 ETH, −1400:
//      H_maint = 0.9·1530 − 1400 = 1377 − 1400 = −23 < 0: still liquidatable.
//   2. 1377 ≥ 0.95·1400 = 1330 → cdiv(1400·10^6·0.5) = 700·10^6 (cap
//      min(1400·10^6, ⌊1.02·10^18/(7·10^8)⌋ = 1457142857)): seized 4.9·10^17,
//      bonus 4.9·10^17 − ⌊1.4·10^18/3⌋ = 23333333333333334 wei (35 USDC;
//      insurance 7·10^15 wei). Left: 0.53 ETH, −700: H_maint = 715.5 − 700
//      = 15.5 ≥ 0, equity 795 − 700 = 95.
TEST_F(HandMarket, CloseFactorHalvesAboveTheThresholdAndRepeatsWithinTheRound) {
  const Lab lab = run_lab(*db_.ledger, {"close_factor:0.5:0.95"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  EXPECT_EQ(v.policy, "close_factor:0.5:0.95");
  expect_figures(v, Figures{
                        .liquidations = 4,
                        .accounts_liquidated = 3,
                        .accounts_kept_position = 2,  // A (5 ETH left), C (debt and collateral left)
                        .accounts_closed = 1,         // B
                        .closed_notional = usdc("6000") + usdc("7500") + usdc("1400") + usdc("700"),
                        .penalties = usdc("300") + usdc("375") + usdc("70") + usdc("35"),
                        .bankruptcies = 1,
                        .close_outs = 1,
                        .absorbed = 0,
                        .bad_debt = {{0, usdc("310")}, {1, Int(0)}},
                        // 100 + 90 − 190 + 112.5; ETH 0.014 + 0.007
                        .insurance = {{0, usdc("112.5")}, {1, dec("0.021", 18)}},
                        .bad_debt_value = usdc("310"),
                        .max_cascade_depth = 0,
                        .cascade_rounds = 0,
                        .truncated_cascades = 0,
                        // A 825 + B 0 + C 95 + maker 1,007,000
                        .user_equity = usdc("1007920"),
                        .exogenous_applied = 18,
                        .exogenous_rejected = 0,
                        .keeper_rejected = 0,
                    });
  expect_no_impact(v);

  const auto& actions = lab.actions[0];
  ASSERT_EQ(actions.size(), 4u);
  expect_b_closed_out(actions[0]);
  expect_action(actions[1], kA, LiquidationKind::Perp, dec("5", 3), usdc("375"));
  EXPECT_EQ(actions[1].post->h_maint, usdc("75"));
  EXPECT_EQ(actions[1].post->h_target, usdc("-300"));
  expect_action(actions[2], kC, LiquidationKind::Token, usdc("1400"), Int(46666666666666667LL));
  EXPECT_EQ(actions[2].post->h_maint, usdc("-23"));
  expect_action(actions[3], kC, LiquidationKind::Token, usdc("700"), Int(23333333333333334LL));
  EXPECT_EQ(actions[3].seq, 16u);  // the same event, the same round
  EXPECT_EQ(actions[3].post->h_maint, usdc("15.5"));
  EXPECT_EQ(actions[3].post->equity, usdc("95"));
}

// A bankruptcy that the liquidation itself reveals, with USDC NOT borrowable:
// E (5) deposits 1 ETH (stays at 2000: maint 1800, target 1700) and buys
// 4 ETH-PERP at 2000 (H_init = 0.8·2000 − 0.2·8000 = 0). At 1500: pnl −2000,
// equity 0 (not bankrupt), H_maint = 1800 − 2000 − 600 = −800, HF = 1800 / 2600.
// Every rule does the same here:
// 1. perp: H_target after closing s ETH = 1700 − 2000 − 75·s − 225·(4 − s)
//    = −1200 + 150·s < 0 for every s ≤ 4: s* = |base| (full: |base|;
//    close_factor: HF < 0.95). T = 6000, F = 300 (150 / 90 / 60); the quote
//    −2300 settles: USDC −2300, a debt on a non-borrowable asset. E is now
//    BANKRUPT (equity 2000 − 2300 = −300) and still liquidatable.
// 2. token (USDC, ETH), in the same round: seize_exact(r) = r·10^12·1.05/2000
//    = 5.25·10^8·r wei; cap = min(2300·10^6, ⌊10^18/(5.25·10^8)⌋ = 1904761904).
//    H_target(r) = ⌊(10^18 − 5.25·10^8·r)·1700/10^12⌋ − 2300·10^6 + r
//    = ⌊0.1075·r⌋ − 600·10^6 < 0 up to the cap (−395238096 there): r* = cap
//    (full and close_factor: the cap too, HF 1800/2300 < 0.95). The keeper
//    repays 1904761904 from a USDC balance of 150 USDC: its non-borrowable
//    balance goes negative, which is not checked for the keeper. Seized
//    999999999600000000 wei (exact); bonus 999999999600000000 −
//    ⌊1904761904·5·10^8⌋ = 47619047600000000 wei, valued ⌊95238095.2⌋ =
//    95.238095 USDC; insurance ⌊0.3·bonus⌋ = 14285714280000000 wei.
//    Left: 4·10^8 wei < ⌈seize_exact(1)⌉ = 5.25·10^8 (exhausted) and
//    −395238096 USDC: close-out, the 4·10^8 wei to insurance, insurance[USDC]
//    (90) pays 90, bad debt 305.238096.
// Maker: 1,000,000 + 8000 − 4·1500 = 1,002,000; E 0.
TEST(WhatIfBankruptcy, ThePerpLossBecomesADebtThatTheTokenLiquidationCannotCover) {
  constexpr AccountId kE = 5, kMaker = 100;
  LogDb db({
      genesis(),
      lines::kListEth,
      hand_perp("0.1"),
      lines::price_market(1'000'000, 1, "2000"),
      lines::price_asset(1'000'000, 1, "2000"),
      lines::deposit(2'000'000, kMaker, 0, "1000000"),
      lines::deposit(2'000'000, kE, 1, "1"),
      lines::trade(3'000'000, 1, kE, kMaker, "4", "2000"),
      lines::price_market(10'000'000, 1, "1500"),
  });
  const std::vector<std::string> policies = {"partial", "full", "close_factor:0.5:0.95"};
  const Lab lab = run_lab(*db.ledger, policies);
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  for (size_t i = 0; i < policies.size(); ++i) {
    expect_figures(lab.result.variants.at(i), Figures{
                                                  .liquidations = 2,
                                                  .accounts_liquidated = 1,
                                                  .accounts_kept_position = 0,
                                                  .accounts_closed = 1,
                                                  .closed_notional = usdc("6000") + usdc("1904.761904"),
                                                  .penalties = usdc("300") + usdc("95.238095"),
                                                  .bankruptcies = 1,  // BANKRUPT before the second step
                                                  .close_outs = 1,
                                                  .absorbed = 0,
                                                  .bad_debt = {{0, usdc("305.238096")}, {1, Int(0)}},
                                                  .insurance = {{0, Int(0)}, {1, Int(14285714680000000LL)}},
                                                  .bad_debt_value = usdc("305.238096"),
                                                  .max_cascade_depth = 0,
                                                  .cascade_rounds = 0,
                                                  .truncated_cascades = 0,
                                                  .user_equity = usdc("1002000"),
                                                  .exogenous_applied = 9,
                                                  .exogenous_rejected = 0,
                                                  .keeper_rejected = 0,
                                              });
    const auto& actions = lab.actions[i];
    ASSERT_EQ(actions.size(), 2u);
    expect_action(actions[0], kE, LiquidationKind::Perp, dec("4", 3), usdc("300"));
    EXPECT_FALSE(actions[0].closed_out);
    EXPECT_EQ(actions[0].post->equity, usdc("-300"));
    expect_action(actions[1], kE, LiquidationKind::Token, usdc("1904.761904"), Int(47619047600000000LL));
    EXPECT_TRUE(actions[1].closed_out);
  }
}

// The variants run in lockstep over one read of the log and do not see each
// other: each one's figures are those of its run alone.
TEST_F(HandMarket, VariantsInLockstepAreIndependent) {
  const std::vector<std::string> policies = {"partial", "full", "close_factor:0.5:0.95"};
  const Lab together = run_lab(*db_.ledger, policies);
  ASSERT_TRUE(together.status.is_ok()) << together.status.to_string();
  ASSERT_EQ(together.result.variants.size(), 3u);
  const auto all = nlohmann::json::parse(whatif_json(together.result));
  for (size_t i = 0; i < policies.size(); ++i) {
    const Lab alone = run_lab(*db_.ledger, {policies[i]});
    ASSERT_TRUE(alone.status.is_ok());
    EXPECT_EQ(all["variants"][i], nlohmann::json::parse(whatif_json(alone.result))["variants"][0]) << policies[i];
    EXPECT_EQ(together.actions[i].size(), alone.actions[0].size()) << policies[i];
  }
  // Three rules, three different final states.
  EXPECT_NE(together.result.variants[0].state_hash, together.result.variants[1].state_hash);
  EXPECT_NE(together.result.variants[0].state_hash, together.result.variants[2].state_hash);
  EXPECT_NE(together.result.variants[1].state_hash, together.result.variants[2].state_hash);
}

// =============================================================================
// 2. Cascades through price impact
// =============================================================================
//
// ETH-PERP only (as above, lot 0.1 ETH), at 2000, then 1500 at ts 10 s
// (seq 9), 1500 again at ts 20 s (seq 10) and 1510 at ts 40 s (seq 11).
// A (1): 6200 USDC, 10 ETH long; B (2): 2640 USDC, 4 ETH long; maker (100):
// 1,000,000 USDC, 14 ETH short. Impact on market 1: depth 10000 (USDC per
// 1 %), recovery 0.1 percentage points per second:
//   I += sign(N)·cdiv(|N|·WAD², 100·10^6·10000·WAD) = sign(N)·cdiv(|N|·10^36, 10^30),
// i.e. 10^6 of impact (10^−12 WAD) per base unit of USDC sold: selling 15000
// USDC is −1.5·10^16 = −1.5 %.
//
// At 1500 B is healthy: H_maint = 2640 − 4·500 − 0.1·6000 = 40 ≥ 0. Its
// H_maint at price P is 2640 − 8000 + 3.6·P, negative below P = 1477.78.

class CascadeMarket : public ::testing::Test {
 protected:
  static constexpr AccountId kA = 1, kB = 2, kMaker = 100;
  static constexpr uint64_t kCrashSeq = 9;
  CascadeMarket()
      : db_({
            genesis(),
            hand_perp("0.1"),
            lines::price_market(1'000'000, 1, "2000"),
            lines::deposit(2'000'000, kMaker, 0, "1000000"),
            lines::deposit(2'000'000, kA, 0, "6200"),
            lines::deposit(2'000'000, kB, 0, "2640"),
            lines::trade(3'000'000, 1, kA, kMaker, "10", "2000"),
            lines::trade(3'000'000, 1, kB, kMaker, "4", "2000"),
            lines::price_market(10'000'000, 1, "1500"),
            lines::price_market(20'000'000, 1, "1500"),
            lines::price_market(40'000'000, 1, "1510"),
        }) {}

  static std::string impact(uint32_t max_rounds = 16) {
    return R"({"instruments":{"market:1":{"depth":"10000","recovery_per_s":"0.1"}},"max_rounds":)" +
           std::to_string(max_rounds) + "}";
  }

  LogDb db_;
};

// full, up to the crash (seq 9):
// round 0: A (HF 6200/6500): 10 ETH at 1500, T = 15000, F = 750 (insurance
//   225); A ends with 450 USDC. Flow −15000·10^6 (the keeper sells the long):
//   I = −cdiv(15000·10^6·10^36, 10^30) = −1.5·10^16, E = ⌊1500·(1 − 0.015)⌋
//   = 1477.5 → applied. B at 1477.5: H_maint = 2640 − 4·522.5 − 0.1·5910 =
//   2640 − 2090 − 591 = −41 < 0.
// round 1 (a cascade round): B, 4 ETH at 1477.5: T = 5910, F = cdiv(5910·0.05)
//   = 295.5 (insurance 88.65); quote −8000 + 5910 − 295.5 = −2385.5 settles:
//   2640 − 2385.5 = 254.5 USDC. Flow −5910·10^6: I = −1.5·10^16 − 5.91·10^15 =
//   −2.091·10^16, E = ⌊1500·0.97909⌋ = 1468.635 → applied.
// round 2: nobody left (no positions but the maker's short and the keeper's):
//   no action, the keeper stops. max_cascade_depth 1, cascade_rounds 1.
// user_equity at 1468.635: A 450 + B 254.5 + maker 1,000,000 + 28000 −
//   14·1468.635 (= 20560.89) = 1,007,439.11 → 1,008,143.61.
TEST_F(CascadeMarket, ImpactOfTheFirstLiquidationSetsOffTheSecond) {
  const Lab lab = run_lab(*db_.ledger, {"full"}, LabOptions{.impact = impact(), .series = true, .to_seq = kCrashSeq});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  EXPECT_EQ(lab.result.seq, kCrashSeq);
  expect_figures(v, Figures{
                        .liquidations = 2,
                        .accounts_liquidated = 2,
                        .accounts_kept_position = 0,
                        .accounts_closed = 2,
                        .closed_notional = usdc("15000") + usdc("5910"),
                        .penalties = usdc("750") + usdc("295.5"),
                        .bankruptcies = 0,
                        .close_outs = 0,
                        .absorbed = 0,
                        .bad_debt = {{0, Int(0)}},
                        .insurance = {{0, usdc("225") + usdc("88.65")}},
                        .bad_debt_value = Int(0),
                        .max_cascade_depth = 1,
                        .cascade_rounds = 1,
                        .truncated_cascades = 0,
                        .user_equity = usdc("1008143.61"),
                        .exogenous_applied = 9,
                        .exogenous_rejected = 0,
                        .keeper_rejected = 0,
                    });
  ASSERT_EQ(v.instruments.size(), 1u);
  expect_instrument(v.instruments[0], Instrument::market(1), "ETH-PERP", dec("0.02091", 18), W("1500"),
                    W("1468.635"), W("2000"));

  ASSERT_EQ(lab.actions[0].size(), 2u);
  expect_action(lab.actions[0][0], kA, LiquidationKind::Perp, dec("10", 3), usdc("750"));
  expect_action(lab.actions[0][1], kB, LiquidationKind::Perp, dec("4", 3), usdc("295.5"));
  ASSERT_EQ(lab.moves[0].size(), 2u);
  EXPECT_EQ(lab.moves[0][0].price, W("1477.5"));
  EXPECT_EQ(lab.moves[0][1].price, W("1468.635"));

  // The marks: A in round 0, B in round 1, both after seq 9 at ts 10 s.
  ASSERT_EQ(v.marks.size(), 2u);
  EXPECT_EQ(v.marks[0].account, kA);
  EXPECT_EQ(v.marks[0].round, 0u);
  EXPECT_EQ(v.marks[0].closed_value, usdc("15000"));
  EXPECT_EQ(v.marks[1].account, kB);
  EXPECT_EQ(v.marks[1].round, 1u);
  EXPECT_EQ(v.marks[1].closed_value, usdc("5910"));
  for (const LiquidationMark& mark : v.marks) {
    EXPECT_EQ(mark.seq, kCrashSeq);
    EXPECT_EQ(mark.ts, 10'000'000u);
    EXPECT_TRUE(mark.instrument == Instrument::market(1));
  }

  // The series: every price the variant applied, with the running totals.
  ASSERT_EQ(v.series.size(), 4u);
  const struct {
    uint64_t seq;
    Int oracle, effective, closed, insurance;
    uint64_t liquidations;
  } expected[] = {
      {3, W("2000"), W("2000"), Int(0), Int(0), 0},
      {9, W("1500"), W("1500"), Int(0), Int(0), 0},
      {9, W("1500"), W("1477.5"), usdc("15000"), usdc("225"), 1},
      {9, W("1500"), W("1468.635"), usdc("20910"), usdc("313.65"), 2},
  };
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE("series point " + std::to_string(i));
    EXPECT_EQ(v.series[i].seq, expected[i].seq);
    EXPECT_EQ(v.series[i].oracle, expected[i].oracle);
    EXPECT_EQ(v.series[i].effective, expected[i].effective);
    EXPECT_EQ(v.series[i].closed_notional, expected[i].closed);
    EXPECT_EQ(v.series[i].insurance_value, expected[i].insurance);
    EXPECT_EQ(v.series[i].bad_debt_value, 0);
    EXPECT_EQ(v.series[i].liquidations, expected[i].liquidations);
  }
}

// partial, up to the crash:
// round 0: A, s* = 7 ETH at 1500 (section 1): T = 10500, F = 525 (insurance
//   157.5). Flow −10500·10^6: I = −1.05·10^16, E = 1500·0.9895 = 1484.25.
//   B at 1484.25: H_maint = 2640 − 4·515.75 − 0.1·5937 = −16.7 < 0. A (3 ETH,
//   quote −10025): equity 6200 + 4452.75 − 10025 = 627.75, H_maint 182.475.
// round 1: B at 1484.25, equity 577, H_target = 577 − 0.15·5937 = −313.55.
//   Closing k lots: T = 148.425·k, F = 7.42125·k, target requirement
//   22.26375·(40 − k), so H_target(k) = −313.55 + 14.8425·k (exact):
//   k = 21 → −1.8575 < 0, k = 22 → +12.985 ≥ 0: s* = 2.2 ETH,
//   T = 3265.35, F = 163.2675 (insurance 48.98025). Flow −3265.35·10^6:
//   I = −1.05·10^16 − 3.26535·10^15 = −1.376535·10^16,
//   E = 1500·0.98623465 = 1479.351975.
// round 2: A: notional 3·1479.351975 = 4438.055925, equity 613.055925,
//   H_maint = 613.055925 − ⌈443.8055925⌉ = 169.250332 ≥ 0; B (1.8 ETH,
//   quote −8000 + 3265.35 − 163.2675 = −4897.9175): equity 2640 + 2662.833555 −
//   4897.9175 = 404.916055, H_maint 404.916055 − 266.283356 ≥ 0: no action.
// user_equity: 613.055925 + 404.916055 + (1,028,000 − 14·1479.351975 =
//   1,007,289.07235) = 1,008,307.04433.
TEST_F(CascadeMarket, PartialCascadeSizesAtTheMovedPrice) {
  const Lab lab =
      run_lab(*db_.ledger, {"partial"}, LabOptions{.impact = impact(), .series = true, .to_seq = kCrashSeq});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  expect_figures(v, Figures{
                        .liquidations = 2,
                        .accounts_liquidated = 2,
                        .accounts_kept_position = 2,
                        .accounts_closed = 0,
                        .closed_notional = usdc("10500") + usdc("3265.35"),
                        .penalties = usdc("525") + usdc("163.2675"),
                        .bankruptcies = 0,
                        .close_outs = 0,
                        .absorbed = 0,
                        .bad_debt = {{0, Int(0)}},
                        .insurance = {{0, usdc("157.5") + usdc("48.98025")}},
                        .bad_debt_value = Int(0),
                        .max_cascade_depth = 1,
                        .cascade_rounds = 1,
                        .truncated_cascades = 0,
                        .user_equity = usdc("1008307.04433"),
                        .exogenous_applied = 9,
                        .exogenous_rejected = 0,
                        .keeper_rejected = 0,
                    });
  expect_instrument(v.instruments.at(0), Instrument::market(1), "ETH-PERP", dec("0.01376535", 18), W("1500"),
                    W("1479.351975"), W("2000"));
  ASSERT_EQ(lab.actions[0].size(), 2u);
  expect_action(lab.actions[0][0], kA, LiquidationKind::Perp, dec("7", 3), usdc("525"));
  expect_action(lab.actions[0][1], kB, LiquidationKind::Perp, dec("2.2", 3), usdc("163.2675"));
  EXPECT_EQ(lab.actions[0][1].post->h_target, usdc("12.985"));
  ASSERT_EQ(lab.moves[0].size(), 2u);
  EXPECT_EQ(lab.moves[0][0].price, W("1484.25"));
  EXPECT_EQ(lab.moves[0][1].price, W("1479.351975"));
  ASSERT_EQ(v.marks.size(), 2u);
  EXPECT_EQ(v.marks[0].round, 0u);
  EXPECT_EQ(v.marks[1].round, 1u);
  EXPECT_EQ(v.marks[1].account, kB);
}

// The impact recovers (WHATIF.md §4): |I| −= ⌊recovery·(t − u)/(100·10^6)⌋
// with recovery = 0.1·WAD.
// full: I = −2.091·10^16 since ts 10 s.
// * seq 10 (ts 20 s, oracle 1500): ⌊0.1·10^18·10^7/10^8⌋ = 10^16 recovered:
//   I = −1.091·10^16, E = ⌊1500·0.98909⌋ = 1483.635 (not the oracle's 1500).
// * seq 11 (ts 40 s, oracle 1510): 2·10^16 would recover, more than 1.091·10^16:
//   I = 0, E = 1510.
// partial: I = −1.376535·10^16 → at seq 10 −3.76535·10^15,
//   E = 1500·0.99623465 = 1494.351975; at seq 11 I = 0, E = 1510.
// Nobody becomes liquidatable at the higher prices. Final equity at 1510:
// full: 450 + 254.5 + (1,028,000 − 21140) = 1,007,564.5.
TEST_F(CascadeMarket, ImpactRecoversBeforeTheNextOraclePrice) {
  const Lab lab = run_lab(*db_.ledger, {"full", "partial"}, LabOptions{.impact = impact(), .series = true});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& full = lab.result.variants.at(0);
  const VariantResult& partial = lab.result.variants.at(1);
  ASSERT_EQ(full.series.size(), 6u);
  EXPECT_EQ(full.series[4].seq, 10u);
  EXPECT_EQ(full.series[4].ts, 20'000'000u);
  EXPECT_EQ(full.series[4].oracle, W("1500"));
  EXPECT_EQ(full.series[4].effective, W("1483.635"));
  EXPECT_EQ(full.series[5].seq, 11u);
  EXPECT_EQ(full.series[5].oracle, W("1510"));
  EXPECT_EQ(full.series[5].effective, W("1510"));
  ASSERT_EQ(partial.series.size(), 6u);
  EXPECT_EQ(partial.series[4].effective, W("1494.351975"));
  EXPECT_EQ(partial.series[5].effective, W("1510"));
  // Later prices liquidate nobody; the figures are those of the crash.
  EXPECT_EQ(full.liquidations, 2u);
  EXPECT_EQ(full.exogenous_applied, 11u);
  EXPECT_EQ(full.user_equity, usdc("1007564.5"));
  EXPECT_EQ(partial.liquidations, 2u);
  expect_instrument(full.instruments.at(0), Instrument::market(1), "ETH-PERP", dec("0.02091", 18), W("1500"),
                    W("1468.635"), W("2000"));
  // The series file: one row per price applied.
  EXPECT_EQ(series_file_name(full), "full.csv");
  const auto rows = lines::lines_of(series_csv(full));
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0],
            "seq,ts,instrument,oracle_price,effective_price,closed_notional,insurance_value,bad_debt_value,liquidations");
  EXPECT_EQ(rows[5], "10,20000000,market:1,1500000000000000000000,1483635000000000000000,20910000000,313650000,0,2");
}

// The impact recovers from its last update, not from the instrument's last
// oracle price. A (1): 6800 USDC, 10 ETH long at 2000; at 1500 (ts 10 s)
// equity 1800, H_maint = 1800 − 1500 = 300: healthy. At ts 15 s a set_market
// raises the margins to 0.25 / 0.2 / 0.15: H_maint = 1800 − 2250 = −450, the
// keeper (after this applied exogenous event) closes all 10 ETH under full:
// T = 15000, F = 750; A keeps 6800 − 20000 + 15000 − 750 = 1050. Flow at 15 s:
// I = −1.5·10^16, E = 1477.5. At the next price (1500, ts 20 s) the impact
// has recovered for 5 s: ⌊0.1·10^18·5·10^6/10^8⌋ = 5·10^15, I = −10^16,
// E = 1500·0.99 = 1485 (from the last price at 10 s it would be 1492.5).
// user_equity at 1485: A 1050 + maker 1,000,000 + 20000 − 14850 = 1,006,200.
TEST(WhatIfImpact, RecoveryCountsFromTheLastUpdate) {
  constexpr AccountId kA = 1, kMaker = 100;
  LogDb db({
      genesis(),
      hand_perp("0.1"),
      lines::price_market(1'000'000, 1, "2000"),
      lines::deposit(2'000'000, kMaker, 0, "1000000"),
      lines::deposit(2'000'000, kA, 0, "6800"),
      lines::trade(3'000'000, 1, kA, kMaker, "10", "2000"),
      lines::price_market(10'000'000, 1, "1500"),
      perp_spec("set_market", 15'000'000, "0.1", "0.25", "0.2", "0.15"),
      lines::price_market(20'000'000, 1, "1500"),
  });
  const Lab lab = run_lab(
      *db.ledger, {"full"},
      LabOptions{.impact = R"({"instruments":{"market:1":{"depth":"10000","recovery_per_s":"0.1"}}})", .series = true});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  expect_figures(v, Figures{
                        .liquidations = 1,
                        .accounts_liquidated = 1,
                        .accounts_kept_position = 0,
                        .accounts_closed = 1,
                        .closed_notional = usdc("15000"),
                        .penalties = usdc("750"),
                        .bad_debt = {{0, Int(0)}},
                        .insurance = {{0, usdc("225")}},
                        .bad_debt_value = Int(0),
                        .user_equity = usdc("1006200"),
                        .exogenous_applied = 9,
                    });
  ASSERT_EQ(lab.actions[0].size(), 1u);
  EXPECT_EQ(lab.actions[0][0].seq, 8u);  // after the set_market
  ASSERT_EQ(v.series.size(), 4u);
  EXPECT_EQ(v.series[2].seq, 8u);
  EXPECT_EQ(v.series[2].ts, 15'000'000u);
  EXPECT_EQ(v.series[2].effective, W("1477.5"));
  EXPECT_EQ(v.series[3].seq, 9u);
  EXPECT_EQ(v.series[3].effective, W("1485"));
}

// max_rounds 1: round 0 liquidates A and moves the price to 1477.5, where B
// is liquidatable, but no round is left: a truncated cascade, and B is never
// liquidated: at seq 10 the impact −1.5·10^16 has recovered 10^16, E =
// 1500·0.995 = 1492.5, where B's H_maint = 2640 − 8000 + 3.6·1492.5 = 13 ≥ 0.
TEST_F(CascadeMarket, OneRoundTruncatesTheCascade) {
  const Lab lab = run_lab(*db_.ledger, {"full"}, LabOptions{.impact = impact(1), .series = true});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  EXPECT_EQ(v.liquidations, 1u);
  EXPECT_EQ(v.truncated_cascades, 1u);
  EXPECT_EQ(v.max_cascade_depth, 0u);
  EXPECT_EQ(v.cascade_rounds, 0u);
  ASSERT_EQ(v.series.size(), 5u);
  EXPECT_EQ(v.series[2].effective, W("1477.5"));
  EXPECT_EQ(v.series[3].effective, W("1492.5"));
}

// The impact is clamped to [−0.99·WAD, 0.99·WAD]. Depth 1 USDC per 1 %:
// round 0: A's 15000 USDC (full) would move −150 (−15000 %): clamped to −0.99,
//   E = 1500·0.01 = 15.
// round 1: B at 15: equity 2640 + 60 − 8000 = −5300 (BANKRUPT), all 4 ETH:
//   T = 60, F = 3 (insurance 0.9); B's balance 2640 − 8000 + 60 − 3 = −5303:
//   close-out, insurance 225 + 0.9 = 225.9 pays, bad debt 5077.1. Flow −60:
//   the impact stays at the clamp, E = 15 = the stored price: no price moved,
//   the keeper stops (depth 1, one cascade round).
// seq 10 (20 s): |I| = 0.99 − 0.01 = 0.98, E = 1500·0.02 = 30; seq 11 (40 s):
//   0.98 − 0.02 = 0.96, E = 1510·0.04 = 60.4.
// user_equity at 60.4: A 450 + B 0 + maker 1,028,000 − 14·60.4 = 1,027,154.4.
TEST_F(CascadeMarket, ImpactIsClampedAtNinetyNinePercent) {
  const Lab lab = run_lab(*db_.ledger, {"full"},
                          LabOptions{.impact = R"({"default":{"depth":"1","recovery_per_s":"0.1"}})", .series = true});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  expect_figures(v, Figures{
                        .liquidations = 2,
                        .accounts_liquidated = 2,
                        .accounts_kept_position = 0,
                        .accounts_closed = 2,
                        .closed_notional = usdc("15000") + usdc("60"),
                        .penalties = usdc("750") + usdc("3"),
                        .bankruptcies = 1,
                        .close_outs = 1,
                        .absorbed = 0,
                        .bad_debt = {{0, usdc("5077.1")}},
                        .insurance = {{0, Int(0)}},
                        .bad_debt_value = usdc("5077.1"),
                        .max_cascade_depth = 1,
                        .cascade_rounds = 1,
                        .truncated_cascades = 0,
                        .user_equity = usdc("1027604.4"),
                        .exogenous_applied = 11,
                        .exogenous_rejected = 0,
                        .keeper_rejected = 0,
                    });
  expect_instrument(v.instruments.at(0), Instrument::market(1), "ETH-PERP", W("0.99"), W("1500"), W("15"),
                    W("2000"));
  ASSERT_EQ(lab.moves[0].size(), 1u);  // round 1's flow moved nothing
  EXPECT_EQ(lab.moves[0][0].price, W("15"));
  ASSERT_EQ(v.series.size(), 5u);
  EXPECT_EQ(v.series[3].effective, W("30"));
  EXPECT_EQ(v.series[4].effective, W("60.4"));
}

// A cascade through a token liquidation (WHATIF.md: the keeper sells the
// seized collateral, flow −value(seized, C) on asset C; the quote asset has no
// flow). USDC borrowable, ETH (SPEC §8's listing) 2000 → 1500, impact on
// asset 1: depth 10000, no recovery. C (3): 2 ETH, −2800 USDC (section 1:
// H_maint −100 at 1500); D (4): 1 ETH, −1348 USDC: at 2000 H_init = 1600 −
// 1348 = 252; at 1500 H_maint = 1350 − 1348 = 2 ≥ 0.
// full:
// round 0: C repays the cap 2800 (section 1): seized 1.96·10^18 wei, worth
//   1.96·1500 = 2940 → I = −cdiv(2940·10^6·10^36, 10^30) = −2.94·10^15,
//   E = 1500·(1 − 0.00294) = 1495.59. D: H_maint = ⌊0.9·1495.59⌋ − 1348 =
//   1346.031 − 1348 = −1.969 < 0.
// round 1: D at 1495.59: seize_exact(r) = r·10^12·1.05/1495.59 wei; r_max =
//   ⌊10^18·1495.59/(1.05·10^12)⌋ = 1424371428 ≥ 1348·10^6, so the cap is the
//   debt, 1348·10^6: seize_exact = 1415.4·10^18/1495.59 = 946382364150602772.9…
//   → the account gives 946382364150602773, the keeper gets …772, 1 wei of
//   dust to insurance. Bonus = 946382364150602772 − ⌊1348·10^18/1495.59⌋
//   (= 901316537286288354) = 45065826864314418 wei, valued
//   ⌊45065826864314418·1495.59/10^12⌋ = 67.4 USDC; insurance ⌊0.3·bonus⌋ =
//   13519748059294325 wei. Flow −value(946382364150602773 wei) =
//   −⌊1415.4000000000000003⌋ = −1415.4 USDC: I = −2.94·10^15 − 1.4154·10^15 =
//   −4.3554·10^15, E = 1500·0.9956446 = 1493.4669.
// round 2: no debt left anywhere: no action.
// user_equity at 1493.4669: C 0.04 ETH = 59.738676; D 1 ETH −
//   946382364150602773 wei = 53617635849397227 wei = ⌊80.0761646…⌋ = 80.076164.
TEST(WhatIfTokenCascade, SellingSeizedCollateralMovesTheAssetPrice) {
  constexpr AccountId kC = 3, kD = 4;
  LogDb db({
      genesis(),
      kUsdcBorrowable,
      lines::kListEth,
      lines::price_asset(1'000'000, 1, "2000"),
      lines::deposit(2'000'000, kC, 1, "2"),
      lines::deposit(2'000'000, kD, 1, "1"),
      lines::withdraw(3'000'000, kC, 0, "2800"),
      lines::withdraw(3'000'000, kD, 0, "1348"),
      lines::price_asset(10'000'000, 1, "1500"),
  });
  const Lab lab = run_lab(*db.ledger, {"full"},
                          LabOptions{.impact = R"({"instruments":{"asset:1":{"depth":"10000","recovery_per_s":"0"}}})",
                                     .series = true});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  expect_figures(v, Figures{
                        .liquidations = 2,
                        .accounts_liquidated = 2,
                        .accounts_kept_position = 0,
                        .accounts_closed = 2,  // no debt left
                        .closed_notional = usdc("2800") + usdc("1348"),
                        .penalties = usdc("140") + usdc("67.4"),
                        .bankruptcies = 0,
                        .close_outs = 0,
                        .absorbed = 0,
                        .bad_debt = {{0, Int(0)}, {1, Int(0)}},
                        // 0.028 ETH (C's share) + 13519748059294325 + 1 wei of dust
                        .insurance = {{0, Int(0)}, {1, Int(41519748059294326LL)}},
                        .bad_debt_value = Int(0),
                        .max_cascade_depth = 1,
                        .cascade_rounds = 1,
                        .truncated_cascades = 0,
                        .user_equity = usdc("59.738676") + usdc("80.076164"),
                        .exogenous_applied = 9,
                        .exogenous_rejected = 0,
                        .keeper_rejected = 0,
                    });
  expect_instrument(v.instruments.at(0), Instrument::asset(1), "ETH", dec("0.0043554", 18), W("1500"),
                    W("1493.4669"), W("2000"));
  ASSERT_EQ(lab.actions[0].size(), 2u);
  expect_action(lab.actions[0][0], kC, LiquidationKind::Token, usdc("2800"), Int(93333333333333334LL));
  expect_action(lab.actions[0][1], kD, LiquidationKind::Token, usdc("1348"), Int(45065826864314418LL));
  ASSERT_EQ(lab.moves[0].size(), 2u);
  EXPECT_TRUE(lab.moves[0][0].instrument == Instrument::asset(1));
  EXPECT_EQ(lab.moves[0][0].price, W("1495.59"));
  EXPECT_EQ(lab.moves[0][1].price, W("1493.4669"));
  ASSERT_EQ(v.marks.size(), 2u);
  EXPECT_EQ(v.marks[1].round, 1u);
  EXPECT_TRUE(v.marks[1].instrument == Instrument::asset(1));  // a token mark names the collateral
}

// =============================================================================
// 3. aave-v3.3 and chunked
// =============================================================================

// aave-v3.3 (T = 2000, M = 1000) on the hand market:
// * B: N = 6000 ≥ T but HF 0.692 ≤ 0.95 → |base|, as in section 1.
// * A: N = 15000 ≥ T, WAD·6200 > 0.95·6500 → a = roundup_lot(cdiv(10000·0.5))
//   = 5 ETH; what is left, notional(5 ETH) = 7500 ≥ M → 5 ETH (as close_factor:
//   A ends with 825 equity, H_maint 75).
// * C, two steps:
//   1. debt_L = 2800 ≥ T, coll_C = 3000 ≥ T, 2700 > 0.95·2800, debt_all = 2800,
//      half = 1400 < debt_L → max = ⌊1400·10^6·10^6·WAD/(WAD·10^6)⌋ = 1400·10^6;
//      dust rule: 1400 left in debt ≥ M, 1.02 ETH = 1530 left ≥ M → 1400·10^6
//      (bonus 46666666666666667 wei, 70 USDC). H_maint = −23: again.
//   2. debt_L = 1400 < T → max = |b_L| = 1400·10^6 ≤ cap (1457142857): repays
//      all of it, the same bonus again (70 USDC); C keeps 0.04 ETH (equity 60).
// aave-v3.3:2000:1500 (M = 1500): the same, except C's first step: 1400 left in
// debt < M → the dust rule takes the cap, 2800·10^6, in one step (bonus
// 93333333333333334 wei, 140 USDC).
TEST_F(HandMarket, AaveTakesHalfAboveTheThresholdAllBelowItAndAllWhenDustWouldBeLeft) {
  const Lab lab = run_lab(*db_.ledger, {"aave-v3.3", "aave-v3.3:2000:1500"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& aave = lab.result.variants.at(0);
  const VariantResult& dust = lab.result.variants.at(1);
  EXPECT_EQ(aave.policy, "aave-v3.3:2000:1000");
  EXPECT_EQ(dust.policy, "aave-v3.3:2000:1500");
  Figures expected{
      .liquidations = 4,
      .accounts_liquidated = 3,
      .accounts_kept_position = 1,  // A
      .accounts_closed = 2,         // B, C (no debt left)
      .closed_notional = usdc("6000") + usdc("7500") + usdc("1400") + usdc("1400"),
      .penalties = usdc("300") + usdc("375") + usdc("70") + usdc("70"),
      .bankruptcies = 1,
      .close_outs = 1,
      .absorbed = 0,
      .bad_debt = {{0, usdc("310")}, {1, Int(0)}},
      .insurance = {{0, usdc("112.5")}, {1, dec("0.028", 18)}},
      .bad_debt_value = usdc("310"),
      .max_cascade_depth = 0,
      .cascade_rounds = 0,
      .truncated_cascades = 0,
      .user_equity = usdc("1007885"),  // A 825 + C 60 + maker 1,007,000
      .exogenous_applied = 18,
      .exogenous_rejected = 0,
      .keeper_rejected = 0,
  };
  expect_figures(aave, expected);
  expected.liquidations = 3;  // C in one step: 2800 instead of 1400 + 1400, the same totals
  expect_figures(dust, expected);

  ASSERT_EQ(lab.actions[0].size(), 4u);
  expect_b_closed_out(lab.actions[0][0]);
  expect_action(lab.actions[0][1], kA, LiquidationKind::Perp, dec("5", 3), usdc("375"));
  expect_action(lab.actions[0][2], kC, LiquidationKind::Token, usdc("1400"), Int(46666666666666667LL));
  expect_action(lab.actions[0][3], kC, LiquidationKind::Token, usdc("1400"), Int(46666666666666667LL));
  EXPECT_EQ(lab.actions[0][3].post->equity, usdc("60"));
  ASSERT_EQ(lab.actions[1].size(), 3u);
  expect_action(lab.actions[1][2], kC, LiquidationKind::Token, usdc("2800"), Int(93333333333333334LL));
}

// aave-v3.3 on perps (WHATIF.md), a market with a lot of 1 ETH (1000 base
// units), 1000 → 800. At 800 (margins 0.2 / 0.15 / 0.1, fee 0.05: closing one
// lot transfers 800 and costs 40):
// * I (9): 798 USDC, 3 ETH long: equity 198, H_maint = 198 − 240 = −42, HF
//   exactly 0.95: WAD·798 = 0.95·(600 + 240) = 798. N = 2400 ≥ T.
//   aave: HF > 0.95 is false → all 3 lots (T 2400, F 120; 78 USDC left).
//   close_factor: HF < 0.95 is false too → roundup_lot(cdiv(3000·0.5)) = 2 lots
//   (T 1600, F 80): quote −3000 + 1600 − 80 = −1480, equity 798 + 800 − 1480 =
//   118, H_maint 118 − 80 = 38.
// * D (4): 820 USDC, 3 ETH long: equity 220, H_maint = 220 − 240 = −20,
//   HF = 820 / (600 + 240) = 0.976 > 0.95; N = 2400 ≥ T.
//   aave: a = roundup_lot(cdiv(3000·0.5) = 1500) = 2000 (2 lots) < 3000, but
//   what is left, notional(1 ETH) = 800 < M = 1000 → the dust rule: all 3 lots
//   (T 2400, F 120; D keeps 820 − 3000 + 2400 − 120 = 100 USDC).
//   close_factor: 2 lots (T 1600, F 80): equity 140, H_maint 140 − 80 = 60.
// * E (5): 546 USDC, 2 ETH: equity 146, H_maint −14, HF 546 / 560 = 0.975;
//   N = 1600 < T → aave takes all 2 (T 1600, F 80; 66 USDC left).
//   close_factor: roundup_lot(1000) = 1 lot (T 800, F 40): equity 106, H_maint 26.
// * F (6): 1365 USDC, 5 ETH: equity 365, H_maint −35, HF 1365 / 1400 = 0.975;
//   N = 4000 ≥ T → a = roundup_lot(2500) = 3 lots; left 2 ETH = 1600 ≥ M:
//   3 lots under both rules (T 2400, F 120): equity 245, H_maint 85.
// Maker: 13 ETH short: 1,000,000 + 13000 − 10400 = 1,002,600 at the end.
TEST(WhatIfAave, PerpHalfAllBelowTheThresholdAndTheDustRule) {
  constexpr AccountId kD = 4, kE = 5, kF = 6, kI = 9, kMaker = 100;
  LogDb db({
      genesis(),
      // The protocol's policy in force becomes full; the variants still size
      // with their own rule (WHATIF.md: a set_protocol does not change the sizing).
      R"({"type":"set_protocol","ts":0,"policy":"full","liquidator_share":"0.5","insurance_share":"0.3"})",
      hand_perp("1"),
      lines::price_market(1'000'000, 1, "1000"),
      lines::deposit(2'000'000, kMaker, 0, "1000000"),
      lines::deposit(2'000'000, kD, 0, "820"),
      lines::deposit(2'000'000, kE, 0, "546"),
      lines::deposit(2'000'000, kF, 0, "1365"),
      lines::deposit(2'000'000, kI, 0, "798"),
      lines::trade(3'000'000, 1, kD, kMaker, "3", "1000"),
      lines::trade(3'000'000, 1, kE, kMaker, "2", "1000"),
      lines::trade(3'000'000, 1, kF, kMaker, "5", "1000"),
      lines::trade(3'000'000, 1, kI, kMaker, "3", "1000"),
      lines::price_market(10'000'000, 1, "800"),
  });
  const Lab lab = run_lab(*db.ledger, {"aave-v3.3", "close_factor:0.5:0.95"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  expect_figures(lab.result.variants.at(0),
                 Figures{
                     .liquidations = 4,
                     .accounts_liquidated = 4,
                     .accounts_kept_position = 1,  // F
                     .accounts_closed = 3,         // I, D, E
                     .closed_notional = usdc("2400") + usdc("2400") + usdc("1600") + usdc("2400"),
                     .penalties = usdc("120") + usdc("120") + usdc("80") + usdc("120"),
                     .bad_debt = {{0, Int(0)}},
                     .insurance = {{0, usdc("132")}},  // 0.3 · 440
                     .bad_debt_value = Int(0),
                     .user_equity = usdc("1003089"),  // 78 + 100 + 66 + 245 + 1,002,600
                     .exogenous_applied = 14,
                 });
  expect_figures(lab.result.variants.at(1),
                 Figures{
                     .liquidations = 4,
                     .accounts_liquidated = 4,
                     .accounts_kept_position = 4,
                     .accounts_closed = 0,
                     .closed_notional = usdc("1600") + usdc("1600") + usdc("800") + usdc("2400"),
                     .penalties = usdc("80") + usdc("80") + usdc("40") + usdc("120"),
                     .bad_debt = {{0, Int(0)}},
                     .insurance = {{0, usdc("96")}},  // 0.3 · 320
                     .bad_debt_value = Int(0),
                     .user_equity = usdc("1003209"),  // 118 + 140 + 106 + 245 + 1,002,600
                     .exogenous_applied = 14,
                 });
  // Keeper order: HF ascending, then id: I (0.95) first; E and F tie at 0.975
  // (546·1400 = 1365·560), E first; D (0.976) last.
  ASSERT_EQ(lab.actions[0].size(), 4u);
  expect_action(lab.actions[0][0], kI, LiquidationKind::Perp, dec("3", 3), usdc("120"));
  expect_action(lab.actions[0][1], kE, LiquidationKind::Perp, dec("2", 3), usdc("80"));
  expect_action(lab.actions[0][2], kF, LiquidationKind::Perp, dec("3", 3), usdc("120"));
  expect_action(lab.actions[0][3], kD, LiquidationKind::Perp, dec("3", 3), usdc("120"));
  ASSERT_EQ(lab.actions[1].size(), 4u);
  expect_action(lab.actions[1][0], kI, LiquidationKind::Perp, dec("2", 3), usdc("80"));
  EXPECT_EQ(lab.actions[1][0].post->h_maint, usdc("38"));
  expect_action(lab.actions[1][1], kE, LiquidationKind::Perp, dec("1", 3), usdc("40"));
  expect_action(lab.actions[1][2], kF, LiquidationKind::Perp, dec("3", 3), usdc("120"));
  expect_action(lab.actions[1][3], kD, LiquidationKind::Perp, dec("2", 3), usdc("80"));
}

// chunked:0.25:30:10000 on the hand market (threshold 10000 USDC):
// * seq 15, B: |notional| 6000 ≤ 10000 → all 4 ETH (as in section 1); closed.
// * seq 15, A: 15000 > 10000 → roundup_lot(cdiv(10000·0.25)) = 2500 base units
//   = 2.5 ETH: T = 3750, F = 187.5 (insurance 56.25); A keeps 7.5 ETH at quote
//   −20000 + 3750 − 187.5 = −16437.5: equity 6200 + 11250 − 16437.5 = 1012.5,
//   H_maint = 1012.5 − 1125 = −112.5, still liquidatable, but the position is
//   open: cooldown until 10 s + 30 s = 40 s, the keeper stops with A.
// * seq 16, C: value(2800) ≤ 10000 → the cap, 2800 (as full): closed.
// * seq 18 (ts 39.999999 s): A is liquidatable but held.
// * seq 19 (ts 40 s = the end of the cooldown): 11250 > 10000 →
//   roundup_lot(cdiv(7500·0.25) = 1875) = 1900 = 1.9 ETH: T = 2850, F = 142.5
//   (insurance 42.75); 5.6 ETH at quote −16437.5 + 2850 − 142.5 = −13730:
//   equity 6200 + 8400 − 13730 = 870, H_maint = 870 − 840 = 30 ≥ 0.
TEST_F(HandMarket, ChunkedTakesAChunkThenWaitsForTheCooldown) {
  const Lab lab = run_lab(*db_.ledger, {"chunked:0.25:30:10000"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  const VariantResult& v = lab.result.variants.at(0);
  EXPECT_EQ(v.policy, "chunked:0.25:30:10000");
  expect_figures(v, Figures{
                        .liquidations = 4,
                        .accounts_liquidated = 3,
                        .accounts_kept_position = 1,  // A
                        .accounts_closed = 2,         // B, C
                        .closed_notional = usdc("6000") + usdc("3750") + usdc("2800") + usdc("2850"),
                        .penalties = usdc("300") + usdc("187.5") + usdc("140") + usdc("142.5"),
                        .bankruptcies = 1,
                        .close_outs = 1,
                        .absorbed = 0,
                        .bad_debt = {{0, usdc("310")}, {1, Int(0)}},
                        .insurance = {{0, usdc("56.25") + usdc("42.75")}, {1, dec("0.028", 18)}},
                        .bad_debt_value = usdc("310"),
                        .max_cascade_depth = 0,
                        .cascade_rounds = 0,
                        .truncated_cascades = 0,
                        .user_equity = usdc("1007930"),  // A 870 + C 60 + maker 1,007,000
                        .exogenous_applied = 18,
                        .exogenous_rejected = 0,
                        .keeper_rejected = 0,
                    });
  const auto& actions = lab.actions[0];
  ASSERT_EQ(actions.size(), 4u);
  expect_b_closed_out(actions[0]);
  expect_action(actions[1], kA, LiquidationKind::Perp, dec("2.5", 3), usdc("187.5"));
  EXPECT_EQ(actions[1].post->h_maint, usdc("-112.5"));
  expect_action(actions[2], kC, LiquidationKind::Token, usdc("2800"), Int(93333333333333334LL));
  expect_action(actions[3], kA, LiquidationKind::Perp, dec("1.9", 3), usdc("142.5"));
  EXPECT_EQ(actions[3].seq, 19u);
  EXPECT_EQ(actions[3].ts, 40'000'000u);
  EXPECT_EQ(actions[3].post->h_maint, usdc("30"));
}

// Candidates whose health is not evaluable at ts are left out (WHATIF.md: the
// engine would answer STALE_ORACLE). A as in the hand market, alone with the
// maker; chunked:0.25:30:10000: at seq 7 (1500, ts 10 s) the first chunk,
// 2.5 ETH (T 3750, F 187.5), A still liquidatable (H_maint −112.5) and held
// until 40 s. Seq 8, a deposit at ts 71 s: the cooldown is over but the perp's
// price, published at 10 s, is 61 s old (> 60 s): A is not a candidate, the
// keeper does nothing (nothing rejected). Seq 9, ETH-PERP 1500 at 72 s: the
// second chunk, 1.9 ETH (T 2850, F 142.5), H_maint 30 (as in the chunked test above).
// user_equity: A 870 + maker 1,000,001 + 20000 − 15000 = 1,005,871.
TEST(WhatIfStale, AnAccountWithAStalePriceIsNotACandidate) {
  constexpr AccountId kA = 1, kMaker = 100;
  LogDb db({
      genesis(),
      hand_perp("0.1"),
      lines::price_market(1'000'000, 1, "2000"),
      lines::deposit(2'000'000, kMaker, 0, "1000000"),
      lines::deposit(2'000'000, kA, 0, "6200"),
      lines::trade(3'000'000, 1, kA, kMaker, "10", "2000"),
      lines::price_market(10'000'000, 1, "1500"),
      lines::deposit(71'000'000, kMaker, 0, "1"),
      lines::price_market(72'000'000, 1, "1500"),
  });
  const Lab lab = run_lab(*db.ledger, {"chunked:0.25:30:10000"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  expect_figures(lab.result.variants.at(0), Figures{
                                                .liquidations = 2,
                                                .accounts_liquidated = 1,
                                                .accounts_kept_position = 1,
                                                .accounts_closed = 0,
                                                .closed_notional = usdc("3750") + usdc("2850"),
                                                .penalties = usdc("187.5") + usdc("142.5"),
                                                .bad_debt = {{0, Int(0)}},
                                                .insurance = {{0, usdc("99")}},
                                                .bad_debt_value = Int(0),
                                                .user_equity = usdc("1005871"),
                                                .exogenous_applied = 9,
                                                .keeper_rejected = 0,
                                            });
  ASSERT_EQ(lab.actions[0].size(), 2u);
  expect_action(lab.actions[0][0], kA, LiquidationKind::Perp, dec("2.5", 3), usdc("187.5"));
  EXPECT_EQ(lab.actions[0][0].seq, 7u);
  expect_action(lab.actions[0][1], kA, LiquidationKind::Perp, dec("1.9", 3), usdc("142.5"));
  EXPECT_EQ(lab.actions[0][1].seq, 9u);
}

// Up to 16 steps per account in a round (WHATIF.md), and a round with no
// price move ends the keeper's work for the event. chunked:0.01:0:0 (every
// notional above the threshold 0, no cooldown) on the cascade market without
// impact: A's chunk is roundup_lot(cdiv((10000 − 100·j)·0.01)) = 100 base units
// = 0.1 ETH at every step j. After k steps at 1500: base 10 − 0.1·k, quote
// −20000 + (150 − 7.5)·k, equity 1200 − 7.5·k, H_maint = 1200 − 7.5·k −
// 150·(10 − 0.1·k) = −300 + 7.5·k: still liquidatable until k = 40.
// * seq 9: 16 steps (k = 16, H_maint −180), then the keeper stops (no impact).
// * seq 10 (1500 again): 16 more (k = 32, H_maint −60).
// * seq 11 (1510): base 6.8, quote −15440: equity 6200 + 10268 − 15440 = 1028,
//   H_maint = 1028 − 1026.8 = 1.2 ≥ 0: nothing to do.
// B (H_maint 40 at 1500) is never liquidatable. Totals: 32 × (T 150, F 7.5).
// user_equity at 1510: A 1028 + B 2640 − 8000 + 6040 = 680 + maker 1,000,000
// + 28000 − 21140 = 1,006,860.
TEST_F(CascadeMarket, AtMostSixteenStepsPerAccountInARound) {
  const Lab lab = run_lab(*db_.ledger, {"chunked:0.01:0:0"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  expect_figures(lab.result.variants.at(0), Figures{
                                                .liquidations = 32,
                                                .accounts_liquidated = 1,
                                                .accounts_kept_position = 1,
                                                .accounts_closed = 0,
                                                .closed_notional = usdc("4800"),
                                                .penalties = usdc("240"),
                                                .bad_debt = {{0, Int(0)}},
                                                .insurance = {{0, usdc("72")}},
                                                .bad_debt_value = Int(0),
                                                .user_equity = usdc("1008568"),
                                                .exogenous_applied = 11,
                                            });
  const auto& actions = lab.actions[0];
  ASSERT_EQ(actions.size(), 32u);
  for (size_t k = 0; k < actions.size(); ++k) {
    expect_action(actions[k], kA, LiquidationKind::Perp, dec("0.1", 3), usdc("7.5"));
    EXPECT_EQ(actions[k].seq, k < 16 ? kCrashSeq : kCrashSeq + 1) << k;
  }
  EXPECT_EQ(actions[15].post->h_maint, usdc("-180"));
  EXPECT_EQ(actions[31].post->h_maint, usdc("-60"));
}

// =============================================================================
// 4. Conservation after every keeper step
// =============================================================================

// A generated market (tools/generate.h: 300 accounts, 20000 events, a 40 %
// crash), shared by the tests of sections 4 and 5.
class GeneratedMarket : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("liql-" + std::to_string(::getpid()) + "-whatif-generated"));
    std::filesystem::remove_all(*dir_);
    std::filesystem::create_directories(*dir_);
    std::string text;
    GenerateOptions options;
    options.seed = 7;
    options.accounts = 300;
    options.events = 20000;
    EXPECT_TRUE(generate_market(options, [&](std::string_view line) {
      text.append(line);
      text += '\n';
    }).is_ok());
    ledger_ = ledger_with((*dir_ / "db").string(), text).release();
  }
  static void TearDownTestSuite() {
    delete ledger_;
    ledger_ = nullptr;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  // Impact on every instrument, deeper books for ETH-PERP.
  static constexpr const char* kImpact =
      R"({"default":{"depth":"20000","recovery_per_s":"0.05"},"instruments":{"market:1":{"depth":"50000","recovery_per_s":"0.1"}},"max_rounds":16})";
  static inline const std::vector<std::string> kPolicies = {"partial", "full", "close_factor:0.5:0.95", "aave-v3.3",
                                                            "chunked:0.2:30:20000"};
  static inline std::filesystem::path* dir_ = nullptr;
  static inline Ledger* ledger_ = nullptr;
};

// SPEC §7.4 after every event each variant applied, the keeper's included:
// Σ balances + insurance + treasury (+ Σ position quote) − bad debt =
// Σ deposits − Σ withdrawals + Σ insurance deposits (+ external), per asset,
// the flows counted from the applied log events; perp base zero-sum.
TEST_F(GeneratedMarket, ConservationHoldsAfterEveryKeeperStep) {
  const Lab lab = run_lab(*ledger_, kPolicies, LabOptions{.impact = kImpact});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  EXPECT_EQ(lab.conservation_checks, lab.observed);
  // Every log event and every keeper action of the five variants was checked.
  uint64_t events = 0, keeper_actions = 0, cascades = 0;
  for (size_t i = 0; i < kPolicies.size(); ++i) {
    const VariantResult& v = lab.result.variants[i];
    events += v.exogenous_applied + lab.actions[i].size() + lab.moves[i].size();
    keeper_actions += lab.actions[i].size();
    EXPECT_GT(v.liquidations, 0u) << v.policy;  // the crash gives every keeper work
    EXPECT_EQ(v.keeper_rejected, 0u) << v.policy;
    EXPECT_EQ(lab.actions[i].size(), v.liquidations + v.absorbed) << v.policy;
    cascades += v.cascade_rounds;
  }
  EXPECT_EQ(events, lab.observed);
  EXPECT_GT(keeper_actions, 0u);
  EXPECT_GT(cascades, 0u);  // and the impact some cascades
}

// =============================================================================
// 5. The same output twice, and the JSON layout
// =============================================================================

// Without an observer every variant runs on its own thread; the figures,
// series and state hashes are those of the single-threaded run.
TEST_F(GeneratedMarket, ThreadsChangeNothing) {
  WhatIfOptions options;
  options.policies = kPolicies;
  options.series = true;
  std::string error;
  ASSERT_TRUE(parse_impact(kImpact, &options.impact, &error)) << error;
  WhatIfResult threaded;
  ASSERT_TRUE(run_whatif(*ledger_, options, &threaded).is_ok());
  options.observer = [](size_t, const fb::Event&, const Outcome&, const State&, bool) {};  // one thread
  WhatIfResult single;
  ASSERT_TRUE(run_whatif(*ledger_, options, &single).is_ok());
  EXPECT_EQ(whatif_json(threaded), whatif_json(single));
  ASSERT_EQ(threaded.variants.size(), single.variants.size());
  for (size_t v = 0; v < single.variants.size(); ++v) {
    EXPECT_EQ(series_csv(threaded.variants[v]), series_csv(single.variants[v])) << single.variants[v].policy;
  }
  EXPECT_GT(single.variants.at(0).liquidations, 0u);
}

TEST_F(GeneratedMarket, SameOutputTwiceAndDifferentRulesDifferentStates) {
  ImpactConfig impact;
  std::string error;
  ASSERT_TRUE(parse_impact(kImpact, &impact, &error)) << error;
  WhatIfOptions options;
  options.policies = kPolicies;
  options.impact = impact;
  options.series = true;
  WhatIfResult first, second;
  ASSERT_TRUE(run_whatif(*ledger_, options, &first).is_ok());
  ASSERT_TRUE(run_whatif(*ledger_, options, &second).is_ok());
  EXPECT_EQ(whatif_json(first), whatif_json(second));
  EXPECT_EQ(whatif_csv(first), whatif_csv(second));
  for (size_t i = 0; i < first.variants.size(); ++i) {
    EXPECT_EQ(series_csv(first.variants[i]), series_csv(second.variants[i]));
  }
  for (size_t i = 0; i < first.variants.size(); ++i) {
    for (size_t j = i + 1; j < first.variants.size(); ++j) {
      EXPECT_NE(first.variants[i].state_hash, first.variants[j].state_hash)
          << first.variants[i].policy << " vs " << first.variants[j].policy;
    }
  }
}

// WHATIF.md: `--format json` prints the keys in the order of the figures' table.
TEST_F(HandMarket, JsonKeysInTheOrderOfWhatIfMd) {
  const Lab lab = run_lab(*db_.ledger, {"partial"});
  ASSERT_TRUE(lab.status.is_ok());
  const auto json = nlohmann::ordered_json::parse(whatif_json(lab.result));
  EXPECT_EQ(json["seq"], 19);
  EXPECT_EQ(json["ts"], 40'000'000);
  std::vector<std::string> keys;
  for (const auto& [key, value] : json["variants"][0].items()) keys.push_back(key);
  // The issue's keys in its order, then the other figures (docs/WHATIF.md).
  const std::vector<std::string> table = {
      "policy",           "liquidations", "accounts_liquidated", "accounts_kept_position", "accounts_closed",
      "closed_notional",  "penalties",    "bankruptcies",        "absorbed",               "bad_debt",
      "insurance",        "max_cascade_depth", "user_equity",    "close_outs",             "bad_debt_value",
      "instruments",      "cascade_rounds", "truncated_cascades", "exogenous_applied",     "exogenous_rejected",
      "keeper_rejected",  "state_hash"};
  EXPECT_EQ(keys, table);
  EXPECT_EQ(json["variants"][0]["closed_notional"], "18825581396");
  EXPECT_EQ(json["variants"][0]["bad_debt"], nlohmann::ordered_json::parse(R"({"0":"310000000","1":"0"})"));
}

// =============================================================================
// 6. Bad input, refused before any work
// =============================================================================

class BadInput : public HandMarket {
 protected:
  // run_whatif must refuse: InvalidArgument naming `named`, no event applied
  // (the observer never called) and the result untouched.
  void expect_refused(const WhatIfOptions& base, const std::string& named) {
    WhatIfOptions options = base;
    uint64_t calls = 0;
    options.observer = [&](size_t, const fb::Event&, const Outcome&, const State&, bool) { ++calls; };
    WhatIfResult result;
    result.seq = 12345;
    const Status status = run_whatif(*db_.ledger, options, &result);
    EXPECT_EQ(status.code(), Status::Code::InvalidArgument) << status.to_string();
    EXPECT_NE(status.message().find(named), std::string::npos) << status.message();
    EXPECT_EQ(calls, 0u);
    EXPECT_EQ(result.seq, 12345u);
  }
  void expect_policy_refused(const std::string& spec, const std::string& named) {
    std::string error;
    EXPECT_EQ(make_rule(spec, &error), nullptr) << spec;
    EXPECT_FALSE(error.empty()) << spec;
    WhatIfOptions options;
    options.policies = {"partial", spec};
    expect_refused(options, named);
  }
  static void expect_impact_refused(const std::string& json, const std::string& named) {
    ImpactConfig config;
    std::string error;
    EXPECT_FALSE(parse_impact(json, &config, &error)) << json;
    EXPECT_NE(error.find(named), std::string::npos) << json << " → " << error;
  }
};

TEST_F(BadInput, PoliciesAreRefusedNamingThem) {
  std::string error;
  EXPECT_EQ(make_rule("nope", &error), nullptr);
  EXPECT_NE(error.find("nope"), std::string::npos) << error;
  expect_policy_refused("nope", "nope");
  expect_policy_refused("close_factor:2:0.95", "close_factor:2:0.95");  // ratio outside (0, 1]
  expect_policy_refused("close_factor:0:0.95", "close_factor:0:0.95");
  expect_policy_refused("close_factor:0.5", "close_factor:0.5");
  expect_policy_refused("chunked:0.2:x", "chunked:0.2:x");  // cooldown not a number
  expect_policy_refused("chunked:1.5:30", "chunked:1.5:30");
  expect_policy_refused("chunked:0.2:-1", "chunked:0.2:-1");
  expect_policy_refused("chunked:0.2:30:", "chunked:0.2:30:");  // an empty threshold
  expect_policy_refused("close_factor:0.5:-0.1", "close_factor:0.5:-0.1");
  expect_policy_refused("aave-v3.3:-1:1000", "aave-v3.3:-1:1000");  // negative threshold
  expect_policy_refused("aave-v3.3:2000", "aave-v3.3:2000");
  expect_policy_refused("partial:0.5", "partial:0.5");
  WhatIfOptions none;
  expect_refused(none, "policy");
}

TEST_F(BadInput, MalformedImpactFilesAreRefusedNamingTheField) {
  expect_impact_refused("{not json", "not JSON");
  expect_impact_refused(R"({"defaults":{"depth":"1","recovery_per_s":"0"}})", "defaults");
  expect_impact_refused(R"({"default":{"depth":"1","recovery_per_s":"0","speed":"1"}})", "speed");
  expect_impact_refused(R"({"default":{"depth":"0","recovery_per_s":"0"}})", "depth");
  expect_impact_refused(R"({"default":{"depth":5000,"recovery_per_s":"0"}})", "depth");
  expect_impact_refused(R"({"default":{"depth":"-1","recovery_per_s":"0"}})", "depth");
  expect_impact_refused(R"({"default":{"depth":"1"}})", "recovery_per_s");
  expect_impact_refused(R"({"default":{"depth":"1","recovery_per_s":"-0.1"}})", "recovery_per_s");
  expect_impact_refused(R"({"instruments":{"foo:1":{"depth":"1","recovery_per_s":"0"}}})", "foo:1");
  expect_impact_refused(R"({"instruments":{"market:":{"depth":"1","recovery_per_s":"0"}}})", "market:");
  expect_impact_refused(R"({"instruments":{"asset:0":{"depth":"1","recovery_per_s":"0"}}})", "asset:0");
  expect_impact_refused(R"({"max_rounds":0})", "max_rounds");
  expect_impact_refused(R"({"max_rounds":1001})", "max_rounds");
  expect_impact_refused(R"({"max_rounds":"16"})", "max_rounds");
  expect_impact_refused(R"([1,2])", "object");

  // A well-formed one, for contrast.
  ImpactConfig config;
  std::string error;
  ASSERT_TRUE(parse_impact(
      R"({"default":{"depth":"2000000","recovery_per_s":"0.05"},"instruments":{"market:1":{"depth":"5000000","recovery_per_s":"0.1"},"asset:2":{"depth":"800000","recovery_per_s":"0"}},"max_rounds":7})",
      &config, &error))
      << error;
  ASSERT_TRUE(config.fallback.has_value());
  EXPECT_EQ(config.fallback->depth, W("2000000"));
  EXPECT_EQ(config.fallback->recovery, W("0.05"));
  EXPECT_EQ(config.max_rounds, 7u);
  ASSERT_NE(config.params(Instrument::asset(2)), nullptr);
  EXPECT_EQ(config.params(Instrument::asset(2))->depth, W("800000"));
  EXPECT_EQ(config.params(Instrument::market(1))->recovery, W("0.1"));
  EXPECT_EQ(config.params(Instrument::market(9))->depth, W("2000000"));  // the default
}

// An impact file naming an instrument the log never lists (the hand market
// lists asset 1 and market 1 only).
TEST_F(BadInput, AnInstrumentTheLogNeverListsIsRefused) {
  WhatIfOptions options;
  options.policies = {"partial"};
  std::string error;
  ASSERT_TRUE(parse_impact(R"({"instruments":{"market:7":{"depth":"1000","recovery_per_s":"0"}}})", &options.impact,
                           &error));
  expect_refused(options, "market:7");
  ASSERT_TRUE(parse_impact(R"({"instruments":{"asset:2":{"depth":"1000","recovery_per_s":"0"}}})", &options.impact,
                           &error));
  expect_refused(options, "asset:2");
  // Market 1 is listed at seq 4: up to seq 3 the log has not listed it.
  ASSERT_TRUE(parse_impact(R"({"instruments":{"market:1":{"depth":"1000","recovery_per_s":"0"}}})", &options.impact,
                           &error));
  options.to_seq = 3;
  expect_refused(options, "market:1");
}

// The keeper's account 2^64 − 1 is reserved: a log whose exogenous events
// touch it cannot be replayed with a keeper.
TEST(WhatIfBadInput, ALogUsingTheKeepersIdIsRefused) {
  LogDb db({genesis(), lines::deposit(1'000'000, kKeeperAccount, 0, "10")});
  const Lab lab = run_lab(*db.ledger, {"partial"});
  EXPECT_EQ(lab.status.code(), Status::Code::InvalidArgument) << lab.status.to_string();
  EXPECT_NE(lab.status.message().find("18446744073709551615"), std::string::npos) << lab.status.message();
}

TEST_F(BadInput, CliExitsTwoWithAMessageAndNothingOnStdout) {
  db_.ledger.reset();  // the CLI opens the ledger itself
  const std::string err = db_.dir.path("stderr");
  testing::CliRun run = testing::cli("whatif " + db_.path + " --policy nope", err);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(testing::slurp(err).find("nope"), std::string::npos) << testing::slurp(err);

  std::ofstream(db_.dir.path("impact.json")) << R"({"default":{"depth":"0","recovery_per_s":"0"}})";
  run = testing::cli("whatif " + db_.path + " --policy partial --impact " + db_.dir.path("impact.json"), err);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(testing::slurp(err).find("depth"), std::string::npos) << testing::slurp(err);

  // A good run prints what whatif_json gives.
  run = testing::cli("whatif " + db_.path + " --policy partial --policy full --format json", err);
  EXPECT_EQ(run.exit_code, 0);
  const auto json = nlohmann::json::parse(run.out);
  EXPECT_EQ(json["variants"][0]["closed_notional"], "18825581396");
  EXPECT_EQ(json["variants"][1]["closed_notional"], "23800000000");
}

// =============================================================================
// 7. An observe-mode log
// =============================================================================

// Observe mode (SPEC §5.5): balances come from sync_balance; the log's own
// liquidation (recorded, 10 ETH) is skipped; the keeper sizes as in enforce mode.
// Same perp as the hand market. A (1): synced 6200 USDC, buys 10 ETH at 2000
// from the maker (synced 1,000,000), then a sync to 6100 (the source system
// charged 100 of fees). At 1500: equity 6100 − 5000 = 1100, H_maint = 1100 −
// 1500 = −400, H_target = 1100 − 2250 = −1150; closing k lots:
// H_target(k) = −1150 + 15·k: k = 76 → −10, k = 77 → +5: s* = 7.7 ETH under
// partial, T = 11550, F = 577.5 (insurance 173.25): equity 522.5, H_target 5.
// full: 10 ETH, T = 15000, F = 750, A keeps 6100 − 20000 + 15000 − 750 = 350.
// Maker: 1,000,000 + 20000 − 15000 = 1,005,000. SPEC §7.4 holds after every
// event with the syncs booked in external (no deposits at all).
TEST(WhatIfObserve, TheKeeperSizesAsInEnforceMode) {
  constexpr AccountId kA = 1, kMaker = 100;
  LogDb db({
      genesis("observe"),
      hand_perp("0.1"),
      lines::price_market(1'000'000, 1, "2000"),
      lines::sync_balance(2'000'000, kA, 0, "6200"),
      lines::sync_balance(2'000'000, kMaker, 0, "1000000"),
      lines::trade(3'000'000, 1, kA, kMaker, "10", "2000"),
      lines::sync_balance(5'000'000, kA, 0, "6100"),
      lines::price_market(10'000'000, 1, "1500"),
      lines::liquidate_perp(10'000'000, kMaker, kA, 1, R"(,"executed_base":"10")"),
  });
  const Lab lab = run_lab(*db.ledger, {"partial", "full"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  expect_figures(lab.result.variants.at(0), Figures{
                                                .liquidations = 1,
                                                .accounts_liquidated = 1,
                                                .accounts_kept_position = 1,
                                                .accounts_closed = 0,
                                                .closed_notional = usdc("11550"),
                                                .penalties = usdc("577.5"),
                                                .bad_debt = {{0, Int(0)}},
                                                .insurance = {{0, usdc("173.25")}},
                                                .bad_debt_value = Int(0),
                                                .user_equity = usdc("1005522.5"),  // 522.5 + 1,005,000
                                                .exogenous_applied = 8,
                                            });
  expect_figures(lab.result.variants.at(1), Figures{
                                                .liquidations = 1,
                                                .accounts_liquidated = 1,
                                                .accounts_kept_position = 0,
                                                .accounts_closed = 1,
                                                .closed_notional = usdc("15000"),
                                                .penalties = usdc("750"),
                                                .bad_debt = {{0, Int(0)}},
                                                .insurance = {{0, usdc("225")}},
                                                .bad_debt_value = Int(0),
                                                .user_equity = usdc("1005350"),  // 350 + 1,005,000
                                                .exogenous_applied = 8,
                                            });
  ASSERT_EQ(lab.actions[0].size(), 1u);
  expect_action(lab.actions[0][0], kA, LiquidationKind::Perp, dec("7.7", 3), usdc("577.5"));
  EXPECT_EQ(lab.actions[0][0].post->h_target, usdc("5"));
  EXPECT_EQ(lab.actions[0][0].post->equity, usdc("522.5"));
}

// The keeper absorbs (SPEC §5.4) what no liquidation can touch. Observe mode,
// ETH at 1500, an insurance deposit of 30 USDC:
// * seq 5: G (7) is synced to −100 USDC: BANKRUPT, nothing to seize
//   (exhausted) → absorb: insurance pays 30, bad debt 70.
// * seq 6, 7: H (8) is synced to 1 wei of ETH, then to −50 USDC: BANKRUPT
//   (the wei is worth ⌊1500·10^−12⌋ = 0), and exhausted: ⌈seize_exact(1)⌉ =
//   7·10^8 wei > 1 → absorb: the wei goes to insurance[ETH], insurance[USDC]
//   is empty, bad debt 50.
// No liquidation at all; SPEC §7.4 holds after each event (the syncs booked
// in external).
TEST(WhatIfObserve, TheKeeperAbsorbsExhaustedBankruptAccounts) {
  constexpr AccountId kG = 7, kH = 8;
  LogDb db({
      genesis("observe"),
      lines::kListEth,
      lines::price_asset(1'000'000, 1, "1500"),
      lines::insurance_deposit(2'000'000, 0, "30"),
      lines::sync_balance(3'000'000, kG, 0, "-100"),
      lines::sync_balance(4'000'000, kH, 1, "0.000000000000000001"),
      lines::sync_balance(4'000'000, kH, 0, "-50"),
  });
  const Lab lab = run_lab(*db.ledger, {"partial"});
  ASSERT_TRUE(lab.status.is_ok()) << lab.status.to_string();
  expect_figures(lab.result.variants.at(0), Figures{
                                                .liquidations = 0,
                                                .closed_notional = Int(0),
                                                .penalties = Int(0),
                                                .bankruptcies = 2,
                                                .close_outs = 2,
                                                .absorbed = 2,
                                                .bad_debt = {{0, usdc("120")}, {1, Int(0)}},
                                                .insurance = {{0, Int(0)}, {1, Int(1)}},
                                                .bad_debt_value = usdc("120"),
                                                .user_equity = Int(0),
                                                .exogenous_applied = 7,
                                            });
  ASSERT_EQ(lab.actions[0].size(), 2u);
  EXPECT_EQ(lab.actions[0][0].account, kG);
  EXPECT_EQ(static_cast<int>(lab.actions[0][0].kind), static_cast<int>(LiquidationKind::Absorb));
  EXPECT_EQ(lab.actions[0][0].seq, 5u);
  EXPECT_TRUE(lab.actions[0][0].closed_out);
  EXPECT_EQ(lab.actions[0][1].account, kH);
  EXPECT_EQ(lab.actions[0][1].seq, 7u);
}

}  // namespace
}  // namespace liql
