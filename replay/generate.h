#pragma once
// The synthetic market (`liqledger generate`): a deterministic JSON Lines log
// of a leveraged trading/lending protocol that goes through a price crash, with
// the partial liquidations a keeper would issue (SPEC §4, §5, §8).
//
// The story: genesis, listings of ETH and BTC (borrowable) and of ETH-PERP and
// BTC-PERP, an insurance deposit, market makers and liquidators with deep
// pockets; ordinary accounts deposit USDC or ETH/BTC, borrow, and trade perps
// against the makers at the oracle price with per-account leverage; prices
// drift, crash by `crash_pct` in a few uneven steps, then partially recover.
// After every price round a keeper liquidates the accounts that became
// liquidatable (mostly MINIMAL partial liquidations, some bankruptcies, a few
// deliberately capped ones → UNDER, and a few attempts on healthy accounts →
// NOT_LIQUIDATABLE).
//
// The bankruptcy cases of SPEC §5.4:
// * traders who realise a loss by trading: a few gamblers at the edge of their
//   limit (6% of the USDC- or spot-collateral perp traders, ~4% of all) who,
//   once below maintenance, may dump their position into the book at 4–5%
//   off the oracle before the keeper reaches them. The engine accepts the
//   trade (it lowers the account's risk, SPEC §4.1) although the loss exceeds
//   the deposit: a USDC-only gambler is left with a negative quote balance and
//   nothing to seize, BANKRUPT and exhausted, and the keeper `absorb`s it on
//   its next round (ABSORBED);
// * capped seizures that leave dust: a bankrupt account holding spot
//   collateral (such a gambler, or a trader the crash took under) cannot reach
//   its target, so r* is the cap of SPEC §5.2, set by the collateral; what is
//   left is too small to seize and the engine closes the account out (dust to
//   insurance, flag BANKRUPTCY);
// * the keeper absorbs every account it finds BANKRUPT and exhausted (checked
//   with the engine's own exhausted() and health_report(), so no absorb is
//   rejected), except a rare deliberate premature attempt on a bankrupt account
//   that still holds seizable collateral (→ NOT_EXHAUSTED).
// The last 1.5% of the events wind the story down: prices hold, nobody trades,
// the keeper settles what is left, so the log ends with no account BANKRUPT
// (when it is long enough to tell the whole story).
//
// The generator applies every line it writes to an in-memory state machine
// (the same import path as MemoryRun) and sizes each event from that state.

#include <cstdint>
#include <functional>
#include <string_view>

namespace liql {

struct GenerateOptions {
  uint64_t seed = 1;
  uint64_t accounts = 1000;
  uint64_t events = 10000;  // total number of JSON lines written, exactly
  uint32_t crash_pct = 40;  // depth of the price crash, percent (0..95)
  bool progress = false;    // a progress line on stderr every ~10% of events
};

// Writes exactly options.events JSON lines (each without '\n'; the sink adds it).
// Deterministic: same options → same bytes on any build/compiler (integer
// arithmetic and a private PRNG only, ordered containers only).
// Throws std::invalid_argument when crash_pct > 95 (and std::logic_error if a
// generated line were ever refused by the importer: a bug).
void generate_market(const GenerateOptions& options, const std::function<void(std::string_view line)>& sink);

}  // namespace liql
