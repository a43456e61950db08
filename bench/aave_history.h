#pragma once
// A synthetic Aave-style history for the import benchmark (bench only; issue 10).
//
// Deterministic: the same options give the same bytes on every platform
// (integer arithmetic and tools/rng.h only). The output is what `liqledger
// import aave` reads: a MARKET.json with four reserves (WETH, USDC, WBTC, DAI)
// and their Chainlink feeds, and JSON Lines of decoded Pool events and
// AnswerUpdated rounds, ordered by (block, log_index):
// * users supply collateral, borrow at the variable rate (interestRateMode
//   "2") up to a share of their LTV, repay and withdraw (keeping HF ≥ 1.1);
// * a ReserveDataUpdated precedes every action on a reserve, with the indices
//   accrued exactly as Aave does (linear income, compounded debt, ray
//   arithmetic) from nonzero rates that follow the reserve's utilization;
// * AnswerUpdated rounds random-walk the prices; WETH and WBTC fall by
//   crash_pct between 50 % and 60 % of the history;
// * users whose health factor falls below 1 (found by a sweep over the
//   borrowers every 1/64 of the history, every 1/512 during the crash) are
//   liquidated as Aave would: debtToCover ≤ 50 % of the largest debt, the
//   collateral debtToCover·P_debt/P_coll·bonus (capped by the user's
//   collateral, the debt reduced to match), liquidatedCollateralAmount that
//   minus the protocol fee.
// The generator tracks every balance as the importer does (scaled balances,
// half-up ray arithmetic), so each liquidation seizes no more than the
// account holds in the imported log.

#include <cstdint>
#include <map>
#include <string>

namespace liql::bench {

struct AaveHistoryOptions {
  uint64_t events = 1'000'000;  // input lines, exactly
  uint64_t users = 0;           // 0: events / 20, within [20, 100000]
  uint64_t seed = 42;
  uint32_t crash_pct = 40;  // WETH and WBTC fall this much (0..90)
};

struct AaveHistory {
  std::string market_json;   // MARKET.json
  std::string events_jsonl;  // the input of `import aave`, one log per line
  uint64_t events = 0;       // lines of events_jsonl (= options.events)
  uint64_t users = 0;        // users that acted at least once
  uint64_t blocks = 0;       // distinct blocks
  uint64_t first_ts = 0, last_ts = 0;
  std::map<std::string, uint64_t> by_event;  // event name → lines
};

AaveHistory generate_aave_history(const AaveHistoryOptions& options);

}  // namespace liql::bench
