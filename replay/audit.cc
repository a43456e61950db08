#include "replay/audit.h"

#include "engine/health.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace liql {
namespace {

using Json = nlohmann::ordered_json;

std::string text(const Int& value) { return value.str(); }
std::string text(const std::optional<Int>& value) { return value ? value->str() : ""; }
Json json(const std::optional<Int>& value) { return value ? Json(value->str()) : Json(nullptr); }
std::string hf_text(const std::optional<Int>& hf) { return hf ? hf->str() : "inf"; }

Json price_json(const std::optional<PriceSeen>& seen) {
  if (!seen) return nullptr;
  return Json{{"price", text(seen->price)}, {"age_us", seen->age_us}};
}

Json policy_json(const Policy& policy) {
  Json out{{"kind", std::string(policy_name(policy.kind))}};
  if (policy.kind == PolicyKind::CloseFactor) {
    out["close_factor"] = text(policy.close_factor);
    out["full_liquidation_hf"] = text(policy.full_liquidation_hf);
  }
  return out;
}

Json health_json(const std::optional<HealthSnapshot>& health, bool with_init) {
  if (!health) return nullptr;
  Json out{{"equity", text(health->equity)}};
  if (with_init) out["h_init"] = text(health->h_init);
  out["h_target"] = text(health->h_target);
  out["h_maint"] = text(health->h_maint);
  out["hf_maint"] = hf_text(health->hf_maint);
  out["status"] = std::string(status_name(health->status));
  return out;
}

Json penalty_json(const std::optional<PenaltySplit>& penalty) {
  if (!penalty) return nullptr;
  return Json{{"total", text(penalty->total)},
              {"liquidator", text(penalty->liquidator)},
              {"insurance", text(penalty->insurance)},
              {"treasury", text(penalty->treasury)}};
}

Json bankrupt_json(const std::optional<Bankruptcy>& bankrupt) {
  if (!bankrupt) return nullptr;
  Json lines = Json::array();
  for (const BankruptcyLine& line : bankrupt->lines) {
    lines.push_back(Json{{"asset", line.asset},
                         {"dust", text(line.dust)},
                         {"covered", text(line.covered)},
                         {"bad_debt", text(line.bad_debt)}});
  }
  return Json{{"covered", text(bankrupt->covered_value)},
              {"bad_debt", text(bankrupt->bad_debt_value)},
              {"assets", std::move(lines)}};
}

std::string flags_text(uint32_t flags, const char* separator) {
  std::string out;
  for (std::string_view name : flag_names(flags)) {
    if (!out.empty()) out += separator;
    out += name;
  }
  return out;
}

bool is_perp(const LiquidationAudit& a) { return a.kind == LiquidationKind::Perp; }
bool is_token(const LiquidationAudit& a) { return a.kind == LiquidationKind::Token; }
std::string kind_text(const LiquidationAudit& a) { return std::string(kind_name(a.kind)); }
// No liquidator for an absorb.
Json liquidator_json(const LiquidationAudit& a) {
  return a.kind == LiquidationKind::Absorb ? Json(nullptr) : Json(a.liquidator);
}
std::string liquidator_text(const LiquidationAudit& a) {
  return a.kind == LiquidationKind::Absorb ? "" : std::to_string(a.liquidator);
}

std::string where(const LiquidationAudit& a) {
  switch (a.kind) {
    case LiquidationKind::Perp: return fmt::format("m{}", a.market);
    case LiquidationKind::Token: return fmt::format("{}->{}", a.liability, a.collateral);
    case LiquidationKind::Absorb: break;
  }
  return "";
}

// Formats a quote amount in base units as a decimal with `decimals` digits.
std::string units(const Int& value, unsigned decimals) { return format_units(value, decimals); }

void add_split(PenaltySplit& total, const PenaltySplit& part) {
  total.total += part.total;
  total.liquidator += part.liquidator;
  total.insurance += part.insurance;
  total.treasury += part.treasury;
}

}  // namespace

