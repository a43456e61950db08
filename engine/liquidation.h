#pragma once
// The arithmetic of liquidation (SPEC §5.1–§5.3), free of any state change:
// the state machine applies what these functions compute, and the audit
// reports it.

#include "engine/health.h"
#include "engine/outcome.h"
#include "schemas/assert.h"

namespace liql {

// k* = lower_bound over [1, count] by exactly the binary search of SPEC §5.1:
//   lo = 1, hi = count; while lo < hi { mid = lo + (hi − lo) / 2; ok(mid) ? hi = mid : lo = mid + 1 }
// REQUIRES count ≥ 1 (LIQL_ASSERT: callers search over a non-empty position or
// a cap ≥ 1). ok need not be monotonic; the result is what this search gives.
// T is Int, or a native unsigned type the caller knows holds count + 1.
template <typename T, typename Predicate>
T lower_bound_search(const T& count, Predicate ok) {
  LIQL_ASSERT(count > 0, "lower_bound_search: count ≥ 1");
  T lo = 1;
  T hi = count;
  while (lo < hi) {
    T mid = lo + (hi - lo) / 2;
    if (ok(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// Liquidator share fdiv(F·ls, WAD), insurance fdiv(F·is, WAD), treasury the rest.
PenaltySplit split_penalty(const Protocol& protocol, const Int& total);

// ---- perp (SPEC §5.1) -------------------------------------------------------

struct PerpTransfer {
  Int floor;  // ⌊T⌋, what the receiving side gets
  Int ceil;   // ⌈T⌉, what the paying side pays
};
// T = notional of `size` base units at the market's oracle price.
PerpTransfer perp_transfer(const State& state, MarketId market, const Int& size);
// F = cdiv(⌊T⌋ · liquidation_fee, WAD).
Int perp_penalty(const State& state, MarketId market, const Int& transfer_floor);
// The account's position after the liquidator takes over `size` of it and the
// penalty is taken from its quote (before any settlement into the quote balance).
Position position_after_close(const Position& position, const PerpTransfer& transfer, const Int& size,
                              const Int& penalty);
// The penalty a close of `size` would carry.
Int perp_penalty_for_size(const State& state, MarketId market, const Int& size);

struct RequiredSize {
  Int size;
  bool dust_rule = false;  // raised to |base| by the min_position rule
};
// s*: the smallest lot-aligned close after which H_target ≥ 0.
// REQUIRES the account holds a position in `market` and is evaluable.
RequiredSize perp_required(const State& state, const Account& account, MarketId market);
// What the policy in force allows: engine/policy.h.

// ---- token (SPEC §5.2) ------------------------------------------------------

struct Seizure {
  Int ceil;   // ⌈seize_exact⌉, what the account gives
  Int floor;  // ⌊seize_exact⌋
  Int bonus;  // bonus_units = ⌊seize_exact⌋ − ⌊r · P_L · 10^d_C / (10^d_L · P_C)⌋
};
Seizure token_seizure(const State& state, AssetId liability, AssetId collateral, const Int& repay);
// cap = min(|b_L|, r_max_C) with r_max_C the largest r whose ⌈seize_exact⌉ ≤ b_C.
Int token_repay_cap(const State& state, const Account& account, AssetId liability, AssetId collateral);
// r*: the smallest repay in [1, cap] after which H_target ≥ 0 (cap when none). REQUIRES cap ≥ 1
// (LIQL_ASSERT).
Int token_required(const State& state, const Account& account, AssetId liability, AssetId collateral,
                   const Int& cap);

// ---- bankruptcy (SPEC §5.4) ---------------------------------------------------

// Exhausted: no perp position and, for every pair of a negative balance in L
// and a positive one in C (L ≠ C), ⌈seize_exact(1)⌉ > b_C (cap < 1), at the
// stored prices whether fresh or not. False when the account holds something
// that has never had a price (nothing can be decided).
bool exhausted(const State& state, const Account& account);

}  // namespace liql
