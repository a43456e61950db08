#include "engine/health.h"

namespace liql {
namespace {

const Int& weight(const AssetParams& params, const Int& balance, Level level) {
  if (level == Level::Equity) return wad();
  return balance.sign() >= 0 ? params.asset_weight.at(level) : params.liab_weight.at(level);
}

void add_part(Health& health, const Int& term) {
  if (term.sign() >= 0) {
    health.assets += term;
  } else {
    health.liabilities -= term;
  }
}

void add_perp(Health& health, const PerpTerm& perp) {
  add_part(health, perp.pnl);
  health.liabilities += perp.requirement;
}

}  // namespace

const Int& asset_price(const State& state, AssetId asset) {
  if (asset == kQuoteAsset) return wad();
  return state.assets.at(asset).oracle.price;
}

bool is_fresh(const Oracle& oracle, uint64_t max_age_us, uint64_t now_ts) {
  if (!oracle.present) return false;
  // publish_ts ≤ now always holds: publish_ts ≤ its own ts ≤ now.
  return now_ts - oracle.publish_ts <= max_age_us;
}

bool asset_fresh(const State& state, AssetId asset, uint64_t now_ts) {
  if (asset == kQuoteAsset) return true;
  const Asset& a = state.assets.at(asset);
  return is_fresh(a.oracle, a.params.max_oracle_age_us, now_ts);
}

bool market_fresh(const State& state, MarketId market, uint64_t now_ts) {
  const Market& m = state.markets.at(market);
  return is_fresh(m.oracle, m.params.max_oracle_age_us, now_ts);
}

bool evaluable(const State& state, const Account& account, uint64_t now_ts) {
  for (const auto& entry : account.balances) {
    if (!asset_fresh(state, entry.first, now_ts)) return false;
  }
  for (const auto& entry : account.positions) {
    if (!market_fresh(state, entry.first, now_ts)) return false;
  }
  return true;
}

bool priced(const State& state, const Account& account) {
  for (const auto& entry : account.balances) {
    if (entry.first != kQuoteAsset && !state.assets.at(entry.first).oracle.present) return false;
  }
  for (const auto& entry : account.positions) {
    if (!state.markets.at(entry.first).oracle.present) return false;
  }
  return true;
}

Int value(const State& state, AssetId asset, const Int& amount) {
  return token_term(state, asset, amount, Level::Equity);
}

// Every term below is one exact ⌊…⌋ or ⌈…⌉ of a product over a power of ten
// (muldiv_pow10_*, muldiv3_pow10_*: native 128-bit arithmetic when the
// product allows, docs/PERFORMANCE.md, the 512-bit expression otherwise).

// ⌊B · P · 10^qd / (10^bd · WAD)⌋
Int notional(const State& state, MarketId market, const Int& base) {
  const Market& m = state.markets.at(market);
  return muldiv_pow10_floor(base, m.oracle.price, state.quote_decimals(), m.params.base_decimals + 18);
}

// ⌈B · P · 10^qd / (10^bd · WAD)⌉
Int notional_ceil(const State& state, MarketId market, const Int& base) {
  const Market& m = state.markets.at(market);
  return muldiv_pow10_ceil(base, m.oracle.price, state.quote_decimals(), m.params.base_decimals + 18);
}

// ⌊b · P · 10^qd · w / (10^d · WAD · WAD)⌋
Int token_term(const State& state, AssetId asset, const Int& balance, Level level) {
  const AssetParams& params = state.assets.at(asset).params;
  const Int& w = weight(params, balance, level);
  // The quote asset's price is WAD (SPEC §1.1): it cancels against one WAD.
  if (asset == kQuoteAsset) return muldiv_pow10_floor(balance, w, state.quote_decimals(), params.decimals + 18);
  return muldiv3_pow10_floor(balance, asset_price(state, asset), w, state.quote_decimals(), params.decimals + 36);
}

namespace {

// ⌈|B| · P · 10^qd · margin / (10^bd · WAD · WAD)⌉ at one level.
Int perp_requirement(const State& state, const Market& m, const Position& position, Level level) {
  return muldiv3_pow10_ceil(abs(position.base), m.oracle.price, m.params.margin.at(level), state.quote_decimals(),
                            m.params.base_decimals + 36);
}

}  // namespace

PerpTerm perp_term(const State& state, MarketId market, const Position& position, Level level) {
  PerpTerm perp;
  perp.pnl = notional(state, market, position.base) + position.quote;
  if (level == Level::Equity) return perp;
  perp.requirement = perp_requirement(state, state.markets.at(market), position, level);
  return perp;
}

Health account_health(const State& state, const Account& account, Level level) {
  Health health;
  for (const auto& [asset, balance] : account.balances) add_part(health, token_term(state, asset, balance, level));
  for (const auto& [market, position] : account.positions) add_perp(health, perp_term(state, market, position, level));
  health.value = health.assets - health.liabilities;
  return health;
}

std::optional<Int> health_factor(const Health& health) {
  if (health.liabilities.is_zero()) return std::nullopt;
  return muldiv_floor(wad(), health.assets, health.liabilities);
}

bool health_factor_below(const Health& health, const Int& threshold) {
  if (health.liabilities.is_zero()) return false;  // HF = ∞
  return compare_products(wad(), health.assets, threshold, health.liabilities) < 0;
}

AccountStatus status_from(const Int& equity, const Int& maint, const Int& init) {
  if (equity.sign() < 0) return AccountStatus::Bankrupt;
  if (maint.sign() < 0) return AccountStatus::Liquidatable;
  if (init.sign() < 0) return AccountStatus::MarginCall;
  return AccountStatus::Healthy;
}

HealthReport health_report(const State& state, const Account& account) {
  // The four levels of account_health in one pass: each term as account_health
  // computes it, added in the same order, but a position's notional (the same
  // at every level) computed once instead of four times.
  constexpr Level kLevels[] = {Level::Equity, Level::Init, Level::Target, Level::Maint};
  Health levels[4];
  for (const auto& [asset, balance] : account.balances) {
    for (int i = 0; i < 4; ++i) add_part(levels[i], token_term(state, asset, balance, kLevels[i]));
  }
  for (const auto& [market_id, position] : account.positions) {
    const Market& market = state.markets.at(market_id);
    PerpTerm perp;
    perp.pnl = notional(state, market_id, position.base) + position.quote;
    add_perp(levels[0], perp);  // Equity: no requirement
    for (int i = 1; i < 4; ++i) {
      perp.requirement = perp_requirement(state, market, position, kLevels[i]);
      add_perp(levels[i], perp);
    }
  }
  for (Health& health : levels) health.value = health.assets - health.liabilities;
  HealthReport report;
  report.equity = levels[0].value;
  report.init = levels[1].value;
  report.target = levels[2].value;
  report.maint_parts = levels[3];
  report.maint = report.maint_parts.value;
  report.hf_maint = health_factor(report.maint_parts);
  report.status = status_from(report.equity, report.maint, report.init);
  return report;
}

}  // namespace liql