std::string audit_json(const AuditRecord& record, const AccountLabels& labels) {
  const LiquidationAudit& a = record.audit;
  Json out;
  out["seq"] = record.seq;
  out["ts"] = record.ts;
  out["kind"] = kind_text(a);
  out["account"] = a.account;
  out["liquidator"] = liquidator_json(a);
  if (is_perp(a)) {
    out["market"] = a.market;
    out["price"] = price_json(a.price);
  } else if (is_token(a)) {
    out["liability"] = a.liability;
    out["collateral"] = a.collateral;
    out["liability_price"] = price_json(a.liability_price);
    out["collateral_price"] = price_json(a.collateral_price);
  }
  out["policy"] = policy_json(a.policy);
  out["pre"] = health_json(a.pre, true);
  out["required"] = json(a.required);
  out["allowed"] = json(a.allowed);
  out["requested"] = json(a.requested);
  out["executed"] = json(a.executed);
  out["penalty"] = penalty_json(a.penalty);
  if (is_token(a)) out["seized"] = json(a.seized);
  out["closed_value"] = json(a.closed_value);
  out["excess_size"] = json(a.excess_size);
  out["excess_penalty"] = json(a.excess_penalty);
  out["post"] = health_json(a.post, false);
  out["bankrupt"] = bankrupt_json(a.bankrupt);
  out["verdict"] = std::string(verdict_name(a.verdict));
  Json flags = Json::array();
  for (std::string_view name : flag_names(a.flags)) flags.push_back(std::string(name));
  out["flags"] = std::move(flags);
  out["reason"] = a.reason == Reason::None ? Json(nullptr) : Json(std::string(reason_name(a.reason)));
  out["state_hash"] = to_hex(record.state_hash);
  if (!labels.empty()) {
    const std::string* account = labels.find(a.account);
    const std::string* liquidator = a.kind == LiquidationKind::Absorb ? nullptr : labels.find(a.liquidator);
    out["account_address"] = account ? Json(*account) : Json(nullptr);
    out["liquidator_address"] = liquidator ? Json(*liquidator) : Json(nullptr);
  }
  return out.dump();
}

std::string audit_csv_header(const AccountLabels& labels) {
  return std::string(
             "seq,ts,kind,account,liquidator,market,liability,collateral,policy,pre_status,pre_equity,pre_h_init,"
         "pre_h_target,pre_h_maint,pre_hf_maint,required,allowed,requested,executed,penalty_total,"
         "penalty_liquidator,penalty_insurance,penalty_treasury,seized,closed_value,excess_size,excess_penalty,"
         "post_status,post_equity,post_h_target,post_h_maint,post_hf_maint,bankrupt_covered,bankrupt_bad_debt,"
         "verdict,flags,reason,state_hash") +
         (labels.empty() ? "" : ",account_address,liquidator_address");
}

