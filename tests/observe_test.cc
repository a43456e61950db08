// Observe-mode tests (SPEC v2 §5.5, §5.6, §5.4), driven through JSON Lines.
//
// In observe mode the log is another system's history: what is physically
// possible is applied as recorded and the rules only judge it (verdicts,
// flags); what cannot be applied is INVALID_RECORD and leaves the state as it
// was. Every expected number is worked out by hand from SPEC.md, with the
// arithmetic in the comment next to it; none is copied from the program.
// Scenario (tests/scenario_util.h) checks conservation (incl. external[X]) and
// the perp base balance after every event, and that a rejected event changes
// nothing but seq/ts.
//
// Units: USDC 6 decimals (1 USDC = 10^6), ETH 18 (1 ETH = 10^18 wei), ETH-PERP
// base_decimals 9 (1 ETH = 10^9 base units, lot 0.001 = 10^6), DAI 6.
// Fees and shares: liquidation_fee 0.01, liquidator_share 0.5, insurance_share 0.3.

#include <gtest/gtest.h>

#include <string>

#include "event_lines.h"
#include "scenario_util.h"

namespace liql {
namespace {

using scenario::I;
using scenario::Scenario;
using namespace lines;

// ---- lines -----------------------------------------------------------------------

std::string genesis(const char* mode, const std::string& extra = "") {
  return std::string(R"({"type":"genesis","ts":0,"mode":")") + mode +
         R"(","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3")" +
         extra + "}";
}
const std::string kGenesisObserve = genesis("observe");
const std::string kGenesisEnforce = genesis("enforce");

// Observe mode: the recorded executed_base (and penalty, when given).
std::string recorded_perp(uint64_t ts, uint64_t liquidator, uint64_t account, uint32_t market,
                          const std::string& executed_base, const std::string& penalty = "") {
  std::string extra = R"(,"executed_base":)" + q(executed_base);
  if (!penalty.empty()) extra += R"(,"penalty":)" + q(penalty);
  return liquidate_perp(ts, liquidator, account, market, extra);
}
// Observe mode: the recorded repaid (liability units) and seized (collateral units).
std::string recorded_token(uint64_t ts, uint64_t liquidator, uint64_t account, uint32_t liability,
                           uint32_t collateral, const std::string& repaid, const std::string& seized) {
  return liquidate_token(ts, liquidator, account, liability, collateral,
                         R"(,"repaid":)" + q(repaid) + R"(,"seized":)" + q(seized));
}

// ---- fixtures ----------------------------------------------------------------------

// SPEC §8 lines in observe mode (partial policy): account 7 holds 1000 USDC and
// is long 4 ETH-PERP bought at 2000, account 8 (100000 USDC) is the short side.
// After the trade (cost 4·2000 = 8000 USDC, exact, no dust):
//   7: balance 1000·10^6, position (4·10^9, −8000·10^6)
//   8: balance 100000·10^6, position (−4·10^9, +8000·10^6)
void perp_setup(Scenario& s, const std::string& genesis_line = kGenesisObserve) {
  s.applied(genesis_line);
  s.applied(kListEth);
  s.applied(kListPerp);
  s.applied(price_market(1000, 1, "2000"));
  s.applied(price_asset(1000, 1, "2000"));
  s.applied(deposit(2000, 7, 0, "1000"));
  s.applied(deposit(2000, 8, 0, "100000"));
  const Outcome out = s.applied(trade(3000, 1, 7, 8, "4", "2000"));
  EXPECT_EQ(out.flags, 0u);
  EXPECT_EQ(s.held(7, 1).base, Int(4'000'000'000LL));
  EXPECT_EQ(s.held(7, 1).quote, Int(-8'000'000'000LL));
  EXPECT_EQ(s.held(8, 1).base, Int(-4'000'000'000LL));
  EXPECT_EQ(s.held(8, 1).quote, Int(8'000'000'000LL));
}

// The token scenario in observe mode: account 10 deposits 1 ETH at 2000 and
// borrows 1400 DAI (H_init = 1600 − 1540 = 60 ≥ 0: no flag); liquidator 20
// holds 10000 DAI. Then ETH falls to 1580:
//   H_maint  = 1580·0.9  − 1400·1.02 = 1422 − 1428 = −6 → LIQUIDATABLE
//   H_target = 1580·0.85 − 1400·1.05 = 1343 − 1470 = −127;  equity 180
// seize_exact(r) = r · 10^18 · 10^18 · 1.05·10^18 / (10^6 · 1580·10^18 · 10^18) = r · 105·10^9 / 158 wei,
// base part ⌊r · 10^12 / 1580⌋; r* = 806349210 (worked out in machine_test
// MachineToken: the observe rules of §5.2 for r* are those of enforce mode).
void token_setup(Scenario& s, const std::string& genesis_line = kGenesisObserve) {
  s.applied(genesis_line);
  s.applied(kListEth);
  s.applied(dai_spec("list_asset", true));
  s.applied(price_asset(1000, 1, "2000"));
  s.applied(price_asset(1000, 2, "1"));
  s.applied(deposit(2000, 10, 1, "1"));
  const Outcome out = s.applied(withdraw(2000, 10, 2, "1400"));
  EXPECT_EQ(out.flags, 0u);
  s.applied(deposit(2000, 20, 2, "10000"));
  s.applied(price_asset(3000, 1, "1580"));
  EXPECT_EQ(s.balance(10, 2), Int(-1'400'000'000LL));
}

constexpr long long kPerpUnit = 1'000'000'000;  // 1 ETH of ETH-PERP base

std::string verdict_of(const Outcome& out) { return std::string(verdict_name(out.audit->verdict)); }

// An observe-mode event that cannot be applied: INVALID_RECORD, state unchanged
// (Scenario::add checks that), and a liquidation's audit says so.
void expect_invalid_record(Scenario& s, const std::string& line) {
  const Outcome out = s.add(line);
  EXPECT_EQ(reason_name(out.reason), reason_name(Reason::InvalidRecord)) << line;
  EXPECT_EQ(out.flags, 0u) << line;
  if (out.audit) {
    EXPECT_EQ(verdict_name(out.audit->verdict), verdict_name(Verdict::InvalidRecord)) << line;
    EXPECT_EQ(reason_name(out.audit->reason), reason_name(Reason::InvalidRecord)) << line;
    EXPECT_FALSE(out.audit->executed.has_value()) << line;
    EXPECT_FALSE(out.audit->penalty.has_value()) << line;
    EXPECT_FALSE(out.audit->post.has_value()) << line;
  }
}

// ==== 1. WRONGFUL ===================================================================

// At 2000 account 7 is healthy: notional 8000, pnl 0, equity 1000,
//   H_init = 1000 − 800 = 200, H_target = 1000 − 600 = 400, H_maint = 1000 − 400 = 600,
//   HF_maint = WAD·1000/400 = 2.5·10^18.
// Recorded: liquidator 8 takes 1 ETH. T = 1·2000 = 2000 USDC, F = ⌈2000·0.01⌉ = 20 USDC
// → 10 / 6 / 4. Account 7: (3, −8000 + 2000 − 20 = −6020); post at 2000:
// notional 6000, pnl −20, equity 980, H_target = 980 − 450 = 530, H_maint = 980 − 300 = 680.
TEST(ObserveWrongful, HealthyAccountLiquidatedIsAppliedAsRecorded) {
  Scenario s;
  perp_setup(s);
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "1"));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Wrongful));
  EXPECT_EQ(a.flags, 0u);
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre->status, AccountStatus::Healthy);
  EXPECT_EQ(a.pre->equity, Int(1'000'000'000));
  EXPECT_EQ(a.pre->h_init, Int(200'000'000));
  EXPECT_EQ(a.pre->h_target, Int(400'000'000));
  EXPECT_EQ(a.pre->h_maint, Int(600'000'000));
  ASSERT_TRUE(a.pre->hf_maint);
  EXPECT_EQ(*a.pre->hf_maint, I("2500000000000000000"));
  EXPECT_EQ(a.executed.value(), Int(kPerpUnit));
  // "null for other verdicts" (§5.6): no excess figures for WRONGFUL.
  EXPECT_FALSE(a.excess_size.has_value());
  EXPECT_FALSE(a.excess_penalty.has_value());
  ASSERT_TRUE(a.penalty);
  EXPECT_EQ(a.penalty->total, Int(20'000'000));
  EXPECT_EQ(a.penalty->liquidator, Int(10'000'000));
  EXPECT_EQ(a.penalty->insurance, Int(6'000'000));
  EXPECT_EQ(a.penalty->treasury, Int(4'000'000));
  EXPECT_EQ(s.held(7, 1).base, Int(3 * kPerpUnit));
  EXPECT_EQ(s.held(7, 1).quote, Int(-6'020'000'000LL));
  EXPECT_EQ(s.balance(7, 0), Int(1'000'000'000));
  // Liquidator 8: (−4 + 1, 8000 − 2000) = (−3, 6000), balance 100000 + 10.
  EXPECT_EQ(s.held(8, 1).base, Int(-3 * kPerpUnit));
  EXPECT_EQ(s.held(8, 1).quote, Int(6'000'000'000LL));
  EXPECT_EQ(s.balance(8, 0), Int(100'010'000'000LL));
  EXPECT_EQ(s.funds(0).insurance, Int(6'000'000));
  EXPECT_EQ(s.funds(0).treasury, Int(4'000'000));
  ASSERT_TRUE(a.post);
  EXPECT_EQ(a.post->equity, Int(980'000'000));
  EXPECT_EQ(a.post->h_target, Int(530'000'000));
  EXPECT_EQ(a.post->h_maint, Int(680'000'000));
  EXPECT_EQ(a.post->status, AccountStatus::Healthy);
}

// MARGIN_CALL is not liquidatable either. At 1900: notional 7600, pnl −400, equity 600,
//   H_init = 600 − 760 = −160 < 0, H_maint = 600 − 380 = 220 ≥ 0 → MARGIN_CALL.
// Recorded 1 ETH: T = 1900, F = ⌈19⌉ = 19 USDC → 9.5 / 5.7 / 3.8;
// account 7: (3, −8000 + 1900 − 19 = −6119).
TEST(ObserveWrongful, MarginCallIsNotLiquidatable) {
  Scenario s;
  perp_setup(s);
  s.applied(price_market(4000, 1, "1900"));
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "1"));
  ASSERT_TRUE(out.audit && out.audit->pre);
  EXPECT_EQ(out.audit->pre->status, AccountStatus::MarginCall);
  EXPECT_EQ(out.audit->pre->h_init, Int(-160'000'000));
  EXPECT_EQ(out.audit->pre->h_maint, Int(220'000'000));
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Wrongful));
  EXPECT_EQ(out.audit->penalty->total, Int(19'000'000));
  EXPECT_EQ(out.audit->penalty->liquidator, Int(9'500'000));
  EXPECT_EQ(out.audit->penalty->insurance, Int(5'700'000));
  EXPECT_EQ(out.audit->penalty->treasury, Int(3'800'000));
  EXPECT_EQ(s.held(7, 1).base, Int(3 * kPerpUnit));
  EXPECT_EQ(s.held(7, 1).quote, Int(-6'119'000'000LL));
}

// ==== 2. OVER_LIMIT ===================================================================

// §8 at 1800 under partial: s* = 2.906 ETH = allowed (see MachineSpec8). Recorded 3.5 ETH:
//   excess_size = 3.5 − 2.906 = 0.594 ETH = 594000000
//   F(3.5)   = ⌈⌊3.5·1800⌋·0.01⌉ = ⌈6300·0.01⌉ = 63 USDC = 63000000 → 31.5 / 18.9 / 12.6
//   F(2.906) = ⌈5230.8·0.01⌉ = 52.308 USDC = 52308000
//   excess_penalty = 63000000 − 52308000 = 10692000
// Account 7: (0.5, −8000 + 6300 − 63 = −1763); post: notional 900, pnl −863, equity 137,
//   H_target = 137 − 67.5 = 69.5. Liquidator 8: (−0.5, 8000 − 6300 = 1700), balance 100031.5.
TEST(ObserveOverLimit, PerpBeyondSStarUnderPartial) {
  Scenario s;
  perp_setup(s);
  s.applied(price_market(4000, 1, "1800"));
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "3.5"));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre->h_maint, Int(-160'000'000));
  EXPECT_EQ(a.pre->status, AccountStatus::Liquidatable);
  EXPECT_EQ(a.required.value(), Int(2'906'000'000LL));
  EXPECT_EQ(a.allowed.value(), Int(2'906'000'000LL));
  EXPECT_EQ(a.executed.value(), Int(3'500'000'000LL));
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::OverLimit));
  EXPECT_EQ(a.flags, 0u);
  ASSERT_TRUE(a.excess_size && a.excess_penalty);
  EXPECT_EQ(*a.excess_size, Int(594'000'000));
  EXPECT_EQ(*a.excess_penalty, Int(10'692'000));
  ASSERT_TRUE(a.penalty);
  EXPECT_EQ(a.penalty->total, Int(63'000'000));
  EXPECT_EQ(a.penalty->liquidator, Int(31'500'000));
  EXPECT_EQ(a.penalty->insurance, Int(18'900'000));
  EXPECT_EQ(a.penalty->treasury, Int(12'600'000));
  EXPECT_EQ(s.held(7, 1).base, Int(500'000'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(-1'763'000'000LL));
  EXPECT_EQ(s.held(8, 1).base, Int(-500'000'000));
  EXPECT_EQ(s.held(8, 1).quote, Int(1'700'000'000LL));
  EXPECT_EQ(s.balance(8, 0), Int(100'031'500'000LL));
  ASSERT_TRUE(a.post);
  EXPECT_EQ(a.post->equity, Int(137'000'000));
  EXPECT_EQ(a.post->h_target, Int(69'500'000));
}

// The same with a recorded penalty of 70 USDC ≠ F(3.5) = 63: PENALTY_MISMATCH; 70 is
// taken and split (35 / 21 / 14), but excess_penalty stays F(3.5) − F(2.906) = 10692000.
// Account 7 quote −8000 + 6300 − 70 = −1770; liquidator balance 100000 + 35.
TEST(ObserveOverLimit, RecordedPenaltyDoesNotChangeExcessPenalty) {
  Scenario s;
  perp_setup(s);
  s.applied(price_market(4000, 1, "1800"));
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "3.5", "70"));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::OverLimit));
  EXPECT_EQ(a.flags, static_cast<uint32_t>(kFlagPenaltyMismatch));
  ASSERT_TRUE(a.excess_size && a.excess_penalty);
  EXPECT_EQ(*a.excess_size, Int(594'000'000));
  EXPECT_EQ(*a.excess_penalty, Int(10'692'000));
  EXPECT_EQ(a.penalty->total, Int(70'000'000));
  EXPECT_EQ(a.penalty->liquidator, Int(35'000'000));
  EXPECT_EQ(a.penalty->insurance, Int(21'000'000));
  EXPECT_EQ(a.penalty->treasury, Int(14'000'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(-1'770'000'000LL));
  EXPECT_EQ(s.balance(8, 0), Int(100'035'000'000LL));
  EXPECT_EQ(s.funds(0).insurance, Int(21'000'000));
  EXPECT_EQ(s.funds(0).treasury, Int(14'000'000));
}

// Token: r* = allowed = 806349210 (partial). Recorded repaid 900 DAI, seized ⌊seize_exact(900 DAI)⌋:
//   seize_exact(9·10^8) = 9·10^8·105·10^9/158 = 598101265822784810.13 → ⌊⌋ = 598101265822784810
//   base part ⌊9·10^20/1580⌋ = 569620253164556962 → bonus = 28481012658227848
//     insurance ⌊·0.3⌋ = 8544303797468354, liquidator share ⌊·0.5⌋ = 14240506329113924,
//     treasury 28481012658227848 − 14240506329113924 − 8544303797468354 = 5696202531645570
//   bonus(r*) = 25517380063291140 (MachineToken)
//   excess_size = 900000000 − 806349210 = 93650790
//   excess_penalty = 28481012658227848 − 25517380063291140 = 2963632594936708
// Account 10 gives exactly 598101265822784810 → ETH 401898734177215190; DAI −500·10^6.
// Liquidator 20 gets 598101265822784810 − 8544303797468354 − 5696202531645570 = 583860759493670886,
// DAI 10000 − 900 = 9100.
TEST(ObserveOverLimit, TokenRepaidBeyondRStar) {
  Scenario s;
  token_setup(s);
  const Outcome out = s.applied(recorded_token(4000, 20, 10, 2, 1, "900", "0.59810126582278481"));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.kind, LiquidationKind::Token);
  EXPECT_EQ(a.required.value(), Int(806'349'210));
  EXPECT_EQ(a.allowed.value(), Int(806'349'210));
  EXPECT_EQ(a.executed.value(), Int(900'000'000));
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::OverLimit));
  EXPECT_EQ(a.flags, 0u);
  ASSERT_TRUE(a.excess_size && a.excess_penalty);
  EXPECT_EQ(*a.excess_size, Int(93'650'790));
  EXPECT_EQ(*a.excess_penalty, I("2963632594936708"));
  ASSERT_TRUE(a.penalty && a.seized);
  EXPECT_EQ(*a.seized, I("598101265822784810"));
  EXPECT_EQ(a.penalty->total, I("28481012658227848"));
  EXPECT_EQ(a.penalty->liquidator, I("14240506329113924"));
  EXPECT_EQ(a.penalty->insurance, I("8544303797468354"));
  EXPECT_EQ(a.penalty->treasury, I("5696202531645570"));
  EXPECT_EQ(s.balance(10, 1), I("401898734177215190"));
  EXPECT_EQ(s.balance(10, 2), Int(-500'000'000));
  EXPECT_EQ(s.balance(20, 1), I("583860759493670886"));
  EXPECT_EQ(s.balance(20, 2), Int(9'100'000'000LL));
  EXPECT_EQ(s.funds(1).insurance, I("8544303797468354"));  // seized recorded: no dust
  EXPECT_EQ(s.funds(1).treasury, I("5696202531645570"));
}

// ==== 3. SEIZE_MISMATCH at the tolerance edges =========================================
//
// repaid 100 DAI (< r*: verdict UNDER): seize_exact = 10^8·105·10^9/158 = 66455696202531645.57,
//   ⌊⌋ = 66455696202531645; base part ⌊10^20/1580⌋ = 63291139240506329;
//   bonus 3164556962025316 → insurance 949367088607594, liquidator share 1582278481012658,
//   treasury 3164556962025316 − 1582278481012658 − 949367088607594 = 632911392405064.
// The account gives exactly `seized`; the liquidator gets
//   seized − 949367088607594 − 632911392405064 = seized − 1582278481012658.
// seize_tolerance 2 (default): |seized − ⌊seize_exact⌋| ≤ 2 → no flag, 3 → SEIZE_MISMATCH.

struct SeizeCase {
  const char* seized_text;  // ETH, whole units
  const char* seized;       // wei
  const char* account_eth;  // 10^18 − seized
  const char* liquidator_eth;
  bool flagged;
};

void expect_seizure(const SeizeCase& c, const std::string& genesis_line = kGenesisObserve) {
  SCOPED_TRACE(c.seized_text);
  Scenario s;
  token_setup(s, genesis_line);
  const Outcome out = s.applied(recorded_token(4000, 20, 10, 2, 1, "100", c.seized_text));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Under));
  EXPECT_EQ(a.flags, c.flagged ? static_cast<uint32_t>(kFlagSeizeMismatch) : 0u);
  EXPECT_EQ(a.executed.value(), Int(100'000'000));
  ASSERT_TRUE(a.seized && a.penalty);
  EXPECT_EQ(*a.seized, I(c.seized));
  // The bonus split comes from repaid, whatever was seized.
  EXPECT_EQ(a.penalty->total, I("3164556962025316"));
  EXPECT_EQ(a.penalty->liquidator, I("1582278481012658"));
  EXPECT_EQ(a.penalty->insurance, I("949367088607594"));
  EXPECT_EQ(a.penalty->treasury, I("632911392405064"));
  EXPECT_EQ(s.balance(10, 1), I(c.account_eth));
  EXPECT_EQ(s.balance(10, 2), Int(-1'300'000'000LL));
  EXPECT_EQ(s.balance(20, 1), I(c.liquidator_eth));
  EXPECT_EQ(s.balance(20, 2), Int(9'900'000'000LL));
  EXPECT_EQ(s.funds(1).insurance, I("949367088607594"));
  EXPECT_EQ(s.funds(1).treasury, I("632911392405064"));
}

TEST(ObserveSeizeMismatch, ExactFloorNoFlag) {
  expect_seizure({"0.066455696202531645", "66455696202531645", "933544303797468355", "64873417721518987", false});
}
TEST(ObserveSeizeMismatch, TwoAboveIsWithinTolerance) {
  expect_seizure({"0.066455696202531647", "66455696202531647", "933544303797468353", "64873417721518989", false});
}
TEST(ObserveSeizeMismatch, TwoBelowIsWithinTolerance) {
  expect_seizure({"0.066455696202531643", "66455696202531643", "933544303797468357", "64873417721518985", false});
}
TEST(ObserveSeizeMismatch, ThreeAboveIsFlagged) {
  expect_seizure({"0.066455696202531648", "66455696202531648", "933544303797468352", "64873417721518990", true});
}
TEST(ObserveSeizeMismatch, ThreeBelowIsFlagged) {
  expect_seizure({"0.066455696202531642", "66455696202531642", "933544303797468358", "64873417721518984", true});
}
// seize_tolerance 0 at genesis: one wei above ⌊seize_exact⌋ is already a mismatch.
TEST(ObserveSeizeMismatch, ToleranceZeroFlagsOneUnit) {
  const std::string zero = genesis("observe", R"(,"seize_tolerance":0)");
  expect_seizure({"0.066455696202531645", "66455696202531645", "933544303797468355", "64873417721518987", false},
                 zero);
  expect_seizure({"0.066455696202531646", "66455696202531646", "933544303797468354", "64873417721518988", true},
                 zero);
}

// ==== 4. PENALTY_MISMATCH (perp) ==========================================================

// §8 at 1800, recorded executed 2.906 = s* (MINIMAL) with penalty 50 USDC ≠ F = 52.308:
// 50 is taken and split 25 / 15 / 10. Account 7: (1.094, −8000 + 5230.8 − 50 = −2819.2);
// liquidator 8: (−1.094, 2769.2), balance 100025.
TEST(ObservePenaltyMismatch, RecordedPenaltyIsTakenAndSplit) {
  Scenario s;
  perp_setup(s);
  s.applied(price_market(4000, 1, "1800"));
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "2.906", "50"));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Minimal));
  EXPECT_EQ(a.flags, static_cast<uint32_t>(kFlagPenaltyMismatch));
  EXPECT_FALSE(a.excess_size.has_value());
  ASSERT_TRUE(a.penalty);
  EXPECT_EQ(a.penalty->total, Int(50'000'000));
  EXPECT_EQ(a.penalty->liquidator, Int(25'000'000));
  EXPECT_EQ(a.penalty->insurance, Int(15'000'000));
  EXPECT_EQ(a.penalty->treasury, Int(10'000'000));
  EXPECT_EQ(s.held(7, 1).base, Int(1'094'000'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(-2'819'200'000LL));
  EXPECT_EQ(s.held(8, 1).quote, Int(2'769'200'000LL));
  EXPECT_EQ(s.balance(8, 0), Int(100'025'000'000LL));
  EXPECT_EQ(s.funds(0).insurance, Int(15'000'000));
  EXPECT_EQ(s.funds(0).treasury, Int(10'000'000));
}

// A recorded penalty equal to the computed one (52.308) is no finding.
TEST(ObservePenaltyMismatch, EqualRecordedPenaltyNoFlag) {
  Scenario s;
  perp_setup(s);
  s.applied(price_market(4000, 1, "1800"));
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "2.906", "52.308"));
  ASSERT_TRUE(out.audit);
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Minimal));
  EXPECT_EQ(out.audit->flags, 0u);
  EXPECT_EQ(out.audit->penalty->total, Int(52'308'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(-2'821'508'000LL));
}

// ==== 5. INVALID_RECORD ===================================================================

TEST(ObserveInvalidRecord, PerpLiquidationThatCannotBeApplied) {
  Scenario s;
  perp_setup(s);
  s.applied(deposit(3500, 9, 0, "50"));  // account 9: no position
  s.applied(price_market(4000, 1, "1800"));
  expect_invalid_record(s, recorded_perp(5000, 8, 9, 1, "1"));        // no position in market 1
  expect_invalid_record(s, recorded_perp(5000, 8, 7, 1, "4.001"));    // beyond |base| = 4
  expect_invalid_record(s, recorded_perp(5000, 8, 7, 1, "1.0005"));   // not a multiple of lot 0.001
  expect_invalid_record(s, liquidate_perp(5000, 8, 7, 1));            // no executed_base recorded
  expect_invalid_record(s, recorded_perp(5000, 8, 7, 5, "1"));        // unknown market
  expect_invalid_record(s, recorded_perp(5000, 8, 99, 1, "1"));       // unknown account
  // The whole position (4, lot-aligned) is fine: applied.
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "4"));
  EXPECT_EQ(s.position(7, 1), nullptr);
  ASSERT_TRUE(out.audit);
  EXPECT_EQ(out.audit->executed.value(), Int(4 * kPerpUnit));
}

// seize/repaid bounds of §5.5: repaid in [1, |b_L|] = [1, 1400·10^6], seized in [0, b_C] = [0, 10^18].
TEST(ObserveInvalidRecord, TokenLiquidationThatCannotBeApplied) {
  Scenario s;
  token_setup(s);
  s.applied(deposit(3000, 11, 1, "1"));  // account 11: ETH, no debt
  expect_invalid_record(s, recorded_token(4000, 20, 10, 2, 1, "0", "0"));               // repaid < 1
  expect_invalid_record(s, recorded_token(4000, 20, 10, 2, 1, "1400.000001", "0.5"));   // repaid > |b_L|
  expect_invalid_record(s, recorded_token(4000, 20, 10, 2, 1, "100", "1.000000000000000001"));  // seized > b_C
  expect_invalid_record(s, recorded_token(4000, 20, 10, 1, 2, "100", "1"));    // no debt in ETH, no DAI held
  expect_invalid_record(s, recorded_token(4000, 20, 11, 2, 1, "100", "0.06"));  // account 11 owes no DAI
  expect_invalid_record(s, liquidate_token(4000, 20, 10, 2, 1, R"(,"repaid":"100")"));  // no seized recorded
  expect_invalid_record(s, recorded_token(4000, 20, 10, 7, 1, "100", "0.06"));  // unknown liability asset
  expect_invalid_record(s, recorded_token(4000, 20, 10, 2, 7, "100", "0.06"));  // unknown collateral asset
  expect_invalid_record(s, recorded_token(4000, 20, 99, 2, 1, "100", "0.06"));  // unknown account
  // The edges themselves are valid: repaid = |b_L| = 1400 and seized = b_C = 1 ETH.
  const Outcome out = s.applied(recorded_token(4000, 20, 10, 2, 1, "1400", "1"));
  EXPECT_EQ(s.balance(10, 2), Int(0));
  EXPECT_EQ(s.balance(10, 1), Int(0));
  ASSERT_TRUE(out.audit);
  EXPECT_EQ(out.audit->executed.value(), Int(1'400'000'000LL));
}

// §5.5: a liquidation of an account holding something that never had a price.
TEST(ObserveInvalidRecord, AccountHoldingAnUnpricedAsset) {
  Scenario s;
  perp_setup(s);
  s.applied(dai_spec("list_asset", true, 3500, 3));  // asset 3, never priced
  s.applied(deposit(3500, 7, 3, "5"));
  s.applied(price_market(4000, 1, "1800"));
  expect_invalid_record(s, recorded_perp(5000, 8, 7, 1, "1"));
}

// "an unknown id in any event type" is INVALID_RECORD in observe mode.
TEST(ObserveInvalidRecord, UnknownIdsInEveryEventType) {
  Scenario s;
  perp_setup(s);
  expect_invalid_record(s, withdraw(5000, 99, 0, "1"));             // unknown account
  expect_invalid_record(s, withdraw(5000, 7, 5, "1"));              // unknown asset
  expect_invalid_record(s, deposit(5000, 7, 5, "1"));               // unknown asset
  expect_invalid_record(s, insurance_deposit(5000, 5, "1"));        // unknown asset
  expect_invalid_record(s, trade(5000, 5, 7, 8, "1", "2000"));      // unknown market
  expect_invalid_record(s, price_market(5000, 5, "2000"));          // unknown market
  expect_invalid_record(s, price_asset(5000, 5, "2000"));           // unknown asset
  expect_invalid_record(s, dai_spec("set_asset", true, 5000, 5));   // unknown asset
  expect_invalid_record(s, sync_balance(5000, 7, 5, "1"));          // unknown asset
  expect_invalid_record(s, sync_position(5000, 7, 5, "1", "-10"));  // unknown market
  EXPECT_EQ(s.state().account(99), nullptr);
}

// ==== 6. observe flags on non-liquidation events ==========================================

// Account 7 at 2000: H_init = 200 (see ObserveWrongful). Withdrawing 300 USDC gives
// H_init = 700 − 800 = −100 < 0: applied, INSUFFICIENT_HEALTH.
TEST(ObserveFlags, WithdrawalBreakingInitHealth) {
  Scenario s;
  perp_setup(s);
  const Outcome out = s.applied(withdraw(4000, 7, 0, "300"));
  EXPECT_EQ(out.flags, static_cast<uint32_t>(kFlagInsufficientHealth));
  EXPECT_FALSE(out.audit.has_value());
  EXPECT_EQ(s.balance(7, 0), Int(700'000'000));
  // Exactly H_init = 0 is no finding: 200 more from the original 1000 would be 0.
  Scenario t;
  perp_setup(t);
  const Outcome edge = t.applied(withdraw(4000, 7, 0, "200"));
  EXPECT_EQ(edge.flags, 0u);
}

// DAI not borrowable, priced 1. Account 9: 1000 USDC + 100 DAI, withdraws 150 DAI →
// −50 DAI: NOT_BORROWABLE. H_init = 1000 − 50·1.1 = 945 ≥ 0: no health flag.
TEST(ObserveFlags, NonBorrowableBalanceGoingNegative) {
  Scenario s;
  s.applied(kGenesisObserve);
  s.applied(dai_spec("list_asset", false));
  s.applied(price_asset(1000, 2, "1"));
  s.applied(deposit(2000, 9, 0, "1000"));
  s.applied(deposit(2000, 9, 2, "100"));
  const Outcome out = s.applied(withdraw(3000, 9, 2, "150"));
  EXPECT_EQ(out.flags, static_cast<uint32_t>(kFlagNotBorrowable));
  EXPECT_EQ(s.balance(9, 2), Int(-50'000'000));
  // With nothing else held: −50 DAI more → −100 DAI, H_init = −110 → both flags.
  Scenario t;
  t.applied(kGenesisObserve);
  t.applied(dai_spec("list_asset", false));
  t.applied(price_asset(1000, 2, "1"));
  t.applied(deposit(2000, 9, 2, "100"));
  const Outcome both = t.applied(withdraw(3000, 9, 2, "200"));
  EXPECT_EQ(both.flags, static_cast<uint32_t>(kFlagNotBorrowable | kFlagInsufficientHealth));
  EXPECT_EQ(t.balance(9, 2), Int(-100'000'000));
}

// Oracle 2000, max_trade_deviation 0.05: the band is |p − 2000|·WAD ≤ 2000·0.05·WAD, i.e. [1900, 2100].
// 2100 is inside (no flag); 2100.01 is out: applied and flagged PRICE_OUT_OF_BAND.
// Buyer 20 pays 2100.01 for 1 ETH: quote −2100.01; seller 21 gets +2100.01.
TEST(ObserveFlags, TradeOutOfBand) {
  Scenario s;
  s.applied(kGenesisObserve);
  s.applied(kListPerp);
  s.applied(price_market(1000, 1, "2000"));
  s.applied(deposit(2000, 20, 0, "100000"));
  s.applied(deposit(2000, 21, 0, "100000"));
  const Outcome inside = s.applied(trade(3000, 1, 20, 21, "1", "2100"));
  EXPECT_EQ(inside.flags, 0u);
  const Outcome out = s.applied(trade(3000, 1, 20, 21, "1", "2100.01"));
  EXPECT_EQ(out.flags, static_cast<uint32_t>(kFlagPriceOutOfBand));
  EXPECT_EQ(s.held(20, 1).base, Int(2 * kPerpUnit));
  EXPECT_EQ(s.held(20, 1).quote, Int(-4'200'010'000LL));
  EXPECT_EQ(s.held(21, 1).quote, Int(4'200'010'000LL));
  const Outcome low = s.applied(trade(3000, 1, 20, 21, "-1", "1899.99"));
  EXPECT_EQ(low.flags, static_cast<uint32_t>(kFlagPriceOutOfBand));
}

// A stale price does not stop a recorded liquidation: it is judged at the stored price
// and flagged. ETH-PERP priced 1800 at ts 4000, max age 60 s; at ts 60004001 the price is
// 60000001 µs old. The figures are those of §8 at 1800: s* = 2.906, executed 2.906 → MINIMAL.
TEST(ObserveFlags, StalePriceLiquidationIsJudgedAtTheStoredPrice) {
  Scenario s;
  perp_setup(s);
  s.applied(price_market(4000, 1, "1800"));
  const Outcome out = s.applied(recorded_perp(60'004'001, 8, 7, 1, "2.906"));
  ASSERT_TRUE(out.audit && out.audit->pre && out.audit->price);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.price->age_us, 60'000'001u);
  EXPECT_EQ(a.flags, static_cast<uint32_t>(kFlagStaleOracle));
  EXPECT_EQ(a.pre->h_maint, Int(-160'000'000));
  EXPECT_EQ(a.required.value(), Int(2'906'000'000LL));
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Minimal));
  EXPECT_EQ(a.penalty->total, Int(52'308'000));
}

// §5.5: the liquidator is not checked, but its non-borrowable balance going negative is
// flagged INSUFFICIENT_BALANCE. DAI made non-borrowable; liquidator 21 (new, no DAI)
// repays 100 DAI → DAI −100·10^6; seized ⌊seize_exact(100 DAI)⌋ = 66455696202531645, of which
// it keeps 66455696202531645 − 949367088607594 − 632911392405064 = 64873417721518987 (see section 3).
TEST(ObserveFlags, LiquidatorNonBorrowableBalanceGoingNegative) {
  Scenario s;
  token_setup(s);
  s.applied(dai_spec("set_asset", false, 3000));
  const Outcome out = s.applied(recorded_token(4000, 21, 10, 2, 1, "100", "0.066455696202531645"));
  ASSERT_TRUE(out.audit);
  EXPECT_EQ(out.audit->flags, static_cast<uint32_t>(kFlagInsufficientBalance));
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Under));
  EXPECT_EQ(s.balance(21, 2), Int(-100'000'000));
  EXPECT_EQ(s.balance(21, 1), I("64873417721518987"));
  EXPECT_EQ(s.balance(10, 2), Int(-1'300'000'000LL));
}

// ==== 7. sync_balance / sync_position ======================================================

// Each sync sets the figure; the difference goes to external[X] (signed).
TEST(ObserveSync, BalanceSetsAndBooksTheDifference) {
  Scenario s;
  perp_setup(s);
  s.applied(sync_balance(4000, 7, 0, "1200"));  // +200
  EXPECT_EQ(s.balance(7, 0), Int(1'200'000'000));
  EXPECT_EQ(s.funds(0).external, Int(200'000'000));
  s.applied(sync_balance(4000, 7, 0, "900"));  // −300
  EXPECT_EQ(s.balance(7, 0), Int(900'000'000));
  EXPECT_EQ(s.funds(0).external, Int(-100'000'000));
  // A token balance, negative (interest on a debt): ETH 0 → −0.5; external[ETH] = −5·10^17.
  s.applied(sync_balance(4000, 7, 1, "-0.5"));
  EXPECT_EQ(s.balance(7, 1), I("-500000000000000000"));
  EXPECT_EQ(s.funds(1).external, I("-500000000000000000"));
  // Back to 0: the balance disappears; external[ETH] back to 0.
  s.applied(sync_balance(4000, 7, 1, "0"));
  EXPECT_EQ(s.balance(7, 1), Int(0));
  EXPECT_EQ(s.state().account(7)->balances.count(1), 0u);
  EXPECT_EQ(s.funds(1).external, Int(0));
}

TEST(ObserveSync, PositionSetsQuoteAndBase) {
  Scenario s;
  perp_setup(s);
  // Funding paid: quote −8000 → −8100, external[USDC] = −100.
  s.applied(sync_position(4000, 7, 1, "4", "-8100"));
  EXPECT_EQ(s.held(7, 1).base, Int(4 * kPerpUnit));
  EXPECT_EQ(s.held(7, 1).quote, Int(-8'100'000'000LL));
  EXPECT_EQ(s.funds(0).external, Int(-100'000'000));
  // A different size: (4, −8100) → (3, −6000): quote difference +2100 booked.
  s.applied(sync_position(4000, 7, 1, "3", "-6000"));
  EXPECT_EQ(s.held(7, 1).base, Int(3 * kPerpUnit));
  EXPECT_EQ(s.held(7, 1).quote, Int(-6'000'000'000LL));
  EXPECT_EQ(s.funds(0).external, Int(2'000'000'000LL));
  EXPECT_EQ(s.balance(7, 0), Int(1'000'000'000));
}

// base 0 removes the position and settles its quote into the quote balance:
// the source system closed it with +400 (quote after close). external[USDC] =
// 400 − (−8000) = 8400; balance 1000 + 400 = 1400.
TEST(ObserveSync, PositionToZeroSettlesQuote) {
  Scenario s;
  perp_setup(s);
  s.applied(sync_position(4000, 7, 1, "0", "400"));
  EXPECT_EQ(s.position(7, 1), nullptr);
  EXPECT_EQ(s.balance(7, 0), Int(1'400'000'000));
  EXPECT_EQ(s.funds(0).external, Int(8'400'000'000LL));
  // The counterparty's side likewise: (−4, 8000) → 0 with quote 7600 (closed at 2100):
  // external += 7600 − 8000 = −400 → 8000; balance 100000 + 7600.
  s.applied(sync_position(4000, 8, 1, "0", "7600"));
  EXPECT_EQ(s.position(8, 1), nullptr);
  EXPECT_EQ(s.balance(8, 0), Int(107'600'000'000LL));
  EXPECT_EQ(s.funds(0).external, Int(8'000'000'000LL));
}

TEST(ObserveSync, RejectedInEnforceMode) {
  Scenario s;
  perp_setup(s, kGenesisEnforce);
  s.rejected(sync_balance(4000, 7, 0, "1200"), Reason::InvalidRecord);
  s.rejected(sync_position(4000, 7, 1, "4", "-8100"), Reason::InvalidRecord);
  EXPECT_EQ(s.balance(7, 0), Int(1'000'000'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(-8'000'000'000LL));
  EXPECT_EQ(s.funds(0).external, Int(0));
}

// The next liquidation is judged on the synced state. §8 at 1800 with the quote synced
// to −8100 (funding 100 paid): notional 7200, pnl −900, balance 1000 →
//   equity 100, H_init = 100 − 720 = −620, H_target = 100 − 540 = −440, H_maint = 100 − 360 = −260
//   HF_maint = WAD·1000 / (360 + 900) = 793650793650793650.79… → 793650793650793650
// s*: closing s, T = 1800 s, F = 18 s; quote −8100 + 1782 s; pnl = 1800(4 − s) − 8100 + 1782 s
//   = −900 − 18 s; H_target(s) = 1000 − 900 − 18 s − 135(4 − s) = −440 + 117 s ≥ 0 ⇔ s ≥ 3.76068…
//   → s* = 3.761 (3.760: −0.08 USDC; 3.761: +0.037), 4 − 3.761 = 0.239 ≥ 0.01: no dust rule.
// (Unsynced it was 2.906.) Recorded 3.761: MINIMAL.
//   T = ⌊3761000000·1800·10^6/10^9⌋ = 6769800000; F = ⌈6769800000·0.01⌉ = 67698000
//   → 33849000 / 20309400 / 13539600.
// Account 7: (0.239, −8100 + 6769.8 − 67.698 = −1397.898); post: notional 430.2,
//   equity 1000 + 430.2 − 1397.898 = 32.302, H_target = 32.302 − 32.265 = 0.037 USDC = 37000.
TEST(ObserveSync, NextLiquidationSeesSyncedPosition) {
  Scenario s;
  perp_setup(s);
  s.applied(price_market(4000, 1, "1800"));
  s.applied(sync_position(4500, 7, 1, "4", "-8100"));
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "3.761"));
  ASSERT_TRUE(out.audit && out.audit->pre);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.pre->equity, Int(100'000'000));
  EXPECT_EQ(a.pre->h_init, Int(-620'000'000));
  EXPECT_EQ(a.pre->h_target, Int(-440'000'000));
  EXPECT_EQ(a.pre->h_maint, Int(-260'000'000));
  ASSERT_TRUE(a.pre->hf_maint);
  EXPECT_EQ(*a.pre->hf_maint, I("793650793650793650"));
  EXPECT_EQ(a.pre->status, AccountStatus::Liquidatable);
  EXPECT_EQ(a.required.value(), Int(3'761'000'000LL));
  EXPECT_EQ(a.allowed.value(), Int(3'761'000'000LL));
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Minimal));
  EXPECT_EQ(a.flags, 0u);
  EXPECT_EQ(a.closed_value.value(), Int(6'769'800'000LL));
  EXPECT_EQ(a.penalty->total, Int(67'698'000));
  EXPECT_EQ(a.penalty->liquidator, Int(33'849'000));
  EXPECT_EQ(a.penalty->insurance, Int(20'309'400));
  EXPECT_EQ(a.penalty->treasury, Int(13'539'600));
  EXPECT_EQ(s.held(7, 1).base, Int(239'000'000));
  EXPECT_EQ(s.held(7, 1).quote, Int(-1'397'898'000LL));
  ASSERT_TRUE(a.post);
  EXPECT_EQ(a.post->equity, Int(32'302'000));
  EXPECT_EQ(a.post->h_target, Int(37'000));
}

// The same with the balance synced to 900 instead: equity 900 − 800 = 100, the same
// H levels and s* = 3.761, but HF_maint = WAD·900 / (360 + 800) = 775862068965517241.37… .
TEST(ObserveSync, NextLiquidationSeesSyncedBalance) {
  Scenario s;
  perp_setup(s);
  s.applied(price_market(4000, 1, "1800"));
  s.applied(sync_balance(4500, 7, 0, "900"));
  const Outcome out = s.applied(recorded_perp(5000, 8, 7, 1, "3.761"));
  ASSERT_TRUE(out.audit && out.audit->pre);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.pre->equity, Int(100'000'000));
  EXPECT_EQ(a.pre->h_target, Int(-440'000'000));
  EXPECT_EQ(a.pre->h_maint, Int(-260'000'000));
  ASSERT_TRUE(a.pre->hf_maint);
  EXPECT_EQ(*a.pre->hf_maint, I("775862068965517241"));
  EXPECT_EQ(a.required.value(), Int(3'761'000'000LL));
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Minimal));
  // Post: (0.239, −8000 + 6769.8 − 67.698 = −1297.898), balance 900:
  // equity 900 + 430.2 − 1297.898 = 32.302, H_target 0.037.
  EXPECT_EQ(s.held(7, 1).quote, Int(-1'297'898'000LL));
  EXPECT_EQ(a.post->h_target, Int(37'000));
}

// ==== 7b. sync creates an unknown account (SPEC v2 §2, §5.5) =================================

TEST(ObserveSync, BalanceCreatesUnknownAccount) {
  Scenario s;
  perp_setup(s);
  ASSERT_EQ(s.state().account(50), nullptr);
  s.applied(sync_balance(4000, 50, 0, "10"));
  ASSERT_NE(s.state().account(50), nullptr);
  EXPECT_EQ(s.balance(50, 0), Int(10'000'000));
  EXPECT_EQ(s.funds(0).external, Int(10'000'000));
}

// sync_position on a new account 51: position (1, −2000), external[USDC] = −2000.
// (Its base is the only change in market 1: the harness books it as synced base.)
TEST(ObserveSync, PositionCreatesUnknownAccount) {
  Scenario s;
  perp_setup(s);
  s.applied(sync_position(4000, 51, 1, "1", "-2000"));
  ASSERT_NE(s.state().account(51), nullptr);
  EXPECT_EQ(s.held(51, 1).base, Int(kPerpUnit));
  EXPECT_EQ(s.held(51, 1).quote, Int(-2'000'000'000LL));
  EXPECT_EQ(s.funds(0).external, Int(-2'000'000'000LL));
}

// A sync rejected for an unknown market does not create the account (§2).
TEST(ObserveSync, RejectedSyncCreatesNothing) {
  Scenario s;
  perp_setup(s);
  expect_invalid_record(s, sync_position(4000, 52, 5, "1", "-2000"));
  expect_invalid_record(s, sync_balance(4000, 52, 5, "1"));
  EXPECT_EQ(s.state().account(52), nullptr);
}

// ==== 8. recorded absorb in observe mode (SPEC v2 §5.4) ====================================

const BankruptcyLine* line_of(const Bankruptcy& bankruptcy, AssetId asset) {
  for (const BankruptcyLine& line : bankruptcy.lines) {
    if (line.asset == asset) return &line;
  }
  return nullptr;
}

// Observe, ETH at 2000, DAI (borrowable) at 1. Account 30: 100 USDC, 1 ETH, borrows
// 500 DAI (H_init = 100 + 1600 − 550 = 1150 ≥ 0: no flag). insurance[DAI] = 200.
void absorb_setup(Scenario& s) {
  s.applied(kGenesisObserve);
  s.applied(kListEth);
  s.applied(dai_spec("list_asset", true));
  s.applied(kListPerp);
  s.applied(price_asset(1000, 1, "2000"));
  s.applied(price_asset(1000, 2, "1"));
  s.applied(price_market(1000, 1, "2000"));
  s.applied(deposit(2000, 30, 0, "100"));
  s.applied(deposit(2000, 30, 1, "1"));
  const Outcome borrow = s.applied(withdraw(2000, 30, 2, "500"));
  EXPECT_EQ(borrow.flags, 0u);
  s.applied(insurance_deposit(2000, 2, "200"));
}

// Account 30 is healthy (equity 100 + 2000 − 500 = 1600): WRONGFUL. It holds seizable
// value (ETH against the DAI debt: ⌈seize_exact(1)⌉ = ⌈1·1·10^18·1.05/(10^6·2000)⌉ =
// 525000000 wei ≤ 10^18; USDC likewise): NOT_EXHAUSTED. Close-out as recorded:
//   1. positives to insurance, ascending: insurance[USDC] += 100·10^6, insurance[ETH] += 10^18
//   2. DAI −500: insurance[DAI] 200 pays 200, bad_debt[DAI] += 300; balance 0.
// bankrupt {covered = value(200 DAI) = 200 USDC, bad_debt = value(300 DAI) = 300 USDC}.
TEST(ObserveAbsorb, HealthyAccountIsWrongfulAndNotExhausted) {
  Scenario s;
  absorb_setup(s);
  const Outcome out = s.applied(absorb(3000, 30));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.kind, LiquidationKind::Absorb);
  EXPECT_EQ(a.account, 30u);
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Wrongful));
  EXPECT_NE(a.flags & kFlagNotExhausted, 0u);
  EXPECT_NE(a.flags & kFlagBankruptcy, 0u);  // §5.4: the close-out is reported with BANKRUPTCY
  EXPECT_FALSE(a.required.has_value());
  EXPECT_FALSE(a.allowed.has_value());
  EXPECT_FALSE(a.executed.has_value());
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre->equity, Int(1'600'000'000LL));
  EXPECT_EQ(a.pre->status, AccountStatus::Healthy);
  ASSERT_TRUE(a.bankrupt);
  // Per asset, base units: the dust of step 1 (USDC 100·10^6, ETH 10^18) and the DAI debt.
  const BankruptcyLine* usdc = line_of(*a.bankrupt, 0);
  const BankruptcyLine* eth = line_of(*a.bankrupt, 1);
  const BankruptcyLine* dai = line_of(*a.bankrupt, 2);
  ASSERT_TRUE(usdc && eth && dai);
  EXPECT_EQ(usdc->dust, Int(100'000'000));
  EXPECT_EQ(eth->dust, I("1000000000000000000"));
  EXPECT_EQ(dai->dust, Int(0));
  EXPECT_EQ(dai->covered, Int(200'000'000));
  EXPECT_EQ(dai->bad_debt, Int(300'000'000));
  EXPECT_EQ(usdc->covered + usdc->bad_debt + eth->covered + eth->bad_debt, Int(0));
  EXPECT_EQ(a.bankrupt->covered_value, Int(200'000'000));
  EXPECT_EQ(a.bankrupt->bad_debt_value, Int(300'000'000));
  ASSERT_NE(s.state().account(30), nullptr);
  EXPECT_TRUE(s.state().account(30)->balances.empty());
  EXPECT_EQ(s.funds(0).insurance, Int(100'000'000));
  EXPECT_EQ(s.funds(1).insurance, I("1000000000000000000"));
  EXPECT_EQ(s.funds(2).insurance, Int(0));
  EXPECT_EQ(s.funds(2).bad_debt, Int(300'000'000));
}

// Account 31: 10 USDC, withdraws 60 → −50 USDC (USDC is not borrowable: flagged, applied).
// Bankrupt (equity −50) and exhausted (nothing positive): ABSORBED, BANKRUPTCY;
// insurance[USDC] = 20 pays 20, bad debt 30.
TEST(ObserveAbsorb, BankruptExhaustedAccountIsAbsorbed) {
  Scenario s;
  absorb_setup(s);
  s.applied(deposit(2000, 31, 0, "10"));
  const Outcome w = s.applied(withdraw(2000, 31, 0, "60"));
  EXPECT_EQ(w.flags, static_cast<uint32_t>(kFlagNotBorrowable | kFlagInsufficientHealth));
  s.applied(insurance_deposit(2000, 0, "20"));
  const Outcome out = s.applied(absorb(3000, 31));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.kind, LiquidationKind::Absorb);
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Absorbed));
  EXPECT_EQ(a.flags, static_cast<uint32_t>(kFlagBankruptcy));
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre->equity, Int(-50'000'000));
  EXPECT_EQ(a.pre->status, AccountStatus::Bankrupt);
  ASSERT_TRUE(a.bankrupt);
  ASSERT_EQ(a.bankrupt->lines.size(), 1u);
  EXPECT_EQ(a.bankrupt->lines[0].asset, 0u);
  EXPECT_EQ(a.bankrupt->lines[0].covered, Int(20'000'000));
  EXPECT_EQ(a.bankrupt->lines[0].bad_debt, Int(30'000'000));
  EXPECT_TRUE(s.state().account(31)->balances.empty());
  EXPECT_EQ(s.funds(0).insurance, Int(0));
  EXPECT_EQ(s.funds(0).bad_debt, Int(30'000'000));
}

// Account 32: 10 USDC + 0.1 ETH (200 USDC at 2000), withdraws 310 USDC → −300 USDC:
// equity −300 + 200 = −100 → BANKRUPT, but the ETH is seizable (⌈seize_exact(1)⌉ =
// 525000000 ≤ 10^17): ABSORBED with NOT_EXHAUSTED. 0.1 ETH → insurance[ETH];
// USDC −300: insurance[USDC] is 0 → bad debt 300.
TEST(ObserveAbsorb, BankruptButNotExhaustedIsFlagged) {
  Scenario s;
  absorb_setup(s);
  s.applied(deposit(2000, 32, 0, "10"));
  s.applied(deposit(2000, 32, 1, "0.1"));
  s.applied(withdraw(2000, 32, 0, "310"));
  const Outcome out = s.applied(absorb(3000, 32));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Absorbed));
  EXPECT_EQ(a.flags, static_cast<uint32_t>(kFlagNotExhausted | kFlagBankruptcy));
  EXPECT_EQ(a.pre->status, AccountStatus::Bankrupt);
  EXPECT_EQ(a.pre->equity, Int(-100'000'000));
  EXPECT_TRUE(s.state().account(32)->balances.empty());
  EXPECT_EQ(s.funds(1).insurance, I("100000000000000000"));
  EXPECT_EQ(s.funds(0).bad_debt, Int(300'000'000));
  ASSERT_TRUE(a.bankrupt);
  EXPECT_EQ(a.bankrupt->bad_debt_value, Int(300'000'000));
  EXPECT_EQ(a.bankrupt->covered_value, Int(0));
}

// A healthy account without any debt (100 USDC): WRONGFUL, and the close-out as recorded
// moves the 100 USDC to insurance[USDC]. Whether NOT_EXHAUSTED applies is left open here:
// §5.4 defines exhaustion over (negative L, positive C) pairs, and with no debt there is
// none, so by the letter it is "exhausted" although it held value (reported as a SPEC gap).
TEST(ObserveAbsorb, HealthyAccountWithoutDebtIsWrongful) {
  Scenario s;
  absorb_setup(s);
  s.applied(deposit(2000, 36, 0, "100"));
  const Outcome out = s.applied(absorb(3000, 36));
  ASSERT_TRUE(out.audit);
  EXPECT_EQ(out.audit->kind, LiquidationKind::Absorb);
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Wrongful));
  EXPECT_EQ(out.audit->pre->status, AccountStatus::Healthy);
  EXPECT_TRUE(s.state().account(36)->balances.empty());
  EXPECT_EQ(s.funds(0).insurance, Int(100'000'000));
  EXPECT_EQ(s.funds(0).bad_debt, Int(0));
}

TEST(ObserveAbsorb, InvalidRecords) {
  Scenario s;
  absorb_setup(s);
  // An account holding a perp position cannot be absorbed.
  s.applied(deposit(2000, 33, 0, "1000"));
  s.applied(deposit(2000, 34, 0, "1000"));
  s.applied(trade(2500, 1, 33, 34, "1", "2000"));
  expect_invalid_record(s, absorb(3000, 33));
  // An unknown account.
  expect_invalid_record(s, absorb(3000, 99));
  EXPECT_EQ(s.state().account(99), nullptr);
  // An account holding an asset that never had a price.
  s.applied(dai_spec("list_asset", true, 3000, 3));
  s.applied(deposit(3000, 35, 3, "1"));
  s.applied(withdraw(3000, 35, 0, "5"));
  expect_invalid_record(s, absorb(3000, 35));
  // Each audit is of kind absorb.
  const Outcome out = s.add(absorb(3000, 99));
  ASSERT_TRUE(out.audit);
  EXPECT_EQ(out.audit->kind, LiquidationKind::Absorb);
}

// ==== 9. absorb in enforce mode (SPEC v2 §5.4) ============================================
//
// Enforce, §8 setup plus insurance[USDC] = 150 and, for account 7, `eth` ETH deposited.
// At 1700 account 7 (long 4 at −8000) sells 4 to account 8 at 1700 (= oracle, in band):
//   7: quote −8000 + 6800 = −1200 settles: USDC 1000 − 1200 = −200; no position.
//      H_init before = 1000 − 1200 − 680 + eth term, after = −200 + eth term: not lower → applied.
//   8: (−4, 8000) buys back 4 for 6800: quote 1200 settles → 101200 USDC.
void realised_loss_setup(Scenario& s, const std::string& eth = "") {
  s.applied(kGenesisEnforce);
  s.applied(kListEth);
  s.applied(kListPerp);
  s.applied(price_market(1000, 1, "2000"));
  s.applied(price_asset(1000, 1, "2000"));
  s.applied(deposit(2000, 7, 0, "1000"));
  if (!eth.empty()) s.applied(deposit(2000, 7, 1, eth));
  s.applied(deposit(2000, 8, 0, "100000"));
  s.applied(insurance_deposit(2000, 0, "150"));
  s.applied(trade(3000, 1, 7, 8, "4", "2000"));
  s.applied(price_market(4000, 1, "1700"));
  s.applied(trade(5000, 1, 7, 8, "-4", "1700"));
  EXPECT_EQ(s.position(7, 1), nullptr);
  EXPECT_EQ(s.balance(7, 0), Int(-200'000'000));
  EXPECT_EQ(s.position(8, 1), nullptr);
  EXPECT_EQ(s.balance(8, 0), Int(101'200'000'000LL));
}

// Account 7: −200 USDC only → equity −200, BANKRUPT; exhausted (nothing positive).
// No liquidation can touch it (no position, no collateral). Absorb: insurance 150
// covers 150, bad debt 50.
TEST(EnforceAbsorb, RealisedLossIsAbsorbed) {
  Scenario s;
  realised_loss_setup(s);
  s.rejected(liquidate_perp(6000, 8, 7, 1), Reason::NothingToLiquidate);
  const Outcome out = s.applied(absorb(6000, 7));
  ASSERT_TRUE(out.audit);
  const LiquidationAudit& a = *out.audit;
  EXPECT_EQ(a.kind, LiquidationKind::Absorb);
  EXPECT_EQ(a.account, 7u);
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Absorbed));
  EXPECT_EQ(a.flags, static_cast<uint32_t>(kFlagBankruptcy));
  EXPECT_FALSE(a.required.has_value());
  EXPECT_FALSE(a.allowed.has_value());
  EXPECT_FALSE(a.executed.has_value());
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre->equity, Int(-200'000'000));
  EXPECT_EQ(a.pre->status, AccountStatus::Bankrupt);
  ASSERT_TRUE(a.bankrupt);
  ASSERT_EQ(a.bankrupt->lines.size(), 1u);
  EXPECT_EQ(a.bankrupt->lines[0].asset, 0u);
  EXPECT_EQ(a.bankrupt->lines[0].covered, Int(150'000'000));
  EXPECT_EQ(a.bankrupt->lines[0].bad_debt, Int(50'000'000));
  EXPECT_EQ(a.bankrupt->covered_value, Int(150'000'000));
  EXPECT_EQ(a.bankrupt->bad_debt_value, Int(50'000'000));
  EXPECT_EQ(s.funds(0).insurance, Int(0));
  EXPECT_EQ(s.funds(0).bad_debt, Int(50'000'000));
  ASSERT_NE(s.state().account(7), nullptr);
  EXPECT_TRUE(s.state().account(7)->balances.empty());
  // Absorbed once, it is no longer bankrupt (equity 0): a second absorb is NOT_LIQUIDATABLE.
  s.rejected(absorb(6000, 7), Reason::NotLiquidatable);
}

TEST(EnforceAbsorb, UnknownAccount) {
  Scenario s;
  realised_loss_setup(s);
  const Outcome out = s.rejected(absorb(6000, 99), Reason::UnknownAccount);
  ASSERT_TRUE(out.audit);
  EXPECT_EQ(out.audit->kind, LiquidationKind::Absorb);
  EXPECT_EQ(s.state().account(99), nullptr);
}

// Account 7 also holds 0.01 ETH, last priced at ts 1000 (max age 60 s): at ts
// 60001001 the ETH price is 60000001 µs old → STALE_ORACLE, before any status check.
TEST(EnforceAbsorb, StaleOracle) {
  Scenario s;
  realised_loss_setup(s, "0.01");
  s.rejected(absorb(60'001'001, 7), Reason::StaleOracle);
}

// Not BANKRUPT → NOT_LIQUIDATABLE: a healthy account (8), and a LIQUIDATABLE one that is
// not bankrupt (§8 account 7 at 1800: equity 200 ≥ 0, H_maint −160).
TEST(EnforceAbsorb, NotBankruptIsNotLiquidatable) {
  Scenario s;
  realised_loss_setup(s);
  s.rejected(absorb(6000, 8), Reason::NotLiquidatable);
  Scenario t;
  t.applied(kGenesisEnforce);
  t.applied(kListPerp);
  t.applied(price_market(1000, 1, "2000"));
  t.applied(deposit(2000, 7, 0, "1000"));
  t.applied(deposit(2000, 8, 0, "100000"));
  t.applied(trade(3000, 1, 7, 8, "4", "2000"));
  t.applied(price_market(4000, 1, "1800"));
  t.rejected(absorb(5000, 7), Reason::NotLiquidatable);
  // At 1500 it is BANKRUPT (equity 1000 − 2000 = −1000) but holds a position: NOT_EXHAUSTED.
  t.applied(price_market(6000, 1, "1500"));
  t.rejected(absorb(7000, 7), Reason::NotExhausted);
}

// Exhaustion edge: seizable iff ⌈seize_exact(1)⌉ ≤ b_C, with L = USDC, C = ETH at 2000:
//   seize_exact(1) = 1·10^18·10^18·1.05·10^18 / (10^6·2000·10^18·10^18) = 525000000 wei (exact).
// b_C = 525000000 wei: seizable → NOT_EXHAUSTED (equity −200 + ⌊525000000·2000/10^12⌋ = −199.999999).
TEST(EnforceAbsorb, SeizableCollateralIsNotExhausted) {
  Scenario s;
  realised_loss_setup(s, "0.000000000525");
  EXPECT_EQ(s.balance(7, 1), Int(525'000'000));
  s.rejected(absorb(6000, 7), Reason::NotExhausted);
}

// b_C = 524999999 wei: ⌈seize_exact(1)⌉ = 525000000 > b_C → exhausted → absorbed; the dust
// (524999999 wei) moves to insurance[ETH]; USDC −200: 150 covered, 50 bad debt.
TEST(EnforceAbsorb, UnseizableDustIsAbsorbed) {
  Scenario s;
  realised_loss_setup(s, "0.000000000524999999");
  const Outcome out = s.applied(absorb(6000, 7));
  ASSERT_TRUE(out.audit);
  EXPECT_EQ(verdict_of(out), verdict_name(Verdict::Absorbed));
  EXPECT_EQ(out.audit->flags, static_cast<uint32_t>(kFlagBankruptcy));
  EXPECT_TRUE(s.state().account(7)->balances.empty());
  EXPECT_EQ(s.funds(1).insurance, Int(524'999'999));
  EXPECT_EQ(s.funds(0).insurance, Int(0));
  EXPECT_EQ(s.funds(0).bad_debt, Int(50'000'000));
  ASSERT_TRUE(out.audit->bankrupt);
  EXPECT_EQ(out.audit->bankrupt->covered_value, Int(150'000'000));
  EXPECT_EQ(out.audit->bankrupt->bad_debt_value, Int(50'000'000));
}

}  // namespace
}  // namespace liql
