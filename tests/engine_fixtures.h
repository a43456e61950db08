#pragma once
// Small builders for engine-level unit tests (int_test, health_test,
// liquidation_test): State objects put together by hand, without the log or the
// state machine. Every number a test expects is worked out by hand from
// SPEC.md in that test, never taken from the program.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/int.h"
#include "engine/state.h"

namespace liql::fixtures {

// Decimal text → integer scaled by 10^decimals, by plain string manipulation
// (independent of engine parse_units, so the fixtures do not lean on the code
// under test). "0.075", 18 → 75·10^15. Fails loudly on anything unexpected.
inline Int dec(std::string_view text, unsigned decimals) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  std::string integer(text);
  std::string fraction;
  if (auto dot = integer.find('.'); dot != std::string::npos) {
    fraction = integer.substr(dot + 1);
    integer.resize(dot);
  }
  if (fraction.size() > decimals) throw std::invalid_argument("dec(): too many decimals in fixture");
  fraction.append(decimals - fraction.size(), '0');
  std::string digits = integer + fraction;
  if (digits.empty()) throw std::invalid_argument("dec(): empty fixture number");
  for (char c : digits) {
    if (c < '0' || c > '9') throw std::invalid_argument("dec(): not a decimal fixture number");
  }
  // Boost reads a leading 0 as an octal prefix: strip leading zeros.
  const auto first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? std::string("0") : digits.substr(first);
  Int value(digits);
  return negative ? Int(-value) : value;
}

inline Int W(std::string_view ratio) { return dec(ratio, 18); }  // WAD-scaled ratio or price
inline Int usdc(std::string_view amount) { return dec(amount, 6); }

inline Levels levels(std::string_view init, std::string_view target, std::string_view maint) {
  return Levels{W(init), W(target), W(maint)};
}

inline Oracle oracle_at(std::string_view price, uint64_t publish_ts = 0) {
  return Oracle{W(price), publish_ts, true};
}

// A state after genesis: quote asset 0 = USDC with 6 decimals, all weights WAD,
// bonus 0; policy partial; liquidator_share 0.5, insurance_share 0.3.
inline State base_state(uint64_t ts = 10'000) {
  State state;
  state.seq = 1;
  state.ts = ts;
  state.protocol.mode = Mode::Enforce;
  state.protocol.policy.kind = PolicyKind::Partial;
  state.protocol.liquidator_share = W("0.5");
  state.protocol.insurance_share = W("0.3");
  Asset quote;
  quote.params.symbol = "USDC";
  quote.params.decimals = 6;
  quote.params.borrowable = true;
  quote.params.max_oracle_age_us = 0;
  quote.params.asset_weight = levels("1", "1", "1");
  quote.params.liab_weight = levels("1", "1", "1");
  quote.params.liquidation_bonus = 0;
  quote.oracle = oracle_at("1", 0);
  state.assets[kQuoteAsset] = quote;
  return state;
}

// SPEC §8's ETH-PERP market: base_decimals 9, margin 0.1/0.075/0.05,
// liquidation_fee 0.01, lot 0.001 (10^6 base units), min_position 0.01 (10^7).
inline Market eth_perp(std::string_view price, uint64_t publish_ts = 0) {
  Market market;
  market.params.symbol = "ETH-PERP";
  market.params.base_decimals = 9;
  market.params.margin = levels("0.1", "0.075", "0.05");
  market.params.liquidation_fee = W("0.01");
  market.params.lot_size = dec("0.001", 9);
  market.params.min_position = dec("0.01", 9);
  market.params.max_oracle_age_us = 60'000'000;
  market.params.max_trade_deviation = W("0.05");
  market.oracle = oracle_at(price, publish_ts);
  return market;
}

// SPEC §8's ETH token: 18 decimals, borrowable, asset weights 0.8/0.85/0.9,
// liability weights 1.2/1.15/1.1, liquidation_bonus 0.05.
inline Asset eth_token(std::string_view price, uint64_t publish_ts = 0) {
  Asset asset;
  asset.params.symbol = "ETH";
  asset.params.decimals = 18;
  asset.params.borrowable = true;
  asset.params.max_oracle_age_us = 60'000'000;
  asset.params.asset_weight = levels("0.8", "0.85", "0.9");
  asset.params.liab_weight = levels("1.2", "1.15", "1.1");
  asset.params.liquidation_bonus = W("0.05");
  asset.oracle = oracle_at(price, publish_ts);
  return asset;
}

// SPEC §8 account 7: deposited 1000 USDC, bought 4 ETH-PERP at 2000:
// balance[0] = 1000·10^6, position (4·10^9, −8000·10^6).
inline Account spec_account_7() {
  Account account;
  account.balances[kQuoteAsset] = usdc("1000");
  account.positions[1] = Position{dec("4", 9), usdc("-8000")};
  return account;
}

// The SPEC §8 state with ETH-PERP (market 1) at `price` and account 7.
inline State spec_state(std::string_view price) {
  State state = base_state();
  state.markets[1] = eth_perp(price, state.ts);
  state.accounts[7] = spec_account_7();
  return state;
}

}  // namespace liql::fixtures