std::string audit_csv(const AuditRecord& record, const AccountLabels& labels) {
  const LiquidationAudit& a = record.audit;
  std::vector<std::string> cells;
  cells.push_back(std::to_string(record.seq));
  cells.push_back(std::to_string(record.ts));
  cells.push_back(kind_text(a));
  cells.push_back(std::to_string(a.account));
  cells.push_back(liquidator_text(a));
  cells.push_back(is_perp(a) ? std::to_string(a.market) : "");
  cells.push_back(is_token(a) ? std::to_string(a.liability) : "");
  cells.push_back(is_token(a) ? std::to_string(a.collateral) : "");
  cells.push_back(std::string(policy_name(a.policy.kind)));
  auto health = [&](const std::optional<HealthSnapshot>& h, bool pre) {
    cells.push_back(h ? std::string(status_name(h->status)) : "");
    cells.push_back(h ? text(h->equity) : "");
    if (pre) cells.push_back(h ? text(h->h_init) : "");
    cells.push_back(h ? text(h->h_target) : "");
    cells.push_back(h ? text(h->h_maint) : "");
    cells.push_back(h ? hf_text(h->hf_maint) : "");
  };
  health(a.pre, true);
  for (const auto* value : {&a.required, &a.allowed, &a.requested, &a.executed}) cells.push_back(text(*value));
  for (const Int PenaltySplit::*part :
       {&PenaltySplit::total, &PenaltySplit::liquidator, &PenaltySplit::insurance, &PenaltySplit::treasury}) {
    cells.push_back(a.penalty ? text((*a.penalty).*part) : "");
  }
  for (const auto* value : {&a.seized, &a.closed_value, &a.excess_size, &a.excess_penalty}) {
    cells.push_back(text(*value));
  }
  health(a.post, false);
  cells.push_back(a.bankrupt ? text(a.bankrupt->covered_value) : "");
  cells.push_back(a.bankrupt ? text(a.bankrupt->bad_debt_value) : "");
  cells.push_back(std::string(verdict_name(a.verdict)));
  cells.push_back(flags_text(a.flags, "|"));
  cells.push_back(a.reason == Reason::None ? "" : std::string(reason_name(a.reason)));
  cells.push_back(to_hex(record.state_hash));
  if (!labels.empty()) {
    const std::string* account = labels.find(a.account);
    const std::string* liquidator = a.kind == LiquidationKind::Absorb ? nullptr : labels.find(a.liquidator);
    cells.push_back(account ? *account : "");
    cells.push_back(liquidator ? *liquidator : "");
  }
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += ',';
    line += cells[i];  // no cell holds a comma or a quote
  }
  return line;
}

namespace {
// The account columns: 8 wide for ids, 42 for addresses.
size_t id_width(const AccountLabels& labels) { return labels.empty() ? 8 : 42; }
}  // namespace

namespace {

// A decimal in whole units and its symbol ("2.906 ETH-PERP"), or the base
// units alone when the instrument is not listed (a record rejected UNKNOWN_*).
struct UnitOf {
  unsigned decimals = 0;
  std::string symbol;
  bool known = false;
  std::string operator()(const std::optional<Int>& value) const {
    if (!value) return "";
    return known ? format_units(*value, decimals) + " " + symbol : value->str();
  }
};
UnitOf asset_unit(const State& state, AssetId id) {
  const auto it = state.assets.find(id);
  return it == state.assets.end() ? UnitOf{} : UnitOf{it->second.params.decimals, it->second.params.symbol, true};
}
UnitOf market_unit(const State& state, MarketId id) {
  const auto it = state.markets.find(id);
  return it == state.markets.end() ? UnitOf{}
                                   : UnitOf{it->second.params.base_decimals, it->second.params.symbol, true};
}

constexpr const char* kTableRow = "{:>8} {:<5} {:>{}} {:>{}} {:<18} {:<14} {:>26} {:>26} {:>26} {:>30} {:<14} {:<20} {}";

}  // namespace

std::string audit_table_header(const AccountLabels& labels) {
  const size_t w = id_width(labels);
  return fmt::format(fmt::runtime(kTableRow), "seq", "kind", "account", w, "liqdtor", w, "where", "verdict",
                     "required", "executed", "allowed", "penalty", "post", "reason", "flags");
}

std::string audit_table_row(const AuditRecord& record, const State& state, const AccountLabels& labels) {
  const LiquidationAudit& a = record.audit;
  const size_t w = id_width(labels);
  const std::string liquidator = a.kind == LiquidationKind::Absorb ? "" : labels.name(a.liquidator);
  UnitOf size, penalty;
  std::string place;
  if (is_perp(a)) {
    size = market_unit(state, a.market);
    penalty = asset_unit(state, kQuoteAsset);
    place = size.known ? size.symbol : where(a);
  } else if (is_token(a)) {
    size = asset_unit(state, a.liability);
    penalty = asset_unit(state, a.collateral);
    place = size.known && penalty.known ? size.symbol + "->" + penalty.symbol : where(a);
  }
  return fmt::format(fmt::runtime(kTableRow), record.seq, kind_text(a), labels.name(a.account), w, liquidator, w, place,
                     verdict_name(a.verdict), size(a.required), size(a.executed), size(a.allowed),
                     a.penalty ? penalty(a.penalty->total) : "", a.post ? status_name(a.post->status) : "",
                     a.reason == Reason::None ? "" : reason_name(a.reason), flags_text(a.flags, ","));
}

