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
// How the keeper finds them: the engine's keeper index (engine/keeper.h) is
// kept in step with the generator's state after every line, over the ordinary
// accounts (ids from 1000; the makers and liquidators are never liquidated).
// Each of a round's four prices is its own line; after each, the accounts the
// index reports under maintenance that were last seen healthy are looked at,
// in ascending id order, and join the keeper's queue (or, BANKRUPT and
// exhausted, wait for an absorb in the next round). An account is also looked
// at after each of its own trades, deposits and withdrawals, and by the keeper
// between its liquidations. The keeper works through its queue in ascending
// id order from a cursor carried over between rounds, within a budget of
// events per round, so in a crash it falls behind; an account stays queued
// until the keeper reaches it, even if a price lifts it meanwhile (the keeper
// then finds it healthy and moves on). One the keeper left alone (nothing to
// seize, or its liquidation refused) waits for a line of its own.
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
//
// A real price path (GenerateOptions::price_path, `--price-path PRICES.jsonl`,
// tools/price_path.h) replaces the synthetic drift, crash and recovery; the
// rest of the story (onboarding, trading, the keeper, the gamblers, the
// wind-down) is unchanged:
// * the path's first instrument drives ETH (spot ETH and ETH-PERP move as
//   one), its second, if any, drives BTC (both perps too); with only one, BTC
//   follows the same relative path as ETH, so every price comes from the file
//   and none from the PRNG;
// * the generator keeps its own base prices (ETH 2000, BTC 40000) and applies
//   the path's relative moves, exactly: price = ⌊base · p_k / p_0⌋ rounded down
//   to the generator's tick of 0.0001 (never below one tick), p_0 the
//   instrument's first price, p_k its latest price at point k; so a real 30%
//   fall is a 30% fall of the synthetic market. crash_pct is ignored (the CLI
//   refuses --crash with --price-path);
// * the path's points are its instruments' lines in file order (0..M−1): while
//   accounts onboard (the first 40% of the events) every round publishes point
//   0, the base prices; from there to the wind-down (the last 1.5%) a round
//   starting after n lines of E uses point 1 + ⌊(1000·n − 400·E)·(M − 1) / (585·E)⌋,
//   so points 1..M−1 share that stretch evenly by events and the whole path is
//   traversed whatever `events` is (with fewer rounds than points some points
//   are skipped, never the last); the wind-down holds point M−1. Before an
//   instrument's first line it stays at its base price;
// * the generator's own timestamps are kept; the path's ts only order its points.
// Without a path the output is byte for byte what it was before paths existed.

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "schemas/status.h"
#include "tools/price_path.h"

namespace liql {

struct GenerateOptions {
  uint64_t seed = 1;
  uint64_t accounts = 1000;
  uint64_t events = 10000;  // total number of JSON lines written, exactly
  uint32_t crash_pct = 40;  // depth of the price crash, percent (0..95); ignored with a price_path
  // A real price path to follow instead of the synthetic one (see above).
  std::optional<RealPricePath> price_path;
  bool progress = false;    // a progress line on stderr every ~10% of events
};

// Writes exactly options.events JSON lines (each without '\n'; the sink adds it).
// Deterministic: same options → same bytes on any build/compiler (integer
// arithmetic and a private PRNG only, ordered containers only).
// No exception leaves it. InvalidArgument, before any line, naming the
// option: crash_pct > 95, or a price_path check_price_path refuses (one
// parse_price_path could not have returned). Internal ("generate: …") if a line it wrote were refused by the engine's own input path, or
// the engine or the sink threw: a bug, never the options; the lines before it
// were written and are a valid log.
[[nodiscard]] Status generate_market(const GenerateOptions& options,
                                     const std::function<void(std::string_view line)>& sink);

}  // namespace liql
