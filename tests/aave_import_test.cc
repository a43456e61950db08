// The Aave and Chainlink importers (replay/aave_import.h, docs/IMPORT.md).
//
// Every input here is hand-made from the events' ABIs (no copied data), and
// every expected number is worked out by hand from SPEC.md and Aave's ray and
// percentage arithmetic, with the arithmetic next to it.
//
// tests/data/aave/market.json: quote USD (8 decimals); reserve 0 WETH (18
// decimals, LT 82.5 %, bonus 105 %, no protocol fee) → assets 1 (supply) and
// 2 (debt); reserve 1 USDC (6 decimals, LT 78 %, bonus 104.5 %, fee 10 % of
// the bonus) → assets 3 and 4; the close factor 0.5, full below HF 0.95.
// crash.jsonl: Alice (account 1) supplies 10 WETH at 2000 and borrows 15000
// USDC from Bob's (2) supply; WETH falls to 1800; Carol (3) repays 7500 USDC
// and takes 4.375 WETH.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "replay/aave_import.h"
#include "replay/replay.h"
#include "tests/cli_run.h"

namespace liql {
namespace {

using testing::ScratchDir;
using testing::slurp;

const std::string kData = std::string(LIQL_SOURCE_DIR) + "/tests/data/aave/";
const std::string kPool = "0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2";
const std::string kWeth = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2";
const std::string kUsdc = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const std::string kEthFeed = "0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419";
const std::string kUsdcFeed = "0x8fffffd4afb6115b954bd326cbe7b4ba576818f6";
const std::string kAlice = "0x00000000000000000000000000000000000a11ce";
const std::string kBob = "0x0000000000000000000000000000000000000b0b";
const std::string kCarol = "0x00000000000000000000000000000000000ca201";
const std::string kTreasury = "0x464c71f6c2f760dda6093dcb91c24c39e5d6e18c";
const std::string kUsdcAToken = "0x98c23e9d8f34fefb1b7bd6a91b7ff122f4e16f5c";
const std::string kRay = "1000000000000000000000000000";

AaveMarket market(const std::string& edit_from = "", const std::string& edit_to = "") {
  std::string text = slurp(kData + "market.json");
  if (!edit_from.empty()) text.replace(text.find(edit_from), edit_from.size(), edit_to);
  AaveMarket m;
  std::string error;
  EXPECT_TRUE(parse_aave_market(text, &m, &error)) << error;
  return m;
}

// One decoded log as the JSON Lines input has it.
std::string evm(uint64_t block, uint64_t index, uint64_t timestamp, const std::string& address,
                const std::string& event, const std::string& args) {
  return "{\"block\":" + std::to_string(block) + ",\"log_index\":" + std::to_string(index) +
         ",\"timestamp\":" + std::to_string(timestamp) + ",\"address\":\"" + address + "\",\"event\":\"" + event +
         "\",\"args\":{" + args + "}}\n";
}
std::string reserve_update(uint64_t block, uint64_t ts, const std::string& reserve, const std::string& liquidity_index,
                           const std::string& borrow_index, const std::string& borrow_rate = "0") {
  return evm(block, 0, ts, kPool, "ReserveDataUpdated",
             "\"reserve\":\"" + reserve + "\",\"liquidityRate\":\"0\",\"stableBorrowRate\":\"0\",\"variableBorrowRate\":\"" +
                 borrow_rate + "\",\"liquidityIndex\":\"" + liquidity_index + "\",\"variableBorrowIndex\":\"" +
                 borrow_index + "\"");
}
std::string pool(uint64_t block, uint64_t index, uint64_t ts, const std::string& event, const std::string& args) {
  return evm(block, index, ts, kPool, event, args);
}
std::string answer(uint64_t block, uint64_t index, uint64_t ts, const std::string& feed, const std::string& current) {
  return evm(block, index, ts, feed, "AnswerUpdated",
             "\"current\":\"" + current + "\",\"roundId\":\"" + std::to_string(ts) + "\",\"updatedAt\":\"" + std::to_string(ts) + "\"");
}
std::string liquidation_call(uint64_t block, uint64_t ts, const std::string& to_cover, const std::string& collateral,
                             const std::string& debt_asset = kUsdc, const std::string& collateral_asset = kWeth,
                             uint64_t index = 1) {
  return pool(block, index, ts, "LiquidationCall",
              "\"collateralAsset\":\"" + collateral_asset + "\",\"debtAsset\":\"" + debt_asset + "\",\"user\":\"" +
                  kAlice + "\",\"debtToCover\":\"" + to_cover + "\",\"liquidatedCollateralAmount\":\"" + collateral +
                  "\",\"liquidator\":\"" + kCarol + "\",\"receiveAToken\":false");
}

ImportResult import(const std::string& text, const AaveMarket& m = market(), const ImportInput* prices = nullptr) {
  ImportResult result;
  ImportError error;
  AaveImportOptions options;
  options.prices = prices;
  EXPECT_TRUE(import_aave(m, {ImportInput{"events.jsonl", text}}, options, &result, &error)) << error.to_string();
  return result;
}

ImportError refusal(const std::string& text, const AaveMarket& m = market()) {
  ImportResult result;
  ImportError error;
  EXPECT_FALSE(import_aave(m, {ImportInput{"events.jsonl", text}}, {}, &result, &error)) << "accepted:\n" << text;
  return error;
}

// The log through the state machine; every line must be accepted.
MemoryRun run(const ImportResult& result) {
  MemoryRun run;
  InputError error;
  EXPECT_TRUE(run.add_text(result.jsonl, &error)) << error.to_string();
  return run;
}

const LiquidationAudit& only_audit(const MemoryRun& run) {
  const LiquidationAudit* found = nullptr;
  for (const Outcome& outcome : run.outcomes()) {
    if (outcome.audit) {
      EXPECT_EQ(found, nullptr) << "more than one audit record";
      found = &*outcome.audit;
    }
  }
  EXPECT_NE(found, nullptr);
  static LiquidationAudit none;
  return found ? *found : none;
}

std::string crash() { return slurp(kData + "crash.jsonl"); }
std::string with(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

// ---- the crash history, audited ------------------------------------------------------

TEST(AaveImport, CrashHistoryAuditedByHand) {
  const ImportResult result = import(crash());
  EXPECT_EQ(result.events, 11u);
  EXPECT_EQ(result.addresses, (std::vector<std::string>{kAlice, kBob, kCarol}));  // ids by first appearance
  const MemoryRun machine = run(result);
  const LiquidationAudit& a = only_audit(machine);
  EXPECT_EQ(a.account, 1u);
  EXPECT_EQ(a.liquidator, 3u);
  // At 1800, Alice's collateral counts 10·1800·0.825 = 14850 USD against 15000 of
  // debt: H_maint = −150 USD = −150·10^8, HF = 14850/15000 = 0.99 (Aave's too).
  ASSERT_TRUE(a.pre);
  EXPECT_EQ(a.pre->h_maint, Int(-15'000'000'000LL));
  EXPECT_EQ(*a.pre->hf_maint, Int(990'000'000'000'000'000LL));
  EXPECT_EQ(a.pre->equity, Int(300'000'000'000LL));  // 18000 − 15000 USD
  // r*: repaying r USDC base units takes s = ⌈r·10^12·1.05/1800⌉ = ⌈r·1.75·10^9/3⌉ wei, so
  // H_target(r) = ⌊(10^19 − s)·1485/10^10⌋ − 100·(15·10^9 − r) ≈ −1.5·10^10 + 13.375·r,
  // ≥ 0 from r = 1121495327.1… on: r* = 1121495328 (1121.495328 USDC).
  EXPECT_EQ(*a.required, Int(1'121'495'328));
  // HF 0.99 ≥ 0.95: the close factor allows cdiv(15000·10^6 · 0.5) = 7500 USDC.
  EXPECT_EQ(*a.allowed, Int(7'500'000'000LL));
  EXPECT_EQ(*a.executed, Int(7'500'000'000LL));
  EXPECT_EQ(a.verdict, Verdict::AllowedExcess);
  // Seized 7500·1.05/1800 = 4.375 WETH, exactly ⌊seize_exact⌋: no SEIZE_MISMATCH.
  EXPECT_EQ(*a.seized, Int(4'375'000'000'000'000'000LL));
  EXPECT_EQ(a.flags & kFlagSeizeMismatch, 0u);
  // Bonus part 4.375·10^18 − ⌊7500·10^18/1800⌋ = 4375000000000000000 − 4166666666666666666;
  // WETH's protocol fee is 0, so all of it is the liquidator's.
  EXPECT_EQ(a.penalty->total, Int(208'333'333'333'333'334LL));
  EXPECT_EQ(a.penalty->liquidator, a.penalty->total);
  // After: 5.625 WETH at 1800 → 10125·0.825 = 8353.125 USD against 7500: HF 1.11375.
  EXPECT_EQ(*a.post->hf_maint, Int(1'113'750'000'000'000'000LL));
  // Carol brought the 7500 USDC from outside and withdrew her WETH (receiveAToken
  // false): a deposit before the liquidation, a sync to Aave's 0 after it.
  const State& s = machine.machine().state();
  EXPECT_EQ(s.account(3)->balance(1), Int(0));
  EXPECT_EQ(s.account(3)->balance(4), Int(0));
  EXPECT_EQ(s.account(1)->balance(4), Int(-7'500'000'000LL));
}

TEST(AaveImport, SeizeMismatchBeyondTheToleranceOnly) {
  // liquidatedCollateralAmount 3 wei off ⌊seize_exact(7500 USDC)⌋ = 4375000000000000000
  // is beyond seize_tolerance 2: flagged; 2 wei off is not.
  const LiquidationAudit three = only_audit(run(import(with(crash(), "4375000000000000000", "4375000000000000003"))));
  EXPECT_NE(three.flags & kFlagSeizeMismatch, 0u);
  EXPECT_EQ(*three.seized, Int(4'375'000'000'000'000'003LL));
  const LiquidationAudit two = only_audit(run(import(with(crash(), "4375000000000000000", "4374999999999999998"))));
  EXPECT_EQ(two.flags & kFlagSeizeMismatch, 0u);
}

TEST(AaveImport, LiquidationOfAHealthyAccountIsWrongful) {
  // Without the fall to 1800, Alice's HF is 10·2000·0.825/15000 = 1.1: not liquidatable.
  std::string text = crash();
  const size_t fall = text.find("\"current\":\"180000000000\"");
  const size_t start = text.rfind('\n', fall) + 1, end = text.find('\n', fall) + 1;
  text.erase(start, end - start);
  const LiquidationAudit a = only_audit(run(import(text)));
  EXPECT_EQ(a.verdict, Verdict::Wrongful);
  EXPECT_EQ(*a.pre->hf_maint, Int(1'100'000'000'000'000'000LL));
}

TEST(AaveImport, CsvTablesAndJsonLinesGiveTheSameLogByteForByte) {
  std::vector<ImportInput> tables;
  for (const char* name : {"Pool_evt_Supply.csv", "Pool_evt_ReserveDataUpdated.csv", "Pool_evt_Borrow.csv",
                           "Pool_evt_LiquidationCall.csv", "answers.csv"}) {
    tables.push_back({name, slurp(kData + name)});
  }
  ImportResult from_csv;
  ImportError error;
  ASSERT_TRUE(import_aave(market(), tables, {}, &from_csv, &error)) << error.to_string();
  EXPECT_EQ(from_csv.jsonl, import(crash()).jsonl);
  EXPECT_GT(from_csv.lines, 10u);
}

TEST(AaveImport, KeyOrderExtraKeysAndNestedArgumentsDoNotChangeTheLog) {
  // The reader takes the common line shape without building a JSON tree and
  // falls back to the tree for anything else (here: a nested argument value);
  // key order and extra top-level keys (a transaction hash) change nothing.
  std::string reordered;
  std::istringstream in(crash());
  size_t n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    const size_t args = line.find(",\"args\":");
    std::string moved = "{\"tx_hash\":\"0xab\"," + line.substr(args + 1, line.size() - args - 2) + "," +
                        line.substr(1, args - 1) + "}";
    if (n == 3) moved.insert(moved.find("\"amount\""), "\"extra\":{\"nested\":[1,2]},");
    reordered += moved + "\n";
  }
  EXPECT_NE(reordered.find("{\"tx_hash\":\"0xab\",\"args\":{"), std::string::npos) << reordered;
  EXPECT_EQ(import(reordered).jsonl, import(crash()).jsonl);
  // Spaces around the punctuation, and a string with a JSON escape (\u0030 is
  // '0': read by the tree), give the same log too.
  std::string spaced = with(crash(), "{\"block\":101,\"log_index\":1,", "{ \"block\" : 101 , \"log_index\" :1,");
  spaced = with(spaced, "\"amount\":\"10000000000000000000\"", "\"amount\":\"\\u00310000000000000000000\"");
  EXPECT_NE(spaced.find("\\u0031"), std::string::npos);
  EXPECT_EQ(import(spaced).jsonl, import(crash()).jsonl);
  // A block number that is not an unsigned integer is refused the same way
  // whether or not it looks like one (1e2, -1, 1.0).
  for (const char* block : {"1e2", "-1", "1.0", "01"}) {
    const ImportError error = refusal(with(crash(), "{\"block\":100,", std::string("{\"block\":") + block + ","));
    EXPECT_EQ(error.error.line, 1u) << block;
    EXPECT_EQ(error.error.field, std::string(block) == "01" ? "" : "block") << block << ": " << error.to_string();
  }
}

// ---- interest ------------------------------------------------------------------------

TEST(AaveImport, SupplyInterestOverTwoIndexUpdatesWithAavesRounding) {
  const std::string i1 = "1100000000000000000000000007", i2 = "1210000000000000000000000011";
  const std::string text =
      answer(1, 0, 1000, kEthFeed, "200000000000") + reserve_update(2, 1012, kWeth, i1, kRay) +
      pool(2, 1, 1012, "Supply", "\"reserve\":\"" + kWeth + "\",\"user\":\"" + kAlice + "\",\"onBehalfOf\":\"" + kAlice +
                                     "\",\"amount\":\"10000000000000000000\",\"referralCode\":\"0\"") +
      reserve_update(3, 1024, kWeth, i2, kRay) +
      pool(3, 1, 1024, "Withdraw", "\"reserve\":\"" + kWeth + "\",\"user\":\"" + kAlice + "\",\"to\":\"" + kAlice +
                                       "\",\"amount\":\"1000000000000000000\"");
  // Half up (v2, v3.0–3.4): scaled = ⌊(10^19·10^27 + ⌊I1/2⌋) / I1⌋ = ⌊9090909090909090909.09… + 0.5⌋
  // = 9090909090909090909; at I2 its balance is ⌊(9090909090909090909·I2 + 10^27/2) / 10^27⌋
  // = ⌊10999999999999999999.89… + 0.5⌋ = 11 WETH: the sync before the withdrawal.
  const ImportResult half_up = import(text);
  EXPECT_NE(half_up.jsonl.find(R"({"type":"sync_balance","ts":1024000000,"account":1,"asset":1,"amount":"11"})"),
            std::string::npos)
      << half_up.jsonl;
  // Directional (v3.5+): the mint rounds down (same scaled amount here) and the
  // balance rounds down: ⌊10999999999999999999.89…⌋ = 10.999999999999999999 WETH.
  const ImportResult directional = import(text, market("\"half_up\"", "\"directional\""));
  EXPECT_NE(directional.jsonl.find(R"("account":1,"asset":1,"amount":"10.999999999999999999"})"), std::string::npos)
      << directional.jsonl;
  // Afterwards the engine holds 11 − 1 = 10 WETH; Aave's scaled balance is
  // 9090909090909090909 − ⌊(10^18·10^27 + ⌊I2/2⌋)/I2⌋ = 9090909090909090909 − 826446280991735537
  // = 8264462809917355372, worth 10 WETH at I2 (half up): the next touch needs no sync.
  const MemoryRun machine = run(half_up);
  EXPECT_EQ(machine.machine().state().account(1)->balance(1), Int("10000000000000000000"));
}

TEST(AaveImport, DebtAccruesAtTheCompoundedRateBetweenUpdates) {
  // Alice borrows 15000 USDC at index J1 = 1.02·10^27 + 5 with a 5 % variable rate,
  // then supplies WETH 30 days later: her USDC debt is synced first, at
  // J(t) = rayMul(compounded(5 %, 30 d), J1) with Aave's three-term expansion:
  //   Δ = 2592000 s, year = 31536000 s, rate = 5·10^25;
  //   bp2 = ⌊rayMul(rate, rate) / year²⌋ = ⌊2.5·10^24 / 9.94519296·10^14⌋ = 2513777269,
  //   bp3 = ⌊rayMul(bp2, rate) / year⌋ = 3,
  //   compounded = 10^27 + ⌊rate·Δ/year⌋ + ⌊Δ(Δ−1)·bp2/2⌋ + ⌊Δ(Δ−1)(Δ−2)·bp3/6⌋
  //              = 1004118042106000198784926904,
  //   J = rayMul(compounded, J1) = 1024200402948120202760625447;
  //   scaled debt = rayDiv(15000·10^6, J1) = 14705882353; balance rayMul(14705882353, J) = 15061770632.
  const std::string j1 = "1020000000000000000000000005";
  const uint64_t later = 2000 + 30 * 86400;
  const std::string text =
      answer(1, 0, 1000, kEthFeed, "200000000000") + answer(1, 1, 1000, kUsdcFeed, "100000000") +
      reserve_update(2, 2000, kUsdc, kRay, j1, "50000000000000000000000000") +
      pool(2, 1, 2000, "Borrow", "\"reserve\":\"" + kUsdc + "\",\"user\":\"" + kAlice + "\",\"onBehalfOf\":\"" + kAlice +
                                     "\",\"amount\":\"15000000000\",\"interestRateMode\":\"2\",\"borrowRate\":\"0\",\"referralCode\":\"0\"") +
      reserve_update(3, later, kWeth, kRay, kRay) +
      pool(3, 1, later, "Supply", "\"reserve\":\"" + kWeth + "\",\"user\":\"" + kAlice + "\",\"onBehalfOf\":\"" + kAlice +
                                      "\",\"amount\":\"10000000000000000000\",\"referralCode\":\"0\"");
  const ImportResult result = import(text);
  EXPECT_NE(result.jsonl.find("{\"type\":\"sync_balance\",\"ts\":" + std::to_string(later * 1'000'000) +
                              ",\"account\":1,\"asset\":4,\"amount\":\"-15061.770632\"}"),
            std::string::npos)
      << result.jsonl;
  EXPECT_EQ(Ray::compounded_interest(Int("50000000000000000000000000"), 30 * 86400),
            Int("1004118042106000198784926904"));
  EXPECT_EQ(run(result).machine().state().account(1)->balance(4), Int(-15'061'770'632LL));
}

// ---- protocol fees and bad debt --------------------------------------------------------

// Alice supplies USDC and borrows WETH; liquidations seize USDC, whose
// protocol fee is 10 % of the bonus.
std::string usdc_collateral_history(const std::string& extra_before_liquidation, const std::string& to_cover,
                                    const std::string& liquidated, uint64_t liquidation_index = 2) {
  return answer(1, 0, 1000, kEthFeed, "200000000000") + answer(1, 1, 1000, kUsdcFeed, "100000000") +
         reserve_update(2, 1012, kUsdc, kRay, kRay) +
         pool(2, 1, 1012, "Supply", "\"reserve\":\"" + kUsdc + "\",\"user\":\"" + kAlice + "\",\"onBehalfOf\":\"" +
                                        kAlice + "\",\"amount\":\"10000000000\",\"referralCode\":\"0\"") +
         reserve_update(3, 1024, kWeth, kRay, kRay) +
         pool(3, 1, 1024, "Borrow", "\"reserve\":\"" + kWeth + "\",\"user\":\"" + kAlice + "\",\"onBehalfOf\":\"" +
                                        kAlice + "\",\"amount\":\"3500000000000000000\",\"interestRateMode\":\"2\",\"borrowRate\":\"0\",\"referralCode\":\"0\"") +
         answer(4, 0, 1036, kEthFeed, "240000000000") + reserve_update(5, 1048, kWeth, kRay, kRay) +
         extra_before_liquidation + liquidation_call(5, 1048, to_cover, liquidated, kWeth, kUsdc, liquidation_index);
}

TEST(AaveImport, ProtocolFeeShownByTheTreasuryTransferOrInferredFromTheConfig) {
  // 10000 USDC against 3.5 WETH at 2400 = 8400 USD: HF 7800/8400 = 0.93 < 0.95, all
  // allowed. Carol repays 1 WETH: C = ⌊10^18·2400·10^8·10^6/(10^8·10^18)⌋ = 2400 USDC,
  // ·1.045 → 2508 USDC; bonus part 2508 − percentDiv(2508, 10450) = 2508 − 2400 = 108,
  // fee percentMul(108, 10 %) = 10.8 USDC; liquidatedCollateralAmount = 2497.2 USDC.
  const std::string shown = evm(5, 1, 1048, kUsdcAToken, "Transfer",
                                "\"from\":\"" + kAlice + "\",\"to\":\"" + kTreasury + "\",\"value\":\"10800000\"");
  for (const std::string& extra : {shown, std::string()}) {
    const ImportResult result = import(usdc_collateral_history(extra, "1000000000000000000", "2497200000"));
    // seized = 2497.2 + 10.8 = 2508 USDC, the engine's ⌊seize_exact⌋ exactly.
    EXPECT_NE(result.jsonl.find(R"("repaid":"1","seized":"2508"})"), std::string::npos) << result.jsonl;
    // The bonus is split as Aave splits it: 90 % to the liquidator, 10 % to the treasury.
    EXPECT_NE(result.jsonl.find(R"({"type":"set_protocol","ts":1048000000,"policy":"close_factor","close_factor":"0.5","full_liquidation_hf":"0.95","liquidator_share":"0.9","insurance_share":"0"})"),
              std::string::npos);
    const LiquidationAudit a = only_audit(run(result));
    EXPECT_EQ(a.flags & kFlagSeizeMismatch, 0u);
    EXPECT_EQ(a.penalty->total, Int(108'000'000));     // 2508 − 2400 USDC
    EXPECT_EQ(a.penalty->liquidator, Int(97'200'000));  // ⌊108·0.9⌋
    EXPECT_EQ(a.penalty->treasury, Int(10'800'000));    // 108 − 97.2 − 0
  }
}

TEST(AaveImport, DeficitCreatedWritesOffWhatTheEngineWouldNotCloseOut) {
  // WETH at 3000: 3.5 WETH = 10500 USD of debt against 10000 USDC (HF 7800/10500).
  // Aave caps the collateral at Alice's 10000 USDC: C = 10000·10^6; bonus part
  // C − percentDiv(C, 10450) = 10^10 − 9569377990 = 430622010, fee percentMul(·, 10 %)
  // = 43062201, liquidatedCollateralAmount = C − fee = 9956937799; debtToCover =
  // percentDiv(⌊10^8·10^10·10^18/(3000·10^8·10^6)⌋, 10450) = percentDiv(3333333333333333333, 10450)
  // = 3189792663476874003 wei. The rest, 3.5·10^18 − that = 310207336523125997 wei, is
  // written off by v3.3 (DeficitCreated, emitted before LiquidationCall).
  const std::string deficit =
      pool(5, 1, 1048, "DeficitCreated",
           "\"user\":\"" + kAlice + "\",\"debtAsset\":\"" + kWeth + "\",\"amountCreated\":\"310207336523125997\"");
  std::string history = usdc_collateral_history(deficit, "3189792663476874003", "9956937799");
  history = with(history, "\"240000000000\"", "\"300000000000\"");
  const ImportResult result = import(history);
  // The inferred fee, capped by the balance, brings seized back to the whole 10000 USDC.
  EXPECT_NE(result.jsonl.find(R"("repaid":"3.189792663476874003","seized":"10000"})"), std::string::npos)
      << result.jsonl;
  EXPECT_EQ(result.jsonl.find("\"absorb\""), std::string::npos);
  const MemoryRun machine = run(result);
  // Nothing is left to seize, so the engine closes Alice out by itself after the
  // liquidation (SPEC §5.4, flag BANKRUPTCY) and the importer records no absorb.
  const LiquidationAudit& a = only_audit(machine);
  EXPECT_EQ(a.verdict, Verdict::Minimal);  // r* is the cap: 3189792663476874003 as well
  EXPECT_NE(a.flags & kFlagBankruptcy, 0u);
  ASSERT_TRUE(a.bankrupt);
  // 0.310207336523125997 WETH of bad debt (insurance holds no WETH), valued
  // ⌊0.310207336523125997·3000·10^8⌋ = 93062200956 quote units.
  EXPECT_EQ(a.bankrupt->bad_debt_value, Int(93'062'200'956LL));
  EXPECT_EQ(machine.machine().state().account(1)->balance(2), Int(0));
}

TEST(AaveImport, DeficitLeftWithSeizableDustIsAnAbsorb) {
  // The same liquidation recorded 1 USDC short: Alice keeps 1 USDC that the engine
  // could still seize, so it does not close her out; Aave wrote the debt off all
  // the same, and the importer records that as an absorb, judged NOT_EXHAUSTED.
  const std::string shown_fee = evm(5, 1, 1048, kUsdcAToken, "Transfer",
                                    "\"from\":\"" + kAlice + "\",\"to\":\"" + kTreasury + "\",\"value\":\"43062201\"");
  const std::string deficit =
      pool(5, 2, 1048, "DeficitCreated",
           "\"user\":\"" + kAlice + "\",\"debtAsset\":\"" + kWeth + "\",\"amountCreated\":\"310207336523125997\"");
  const std::string history = with(usdc_collateral_history(shown_fee + deficit, "3189792663476874003", "9955937799", 3),
                                   "\"240000000000\"", "\"300000000000\"");
  const ImportResult result = import(history);
  EXPECT_NE(result.jsonl.find("{\"type\":\"absorb\",\"ts\":1048000000,\"account\":1}"), std::string::npos)
      << result.jsonl;
  const MemoryRun machine = run(result);
  const Outcome& absorb = machine.outcomes().back();
  ASSERT_TRUE(absorb.audit);
  EXPECT_EQ(absorb.audit->kind, LiquidationKind::Absorb);
  EXPECT_NE(absorb.audit->flags & kFlagNotExhausted, 0u);
  EXPECT_EQ(machine.machine().state().account(1)->balance(2), Int(0));
  EXPECT_EQ(machine.machine().state().account(1)->balance(3), Int(0));
}

TEST(AaveImport, DeficitWithoutItsLiquidationIsRefused) {
  const std::string deficit =
      pool(5, 0, 1048, "DeficitCreated",
           "\"user\":\"" + kAlice + "\",\"debtAsset\":\"" + kWeth + "\",\"amountCreated\":\"1\"");
  const ImportError error = refusal(answer(1, 0, 1000, kEthFeed, "200000000000") + deficit);
  EXPECT_EQ(error.error.line, 2u);
  EXPECT_EQ(error.error.field, "user");
}

// ---- bad input -----------------------------------------------------------------------

TEST(AaveImportBadInput, EachCaseNamesTheLineAndTheArgument) {
  const std::string supply_args = "\"reserve\":\"" + kWeth + "\",\"user\":\"" + kAlice + "\",\"onBehalfOf\":\"" + kAlice;
  struct Case {
    std::string second_line;
    std::string field;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {pool(2, 0, 1001, "Sneeze", "\"x\":\"1\""), "event", "unknown event"},
      {pool(2, 0, 1001, "Supply", supply_args + "\",\"referralCode\":\"0\""), "amount", "missing argument"},
      {pool(2, 0, 1001, "Supply", supply_args + "\",\"amount\":1000"), "amount", "decimal string"},
      {pool(2, 0, 1001, "Supply", supply_args + "\",\"amount\":\"-5\""), "amount", "not a uint256"},
      {pool(2, 0, 1001, "Supply", supply_args + "\",\"amount\":\"1e18\""), "amount", "not a uint256"},
      {pool(2, 0, 1001, "Supply",
            supply_args + "\",\"amount\":\"115792089237316195423570985008687907853269984665640564039457584007913129639936\""),
       "amount", "not a uint256"},  // 2^256
      {pool(2, 0, 1001, "Supply",
            "\"reserve\":\"0x1111111111111111111111111111111111111111\",\"user\":\"" + kAlice + "\",\"onBehalfOf\":\"" +
                kAlice + "\",\"amount\":\"1\""),
       "reserve", "not a reserve in the config"},
      {evm(2, 0, 1001, "0x2222222222222222222222222222222222222222", "AnswerUpdated",
           "\"current\":\"1\",\"roundId\":\"1\",\"updatedAt\":\"1001\""),
       "address", "not a feed in the config"},
      {pool(2, 0, 1001, "Supply", "\"reserve\":\"" + kWeth + "\",\"user\":\"" + kAlice + "\",\"onBehalfOf\":\"0x12\",\"amount\":\"1\""),
       "onBehalfOf", "expected an address"},
      {pool(1, 0, 1000, "Supply", supply_args + "\",\"amount\":\"1\""), "log_index", "out of order"},
      {"{\"block\":2,", "", "not a JSON object"},
  };
  for (const Case& c : cases) {
    const ImportError error = refusal(answer(1, 0, 1000, kEthFeed, "200000000000") + c.second_line);
    EXPECT_EQ(error.file, "events.jsonl");
    EXPECT_EQ(error.error.line, 2u) << c.second_line;
    EXPECT_EQ(error.error.field, c.field) << c.second_line;
    EXPECT_NE(error.error.message.find(c.message_part), std::string::npos) << error.to_string();
  }
}

TEST(AaveImportBadInput, TheCliWritesNothingAndExitsTwo) {
  ScratchDir dir;
  std::ofstream(dir.path("bad.jsonl")) << crash() << pool(999, 0, 1800000000, "Sneeze", "\"x\":\"1\"");
  const auto refused = testing::cli("import aave --config " + kData + "market.json " + dir.path("bad.jsonl"),
                                    dir.path("err"));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(refused.out, "");
  EXPECT_NE(slurp(dir.path("err")).find("bad.jsonl: line 12, field \"event\""), std::string::npos)
      << slurp(dir.path("err"));
  // --skip-unknown turns the unknown name into a count on stderr.
  const auto skipped = testing::cli(
      "import aave --skip-unknown --config " + kData + "market.json " + dir.path("bad.jsonl"), dir.path("err"));
  EXPECT_EQ(skipped.exit_code, 0);
  EXPECT_NE(slurp(dir.path("err")).find("1 Sneeze"), std::string::npos);
  // The usual pipe, with the address map, then an audit.
  const auto piped = testing::run_shell(std::string(LIQL_CLI_PATH) + " import aave --config " + kData +
                                        "market.json --accounts " + dir.path("map.csv") + " " + kData +
                                        "crash.jsonl 2>/dev/null | " + LIQL_CLI_PATH + " append " + dir.path("db") +
                                        " -");
  EXPECT_EQ(piped.exit_code, 0);
  EXPECT_EQ(slurp(dir.path("map.csv")), "account,address\n1," + kAlice + "\n2," + kBob + "\n3," + kCarol + "\n");
  const auto audit = testing::cli("audit " + dir.path("db") + " --format csv");
  EXPECT_NE(audit.out.find("ALLOWED_EXCESS"), std::string::npos);
}

TEST(AaveImportLabels, AuditAccountAndRiskPrintTheAddresses) {
  ScratchDir dir;
  const auto piped = testing::run_shell(std::string(LIQL_CLI_PATH) + " import aave --config " + kData +
                                        "market.json --accounts " + dir.path("map.csv") + " " + kData +
                                        "crash.jsonl 2>/dev/null | " + LIQL_CLI_PATH + " append " + dir.path("db") +
                                        " - >/dev/null");
  ASSERT_EQ(piped.exit_code, 0);
  const std::string db = dir.path("db"), labels = " --labels " + dir.path("map.csv");
  const auto jsonl = testing::cli("audit " + db + " --format jsonl" + labels);
  EXPECT_NE(jsonl.out.find(",\"account_address\":\"" + kAlice + "\",\"liquidator_address\":\"" + kCarol + "\"}"),
            std::string::npos)
      << jsonl.out;
  const auto csv = testing::cli("audit " + db + " --format csv" + labels);
  EXPECT_NE(csv.out.find(",state_hash,account_address,liquidator_address\n"), std::string::npos);
  EXPECT_NE(csv.out.find("," + kAlice + "," + kCarol + "\n"), std::string::npos) << csv.out;
  const auto table = testing::cli("audit " + db + labels);
  EXPECT_NE(table.out.find(kAlice + " " + kCarol), std::string::npos) << table.out;
  // Without --labels, nothing changes: ids only.
  EXPECT_EQ(testing::cli("audit " + db + " --format jsonl").out.find("address"), std::string::npos);
  const auto account = testing::cli("account " + db + " 1 --json" + labels);
  EXPECT_NE(account.out.find("\"account\":1,\"address\":\"" + kAlice + "\""), std::string::npos) << account.out;
  const auto risk = testing::cli("risk " + db + " --format csv" + labels);
  EXPECT_NE(risk.out.find("status,overflow,address\n"), std::string::npos);
  EXPECT_NE(risk.out.find(",false," + kBob + "\n"), std::string::npos) << risk.out;
  // A malformed map is bad input: exit 2.
  std::ofstream(dir.path("bad.csv")) << "account,address\nseven,0xabc\n";
  EXPECT_EQ(testing::cli("audit " + db + " --labels " + dir.path("bad.csv")).exit_code, 2);
}

TEST(AaveImportBadInput, MarketConfigErrorsNameTheField) {
  AaveMarket m;
  std::string error;
  const std::string good = slurp(kData + "market.json");
  auto refused = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    EXPECT_FALSE(parse_aave_market(text, &m, &error)) << from << " → " << to;
    return error;
  };
  EXPECT_EQ(refused("\"ltv\": 8000", "\"ltv\": 9000").rfind("reserves[0].ltv:", 0), 0u);
  EXPECT_EQ(refused("\"liquidation_bonus\": 10500", "\"liquidation_bonus\": 500").rfind("reserves[0].liquidation_bonus:", 0), 0u);
  EXPECT_EQ(refused("\"decimals\": 18", "\"decimals\": \"18\"").rfind("reserves[0].decimals:", 0), 0u);
  EXPECT_EQ(refused("\"reserve\": \"0xc02a", "\"reserve\": \"0xc03a").rfind("feeds[0].reserve:", 0), 0u);
  EXPECT_EQ(refused("\"half_up\"", "\"nearest\"").rfind("rounding:", 0), 0u);
}

// ---- Chainlink -----------------------------------------------------------------------

TEST(ChainlinkImport, RoundDumpsAndAnswerLogsGiveTheSamePrices) {
  // Proxy round ids: phase 2 << 64 | round → 2·2^64 + 7 = 36893488147419103239, then phase 3's round 1.
  const std::string dump_csv =
      "address,roundId,answer,startedAt,updatedAt,answeredInRound\n" + kEthFeed +
      ",36893488147419103239,200000000000,1000,1000,36893488147419103239\n" + kEthFeed +
      ",55340232221128654849,180000000000,1048,1048,55340232221128654849\n" + kEthFeed +
      ",55340232221128654850,170000000000,1060,1060,55340232221128654849\n";  // carried over: no new price
  const std::string logs = answer(100, 0, 1000, kEthFeed, "200000000000") + answer(104, 0, 1048, kEthFeed, "180000000000");
  ImportResult from_dump, from_logs;
  ImportError error;
  ASSERT_TRUE(import_chainlink(market(), {{"rounds.csv", dump_csv}}, &from_dump, &error)) << error.to_string();
  ASSERT_TRUE(import_chainlink(market(), {{"answers.jsonl", logs}}, &from_logs, &error)) << error.to_string();
  EXPECT_EQ(from_dump.jsonl, from_logs.jsonl);
  EXPECT_EQ(from_dump.skipped.at("unanswered or carried-over rounds"), 1u);
  EXPECT_EQ(from_dump.jsonl,
            R"({"type":"price","ts":1000000000,"asset":1,"price":"2000","publish_ts":1000000000}
{"type":"price","ts":1000000000,"asset":2,"price":"2000","publish_ts":1000000000}
{"type":"price","ts":1048000000,"asset":1,"price":"1800","publish_ts":1048000000}
{"type":"price","ts":1048000000,"asset":2,"price":"1800","publish_ts":1048000000}
)");
  // A later round updated earlier than the one before it is refused, naming the round.
  const std::string backwards = "address,roundId,answer,startedAt,updatedAt,answeredInRound\n" + kEthFeed +
                                ",36893488147419103239,1,1000,1000,36893488147419103239\n" + kEthFeed +
                                ",36893488147419103240,1,900,900,36893488147419103240\n";
  EXPECT_FALSE(import_chainlink(market(), {{"rounds.csv", backwards}}, &from_dump, &error));
  EXPECT_EQ(error.error.line, 3u);
  EXPECT_EQ(error.error.field, "updatedAt");
  EXPECT_NE(error.error.message.find("2:8 (phase:round)"), std::string::npos) << error.to_string();
}

TEST(ChainlinkImport, PricesMergedIntoThePoolHistoryGiveTheSameLog) {
  // The crash history with its AnswerUpdated lines taken out, converted by
  // `import chainlink` and merged back by ts (`import aave --prices`).
  std::string pool_only, answers;
  std::istringstream in(crash());
  for (std::string line; std::getline(in, line);) {
    (line.find("AnswerUpdated") != std::string::npos ? answers : pool_only) += line + "\n";
  }
  ImportResult prices;
  ImportError error;
  ASSERT_TRUE(import_chainlink(market(), {{"answers.jsonl", answers}}, &prices, &error)) << error.to_string();
  const ImportInput price_input{"prices.jsonl", prices.jsonl};
  EXPECT_EQ(import(pool_only, market(), &price_input).jsonl, import(crash()).jsonl);
}

}  // namespace
}  // namespace liql
