#include "replay/account_view.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>

#include "engine/health.h"

namespace liql {
namespace {

using Json = nlohmann::ordered_json;

Json view(const State& state, AccountId id, const AccountLabels& labels) {
  const Account& account = *state.account(id);
  Json out;
  out["account"] = id;
  if (const std::string* label = labels.find(id)) out["address"] = *label;
  out["seq"] = state.seq;
  out["ts"] = state.ts;
  Json balances = Json::array();
  for (const auto& [asset, amount] : account.balances) {
    const AssetParams& params = state.assets.at(asset).params;
    balances.push_back(Json{{"asset", asset},
                            {"symbol", params.symbol},
                            {"amount", amount.str()},
                            {"decimal", format_units(amount, params.decimals)}});
  }
  out["balances"] = std::move(balances);
  Json positions = Json::array();
  for (const auto& [market, position] : account.positions) {
    const MarketParams& params = state.markets.at(market).params;
    positions.push_back(Json{{"market", market},
                             {"symbol", params.symbol},
                             {"base", position.base.str()},
                             {"quote", position.quote.str()},
                             {"base_decimal", format_units(position.base, params.base_decimals)}});
  }
  out["positions"] = std::move(positions);
  out["evaluable"] = evaluable(state, account, state.ts);
  if (!priced(state, account)) {
    out["health"] = nullptr;
    return out;
  }
  // Holdings that fit the state may still give figures beyond 256 bits (a huge
  // balance at a huge price): Int throws, and there is no health to show.
  std::optional<HealthReport> report;
  try {
    report = health_report(state, account);
  } catch (const std::overflow_error&) {
  } catch (const std::range_error&) {
  }
  if (!report) {
    out["health"] = nullptr;
    out["health_error"] = "ARITHMETIC_OVERFLOW";
    return out;
  }
  out["equity"] = report->equity.str();
  out["h_init"] = report->init.str();
  out["h_target"] = report->target.str();
  out["h_maint"] = report->maint.str();
  out["hf_maint"] = report->hf_maint ? report->hf_maint->str() : "inf";
  out["status"] = std::string(status_name(report->status));
  return out;
}

}  // namespace

std::string account_json(const State& state, AccountId id, const AccountLabels& labels) {
  return view(state, id, labels).dump();
}

std::string account_text(const State& state, AccountId id, const AccountLabels& labels) {
  const Json v = view(state, id, labels);
  const unsigned qd = state.quote_decimals();
  const std::string* label = labels.find(id);
  std::string out = fmt::format("account {}{} at seq {} (ts {})\n", id, label ? " (" + *label + ")" : "", state.seq,
                                state.ts);
  for (const auto& balance : v["balances"]) {
    out += fmt::format("  balance  {:<10} {}\n", balance["symbol"].get<std::string>(),
                       balance["decimal"].get<std::string>());
  }
  for (const auto& position : v["positions"]) {
    out += fmt::format("  position {:<10} base {} quote {}\n", position["symbol"].get<std::string>(),
                       position["base_decimal"].get<std::string>(),
                       format_units(Int(position["quote"].get<std::string>()), qd));
  }
  if (v.contains("health_error")) return out + "  health   unavailable (arithmetic overflow beyond 256 bits)\n";
  if (!v.contains("equity")) return out + "  health   unavailable (a price is missing)\n";
  auto quote = [&](const char* key) { return format_units(Int(v[key].get<std::string>()), qd); };
  out += fmt::format("  equity {}  h_init {}  h_target {}  h_maint {}\n", quote("equity"), quote("h_init"),
                     quote("h_target"), quote("h_maint"));
  const std::string hf = v["hf_maint"].get<std::string>();
  out += fmt::format("  hf_maint {}  status {}{}\n", hf == "inf" ? hf : format_units(Int(hf), 18),
                     v["status"].get<std::string>(), v["evaluable"].get<bool>() ? "" : "  (a price is stale)");
  return out;
}

}  // namespace liql
