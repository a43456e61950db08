#include "schemas/event_check.h"

#include "schemas/decimal_text.h"

namespace liql {
namespace {

class Check {
 public:
  Check(std::string* field, std::string* error) : field_(field), error_(error) {}

  bool fail(const char* field, const std::string& error) {
    *field_ = field;
    *error_ = error;
    return false;
  }
  bool number(const flatbuffers::String* text, const char* field) {
    if (text == nullptr) return fail(field, "missing");
    return optional_number(text, field);
  }
  bool optional_number(const flatbuffers::String* text, const char* field) {
    if (text != nullptr && !is_canonical_decimal(text->string_view())) {
      return fail(field, "not a canonical decimal: \"" + text->str() + "\"");
    }
    return true;
  }
  bool text(const flatbuffers::String* value, const char* field) {
    if (value == nullptr) return fail(field, "missing");
    if (!is_utf8(value->string_view())) return fail(field, "not valid UTF-8");
    return true;
  }
  bool levels(const fb::Levels* value, const char* field) {
    if (value == nullptr) return fail(field, "missing");
    return number(value->init(), field) && number(value->target(), field) && number(value->maint(), field);
  }

  bool genesis(const fb::Genesis& e) {
    return text(e.quote_symbol(), "quote_symbol") && optional_number(e.close_factor(), "close_factor") &&
           optional_number(e.full_liquidation_hf(), "full_liquidation_hf") &&
           number(e.liquidator_share(), "liquidator_share") && number(e.insurance_share(), "insurance_share");
  }
  bool set_protocol(const fb::SetProtocol& e) {
    return optional_number(e.close_factor(), "close_factor") &&
           optional_number(e.full_liquidation_hf(), "full_liquidation_hf") &&
           optional_number(e.liquidator_share(), "liquidator_share") &&
           optional_number(e.insurance_share(), "insurance_share");
  }
  bool asset(const fb::AssetSpec& e) {
    return text(e.symbol(), "symbol") && levels(e.asset_weight(), "asset_weight") &&
           levels(e.liab_weight(), "liab_weight") && number(e.liquidation_bonus(), "liquidation_bonus");
  }
  bool market(const fb::MarketSpec& e) {
    return text(e.symbol(), "symbol") && levels(e.margin(), "margin") &&
           number(e.liquidation_fee(), "liquidation_fee") && number(e.lot_size(), "lot_size") &&
           number(e.min_position(), "min_position") && number(e.max_trade_deviation(), "max_trade_deviation");
  }
  // SPEC §3: a price cannot be published after the event that brings it.
  bool price(const fb::Price& e, uint64_t ts) {
    if (e.asset().has_value() == e.market().has_value()) return fail("asset", "exactly one of asset and market");
    if (e.publish_ts() > ts) return fail("publish_ts", "after the event's ts (" + std::to_string(ts) + ")");
    return number(e.price(), "price");
  }
  bool liquidate_perp(const fb::LiquidatePerp& e) {
    return optional_number(e.max_base(), "max_base") && optional_number(e.executed_base(), "executed_base") &&
           optional_number(e.penalty(), "penalty");
  }
  bool liquidate_token(const fb::LiquidateToken& e) {
    return optional_number(e.max_repay(), "max_repay") && optional_number(e.repaid(), "repaid") &&
           optional_number(e.seized(), "seized");
  }

 private:
  std::string* field_;
  std::string* error_;
};

}  // namespace

bool is_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    const uint8_t lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    uint8_t low = 0x80, high = 0xBF;  // the allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    if (byte(i + 1) < low || byte(i + 1) > high) return false;
    for (size_t k = 2; k < length; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return false;
    }
    i += length;
  }
  return true;
}

bool check_event(const fb::Event& event, std::string* field, std::string* error) {
  Check check(field, error);
  switch (event.body_type()) {
    case fb::Body::Genesis: return check.genesis(*event.body_as_Genesis());
    case fb::Body::SetProtocol: return check.set_protocol(*event.body_as_SetProtocol());
    case fb::Body::ListAsset: return check.asset(*event.body_as_ListAsset());
    case fb::Body::SetAsset: return check.asset(*event.body_as_SetAsset());
    case fb::Body::ListMarket: return check.market(*event.body_as_ListMarket());
    case fb::Body::SetMarket: return check.market(*event.body_as_SetMarket());
    case fb::Body::Price: return check.price(*event.body_as_Price(), event.ts());
    case fb::Body::Deposit: return check.number(event.body_as_Deposit()->amount(), "amount");
    case fb::Body::Withdraw: return check.number(event.body_as_Withdraw()->amount(), "amount");
    case fb::Body::Trade:
      return check.number(event.body_as_Trade()->base(), "base") &&
             check.number(event.body_as_Trade()->price(), "price");
    case fb::Body::LiquidatePerp: return check.liquidate_perp(*event.body_as_LiquidatePerp());
    case fb::Body::LiquidateToken: return check.liquidate_token(*event.body_as_LiquidateToken());
    case fb::Body::InsuranceDeposit: return check.number(event.body_as_InsuranceDeposit()->amount(), "amount");
    case fb::Body::SyncBalance: return check.number(event.body_as_SyncBalance()->amount(), "amount");
    case fb::Body::SyncPosition:
      return check.number(event.body_as_SyncPosition()->base(), "base") &&
             check.number(event.body_as_SyncPosition()->quote(), "quote");
    case fb::Body::Absorb: return true;
    case fb::Body::NONE: break;
  }
  return check.fail("type", "unknown event type " + std::to_string(static_cast<int>(event.body_type())));
}

const fb::Event* verify_event_buffer(const uint8_t* data, size_t size, std::string* field, std::string* error) {
  flatbuffers::Verifier verifier(data, size);
  if (!verifier.VerifyBuffer<fb::Event>(nullptr)) {
    *field = "event";
    *error = "FlatBuffers verification failed";
    return nullptr;
  }
  const fb::Event* event = flatbuffers::GetRoot<fb::Event>(data);
  if (event->body() == nullptr && event->body_type() != fb::Body::NONE) {
    *field = "body";
    *error = "missing";
    return nullptr;
  }
  return check_event(*event, field, error) ? event : nullptr;
}

}  // namespace liql
