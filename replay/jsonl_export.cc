#include "replay/jsonl_export.h"

#include <nlohmann/json.hpp>

#include "schemas/event_types.h"

namespace liql {
namespace {

using Json = nlohmann::ordered_json;

// Every number in the log is already canonical decimal text.
void put(Json& out, const char* key, const flatbuffers::String* text) {
  if (text != nullptr) out[key] = text->str();
}

Json levels(const fb::Levels* value) {
  Json out = Json::object();
  put(out, "init", value->init());
  put(out, "target", value->target());
  put(out, "maint", value->maint());
  return out;
}

const char* policy_text(fb::Policy policy) {
  switch (policy) {
    case fb::Policy::Full: return "full";
    case fb::Policy::CloseFactor: return "close_factor";
    default: return "partial";
  }
}

const char* mode_text(fb::Mode mode) { return mode == fb::Mode::Observe ? "observe" : "enforce"; }

void genesis(Json& out, const fb::Genesis& e) {
  out["mode"] = mode_text(e.mode());
  out["quote_symbol"] = e.quote_symbol()->str();
  out["quote_decimals"] = e.quote_decimals();
  out["policy"] = policy_text(e.policy());
  put(out, "close_factor", e.close_factor());
  put(out, "full_liquidation_hf", e.full_liquidation_hf());
  put(out, "liquidator_share", e.liquidator_share());
  put(out, "insurance_share", e.insurance_share());
  out["seize_tolerance"] = e.seize_tolerance();
}

void set_protocol(Json& out, const fb::SetProtocol& e) {
  if (e.policy()) out["policy"] = policy_text(*e.policy());
  put(out, "close_factor", e.close_factor());
  put(out, "full_liquidation_hf", e.full_liquidation_hf());
  put(out, "liquidator_share", e.liquidator_share());
  put(out, "insurance_share", e.insurance_share());
  if (e.mode()) out["mode"] = mode_text(*e.mode());
}

void asset_spec(Json& out, const fb::AssetSpec& e) {
  out["asset"] = e.asset();
  out["symbol"] = e.symbol()->str();
  out["decimals"] = e.decimals();
  out["borrowable"] = e.borrowable();
  out["max_oracle_age_us"] = e.max_oracle_age_us();
  out["asset_weight"] = levels(e.asset_weight());
  out["liab_weight"] = levels(e.liab_weight());
  put(out, "liquidation_bonus", e.liquidation_bonus());
}

void market_spec(Json& out, const fb::MarketSpec& e) {
  out["market"] = e.market();
  out["symbol"] = e.symbol()->str();
  out["base_decimals"] = e.base_decimals();
  out["margin"] = levels(e.margin());
  put(out, "liquidation_fee", e.liquidation_fee());
  put(out, "lot_size", e.lot_size());
  put(out, "min_position", e.min_position());
  out["max_oracle_age_us"] = e.max_oracle_age_us();
  put(out, "max_trade_deviation", e.max_trade_deviation());
}

void price(Json& out, const fb::Price& e) {
  if (e.asset()) out["asset"] = *e.asset();
  if (e.market()) out["market"] = *e.market();
  put(out, "price", e.price());
  out["publish_ts"] = e.publish_ts();
}

void transfer(Json& out, const fb::Transfer& e) {
  out["account"] = e.account();
  out["asset"] = e.asset();
  put(out, "amount", e.amount());
}

void trade(Json& out, const fb::Trade& e) {
  out["market"] = e.market();
  out["taker"] = e.taker();
  out["maker"] = e.maker();
  put(out, "base", e.base());
  put(out, "price", e.price());
}

void liquidate_perp(Json& out, const fb::LiquidatePerp& e) {
  out["liquidator"] = e.liquidator();
  out["account"] = e.account();
  out["market"] = e.market();
  put(out, "max_base", e.max_base());
  put(out, "executed_base", e.executed_base());
  put(out, "penalty", e.penalty());
}

void liquidate_token(Json& out, const fb::LiquidateToken& e) {
  out["liquidator"] = e.liquidator();
  out["account"] = e.account();
  out["liability_asset"] = e.liability_asset();
  out["collateral_asset"] = e.collateral_asset();
  put(out, "max_repay", e.max_repay());
  put(out, "repaid", e.repaid());
  put(out, "seized", e.seized());
}

void insurance_deposit(Json& out, const fb::InsuranceDeposit& e) {
  out["asset"] = e.asset();
  put(out, "amount", e.amount());
}

void sync_balance(Json& out, const fb::SyncBalance& e) {
  out["account"] = e.account();
  out["asset"] = e.asset();
  put(out, "amount", e.amount());
}

void sync_position(Json& out, const fb::SyncPosition& e) {
  out["account"] = e.account();
  out["market"] = e.market();
  put(out, "base", e.base());
  put(out, "quote", e.quote());
}

}  // namespace

std::string event_to_json(const fb::Event& event) {
  Json out = Json::object();
  out["type"] = std::string(event_type_name(event.body_type()));
  out["ts"] = event.ts();
  switch (event.body_type()) {
    case fb::Body::Genesis: genesis(out, *event.body_as_Genesis()); break;
    case fb::Body::SetProtocol: set_protocol(out, *event.body_as_SetProtocol()); break;
    case fb::Body::ListAsset: asset_spec(out, *event.body_as_ListAsset()); break;
    case fb::Body::SetAsset: asset_spec(out, *event.body_as_SetAsset()); break;
    case fb::Body::ListMarket: market_spec(out, *event.body_as_ListMarket()); break;
    case fb::Body::SetMarket: market_spec(out, *event.body_as_SetMarket()); break;
    case fb::Body::Price: price(out, *event.body_as_Price()); break;
    case fb::Body::Deposit: transfer(out, *event.body_as_Deposit()); break;
    case fb::Body::Withdraw: transfer(out, *event.body_as_Withdraw()); break;
    case fb::Body::Trade: trade(out, *event.body_as_Trade()); break;
    case fb::Body::LiquidatePerp: liquidate_perp(out, *event.body_as_LiquidatePerp()); break;
    case fb::Body::LiquidateToken: liquidate_token(out, *event.body_as_LiquidateToken()); break;
    case fb::Body::InsuranceDeposit: insurance_deposit(out, *event.body_as_InsuranceDeposit()); break;
    case fb::Body::SyncBalance: sync_balance(out, *event.body_as_SyncBalance()); break;
    case fb::Body::SyncPosition: sync_position(out, *event.body_as_SyncPosition()); break;
    case fb::Body::Absorb: out["account"] = event.body_as_Absorb()->account(); break;
    case fb::Body::NONE: break;
  }
  return out.dump();
}

}  // namespace liql
