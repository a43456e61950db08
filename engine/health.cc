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

Int value(const State& state, AssetId asset, const Int& amount) {
  return token_term(state, asset, amount, Level::Equity);
}

Int notional(const State& state, MarketId market, const Int& base) {
  const Market& m = state.markets.at(market);
  Wide numerator = Wide(base) * Wide(m.oracle.price) * pow10_wide(state.quote_decimals());
  return narrow(fdiv(numerator, pow10_wide(m.params.base_decimals + 18)));
}

Int notional_ceil(const State& state, MarketId market, const Int& base) {
  const Market& m = state.markets.at(market);
  Wide numerator = Wide(base) * Wide(m.oracle.price) * pow10_wide(state.quote_decimals());
  return narrow(cdiv(numerator, pow10_wide(m.params.base_decimals + 18)));
}

Int token_term(const State& state, AssetId asset, const Int& balance, Level level) {
  const AssetParams& params = state.assets.at(asset).params;
  Wide numerator = Wide(balance) * Wide(asset_price(state, asset)) * pow10_wide(state.quote_decimals()) *
                   Wide(weight(params, balance, level));
  return narrow(fdiv(numerator, pow10_wide(params.decimals + 36)));
}

PerpTerm perp_term(const State& state, MarketId market, const Position& position, Level level) {
  PerpTerm perp;
  perp.pnl = notional(state, market, position.base) + position.quote;
  if (level == Level::Equity) return perp;
  const Market& m = state.markets.at(market);
  Wide numerator = Wide(abs(position.base)) * Wide(m.oracle.price) * pow10_wide(state.quote_decimals()) *
                   Wide(m.params.margin.at(level));
  perp.requirement = narrow(cdiv(numerator, pow10_wide(m.params.base_decimals + 36)));
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
  return Wide(wad()) * Wide(health.assets) < Wide(threshold) * Wide(health.liabilities);
}

AccountStatus status_from(const Int& equity, const Int& maint, const Int& init) {
  if (equity.sign() < 0) return AccountStatus::Bankrupt;
  if (maint.sign() < 0) return AccountStatus::Liquidatable;
  if (init.sign() < 0) return AccountStatus::MarginCall;
  return AccountStatus::Healthy;
}

HealthReport health_report(const State& state, const Account& account) {
  HealthReport report;
  report.equity = account_health(state, account, Level::Equity).value;
  report.init = account_health(state, account, Level::Init).value;
  report.target = account_health(state, account, Level::Target).value;
  report.maint_parts = account_health(state, account, Level::Maint);
  report.maint = report.maint_parts.value;
  report.hf_maint = health_factor(report.maint_parts);
  report.status = status_from(report.equity, report.maint, report.init);
  return report;
}

}  // namespace liql
