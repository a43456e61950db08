#include "schemas/event_types.h"

#include <array>
#include <utility>

namespace liql {
namespace {

constexpr std::array<std::pair<fb::Body, std::string_view>, 16> kNames{{
    {fb::Body::Genesis, "genesis"},
    {fb::Body::SetProtocol, "set_protocol"},
    {fb::Body::ListAsset, "list_asset"},
    {fb::Body::SetAsset, "set_asset"},
    {fb::Body::ListMarket, "list_market"},
    {fb::Body::SetMarket, "set_market"},
    {fb::Body::Price, "price"},
    {fb::Body::Deposit, "deposit"},
    {fb::Body::Withdraw, "withdraw"},
    {fb::Body::Trade, "trade"},
    {fb::Body::LiquidatePerp, "liquidate_perp"},
    {fb::Body::LiquidateToken, "liquidate_token"},
    {fb::Body::InsuranceDeposit, "insurance_deposit"},
    {fb::Body::SyncBalance, "sync_balance"},
    {fb::Body::SyncPosition, "sync_position"},
    {fb::Body::Absorb, "absorb"},
}};

}  // namespace

std::string_view event_type_name(fb::Body body) {
  for (const auto& [value, name] : kNames) {
    if (value == body) return name;
  }
  return "unknown";
}

std::optional<fb::Body> event_type_from_name(std::string_view name) {
  for (const auto& [value, text] : kNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

}  // namespace liql
