#pragma once
// JSON Lines builders shared by the state-machine tests (machine_test,
// observe_test): one event per call, in SPEC §8's format, amounts as decimal
// strings in whole units.

#include <cstdint>
#include <string>
#include <vector>

namespace liql::lines {

// SPEC §8's example, verbatim (close_factor in force; seq 8 is the trade at
// 2000, seq 9 the price 1800, seq 10 the liquidation of account 7), one event
// per line, with a final newline.
inline const std::string kSpec8Example = R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"set_protocol","ts":0,"policy":"close_factor","close_factor":"0.5","full_liquidation_hf":"0.95","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"list_asset","ts":0,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"}
{"type":"list_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"}
{"type":"price","ts":1000,"market":1,"price":"2000"}
{"type":"deposit","ts":2000,"account":7,"asset":0,"amount":"1000"}
{"type":"deposit","ts":2000,"account":8,"asset":0,"amount":"100000"}
{"type":"trade","ts":3000,"market":1,"taker":7,"maker":8,"base":"4","price":"2000"}
{"type":"price","ts":4000,"market":1,"price":"1800"}
{"type":"liquidate_perp","ts":5000,"liquidator":8,"account":7,"market":1}
)";

// The lines of a text block (no final empty line).
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

inline const std::string kListEth =
    R"({"type":"list_asset","ts":0,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})";
inline const std::string kListPerp =
    R"({"type":"list_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"})";

// DAI: 6 decimals, weights for balances 0.9/0.95/1, for debts 1.1/1.05/1.02, no bonus.
inline std::string dai_spec(const char* type, bool borrowable, uint64_t ts = 0, uint32_t id = 2) {
  return std::string(R"({"type":")") + type + R"(","ts":)" + std::to_string(ts) + R"(,"asset":)" +
         std::to_string(id) + R"(,"symbol":"DAI","decimals":6,"borrowable":)" + (borrowable ? "true" : "false") +
         R"(,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.9","target":"0.95","maint":"1"},"liab_weight":{"init":"1.1","target":"1.05","maint":"1.02"},"liquidation_bonus":"0"})";
}

inline std::string q(const std::string& text) { return "\"" + text + "\""; }
inline std::string head(const char* type, uint64_t ts) {
  return std::string(R"({"type":")") + type + R"(","ts":)" + std::to_string(ts);
}

inline std::string price_market(uint64_t ts, uint32_t market, const std::string& price) {
  return head("price", ts) + R"(,"market":)" + std::to_string(market) + R"(,"price":)" + q(price) + "}";
}
inline std::string price_market_at(uint64_t ts, uint32_t market, const std::string& price, uint64_t publish_ts) {
  return head("price", ts) + R"(,"market":)" + std::to_string(market) + R"(,"price":)" + q(price) +
         R"(,"publish_ts":)" + std::to_string(publish_ts) + "}";
}
inline std::string price_asset(uint64_t ts, uint32_t asset, const std::string& price) {
  return head("price", ts) + R"(,"asset":)" + std::to_string(asset) + R"(,"price":)" + q(price) + "}";
}
inline std::string price_asset_at(uint64_t ts, uint32_t asset, const std::string& price, uint64_t publish_ts) {
  return head("price", ts) + R"(,"asset":)" + std::to_string(asset) + R"(,"price":)" + q(price) +
         R"(,"publish_ts":)" + std::to_string(publish_ts) + "}";
}
inline std::string transfer(const char* type, uint64_t ts, uint64_t account, uint32_t asset, const std::string& amount) {
  return head(type, ts) + R"(,"account":)" + std::to_string(account) + R"(,"asset":)" + std::to_string(asset) +
         R"(,"amount":)" + q(amount) + "}";
}
inline std::string deposit(uint64_t ts, uint64_t account, uint32_t asset, const std::string& amount) {
  return transfer("deposit", ts, account, asset, amount);
}
inline std::string withdraw(uint64_t ts, uint64_t account, uint32_t asset, const std::string& amount) {
  return transfer("withdraw", ts, account, asset, amount);
}
inline std::string insurance_deposit(uint64_t ts, uint32_t asset, const std::string& amount) {
  return head("insurance_deposit", ts) + R"(,"asset":)" + std::to_string(asset) + R"(,"amount":)" + q(amount) + "}";
}
inline std::string trade(uint64_t ts, uint32_t market, uint64_t taker, uint64_t maker, const std::string& base,
                  const std::string& price) {
  return head("trade", ts) + R"(,"market":)" + std::to_string(market) + R"(,"taker":)" + std::to_string(taker) +
         R"(,"maker":)" + std::to_string(maker) + R"(,"base":)" + q(base) + R"(,"price":)" + q(price) + "}";
}
inline std::string liquidate_perp(uint64_t ts, uint64_t liquidator, uint64_t account, uint32_t market,
                           const std::string& extra = "") {
  return head("liquidate_perp", ts) + R"(,"liquidator":)" + std::to_string(liquidator) + R"(,"account":)" +
         std::to_string(account) + R"(,"market":)" + std::to_string(market) + extra + "}";
}
inline std::string liquidate_token(uint64_t ts, uint64_t liquidator, uint64_t account, uint32_t liability,
                            uint32_t collateral, const std::string& extra = "") {
  return head("liquidate_token", ts) + R"(,"liquidator":)" + std::to_string(liquidator) + R"(,"account":)" +
         std::to_string(account) + R"(,"liability_asset":)" + std::to_string(liability) + R"(,"collateral_asset":)" +
         std::to_string(collateral) + extra + "}";
}
inline std::string absorb(uint64_t ts, uint64_t account) {
  return head("absorb", ts) + R"(,"account":)" + std::to_string(account) + "}";
}

inline std::string sync_balance(uint64_t ts, uint64_t account, uint32_t asset, const std::string& amount) {
  return head("sync_balance", ts) + R"(,"account":)" + std::to_string(account) + R"(,"asset":)" +
         std::to_string(asset) + R"(,"amount":)" + q(amount) + "}";
}

inline std::string sync_position(uint64_t ts, uint64_t account, uint32_t market, const std::string& base,
                          const std::string& quote) {
  return head("sync_position", ts) + R"(,"account":)" + std::to_string(account) + R"(,"market":)" +
         std::to_string(market) + R"(,"base":)" + q(base) + R"(,"quote":)" + q(quote) + "}";
}

}  // namespace liql::lines
