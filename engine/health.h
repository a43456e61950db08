#pragma once
// Valuation and health (SPEC §1.1, §3). Every term is exact and rounded once,
// against the account: token terms and notionals toward −∞, margin
// requirements toward +∞.
//
// On failure: a value beyond Int (a huge balance at a huge price) throws
// std::overflow_error (or std::range_error from a narrowing), which the
// machine turns into ARITHMETIC_OVERFLOW and the views (account, risk, keeper
// index) into "not computable"; these are engine-internal, never a library
// boundary. A missing price where one is REQUIRED is a std::out_of_range.

#include <optional>

#include "engine/state.h"

namespace liql {

// WAD-scaled price; the quote asset is exactly WAD. REQUIRES the price is present.
const Int& asset_price(const State& state, AssetId asset);

// Fresh when now − publish_ts ≤ max_age; a missing price is stale.
bool is_fresh(const Oracle& oracle, uint64_t max_age_us, uint64_t now_ts);
bool asset_fresh(const State& state, AssetId asset, uint64_t now_ts);
bool market_fresh(const State& state, MarketId market, uint64_t now_ts);
// Health is evaluable when every asset and market the account holds is fresh.
bool evaluable(const State& state, const Account& account, uint64_t now_ts);
// Every asset and market the account holds has a price, fresh or not: its
// health can be computed (what observe mode and the account view report).
bool priced(const State& state, const Account& account);

// value(b, a) = ⌊b · P · 10^qd / (10^d · WAD)⌋
Int value(const State& state, AssetId asset, const Int& amount);
// notional(B, m) = ⌊B · P · 10^qd / (10^bd · WAD)⌋
Int notional(const State& state, MarketId market, const Int& base);
// ⌊s · P · 10^qd / (10^bd · WAD)⌋ and ⌈…⌉ for a transfer of s base units.
Int notional_ceil(const State& state, MarketId market, const Int& base);

// ⌊b · P · 10^qd · w / (10^d · WAD · WAD)⌋ with w the weight of the level
// (asset weight for b ≥ 0, liability weight for b < 0, WAD for Equity).
Int token_term(const State& state, AssetId asset, const Int& balance, Level level);

struct PerpTerm {
  Int pnl;          // notional + quote
  Int requirement;  // ⌈|B| · P · 10^qd · margin / (10^bd · WAD · WAD)⌉, 0 for Equity
  Int term() const { return pnl - requirement; }
};
PerpTerm perp_term(const State& state, MarketId market, const Position& position, Level level);

// H = assets − liabilities, where assets sums the positive parts and
// liabilities the magnitudes of the negative ones (SPEC §3).
struct Health {
  Int value;
  Int assets;
  Int liabilities;
};
Health account_health(const State& state, const Account& account, Level level);

// HF = WAD · A / L rounded down; nullopt stands for ∞ (L = 0).
std::optional<Int> health_factor(const Health& health);
// HF < threshold, compared exactly: WAD · A < threshold · L.
bool health_factor_below(const Health& health, const Int& threshold);

AccountStatus status_from(const Int& equity, const Int& maint, const Int& init);

struct HealthReport {
  Int equity, init, target, maint;
  Health maint_parts;
  std::optional<Int> hf_maint;
  AccountStatus status = AccountStatus::Healthy;
};
// All levels in one pass. REQUIRES evaluable(state, account, ts).
HealthReport health_report(const State& state, const Account& account);

}  // namespace liql
