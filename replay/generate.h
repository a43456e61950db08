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