void AuditSummary::add(const LiquidationAudit& audit) {
  ++liquidations;
  ++by_verdict.at(static_cast<size_t>(audit.verdict));
  ++(is_perp(audit) ? perp : is_token(audit) ? token : absorbs);
  if (audit.reason != Reason::None) ++reasons[std::string(reason_name(audit.reason))];
  for (std::string_view name : flag_names(audit.flags)) ++flags[std::string(name)];
  if (audit.closed_value) closed_notional += *audit.closed_value;
  if (audit.penalty) add_split(is_perp(audit) ? perp_penalties : token_bonuses[audit.collateral], *audit.penalty);
  if (audit.bankrupt) {
    ++bankruptcies;
    bankrupt_covered_value += audit.bankrupt->covered_value;
    bankrupt_bad_debt_value += audit.bankrupt->bad_debt_value;
  }
}

std::string AuditSummary::to_text(const State& state, const Hash& final_hash) const {
  const unsigned qd = state.has_genesis() ? state.quote_decimals() : 0;
  const std::string quote = state.has_genesis() ? state.assets.at(kQuoteAsset).params.symbol : "";
  std::string out;
  out += fmt::format("liquidation events   {} ({} perp, {} token, {} absorb)\n", liquidations, perp, token, absorbs);
  for (size_t v = 0; v < by_verdict.size(); ++v) {
    if (by_verdict[v] != 0) out += fmt::format("  {:<18} {}\n", verdict_name(static_cast<Verdict>(v)), by_verdict[v]);
  }
  for (const auto& [reason, count] : reasons) out += fmt::format("  rejected {:<21} {}\n", reason, count);
  for (const auto& [flag, count] : flags) out += fmt::format("  flag {:<25} {}\n", flag, count);
  out += fmt::format("closed notional      {} {}\n", units(closed_notional, qd), quote);
  out += fmt::format("perp penalties       {} {} (liquidators {}, insurance {}, treasury {})\n",
                     units(perp_penalties.total, qd), quote, units(perp_penalties.liquidator, qd),
                     units(perp_penalties.insurance, qd), units(perp_penalties.treasury, qd));
  for (const auto& [asset, split] : token_bonuses) {
    const Asset* a = state.asset(asset);
    const unsigned d = a ? a->params.decimals : 0;
    out += fmt::format("token bonus {:<8} {} (liquidators {}, insurance {}, treasury {})\n",
                       a ? a->params.symbol : std::to_string(asset), units(split.total, d),
                       units(split.liquidator, d), units(split.insurance, d), units(split.treasury, d));
  }
  out += fmt::format("bankruptcies         {} (insurance covered {} {}, bad debt {} {})\n", bankruptcies,
                     units(bankrupt_covered_value, qd), quote, units(bankrupt_bad_debt_value, qd), quote);
  for (const auto& [asset, funds] : state.funds) {
    const Asset& a = state.assets.at(asset);
    if (funds.bad_debt.is_zero() && funds.insurance.is_zero()) continue;
    out += fmt::format("fund {:<15} insurance {}, bad debt {}\n", a.params.symbol,
                       units(funds.insurance, a.params.decimals), units(funds.bad_debt, a.params.decimals));
  }
  // Accounts left BANKRUPT at the end (priced ones: the status needs every price).
  uint64_t still_bankrupt = 0;
  for (const auto& [id, account] : state.accounts) {
    (void)id;
    if (priced(state, account) && health_report(state, account).status == AccountStatus::Bankrupt) ++still_bankrupt;
  }
  out += fmt::format("still bankrupt       {} accounts at the final seq\n", still_bankrupt);
  out += fmt::format("final seq            {}\n", state.seq);
  out += fmt::format("final state hash     {}\n", to_hex(final_hash));
  return out;
}

}  // namespace liql
