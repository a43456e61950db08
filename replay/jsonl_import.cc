#include "replay/jsonl_import.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <set>

#include "engine/params.h"
#include "liqledger_generated.h"
#include "replay/json_fields.h"
#include "schemas/decimal_text.h"
#include "schemas/event_types.h"

namespace liql {

std::string InputError::to_string() const {
  std::string out = "line " + std::to_string(line);
  if (!field.empty()) out += ", field \"" + field + "\"";
  return out + ": " + message;
}

namespace {

using Json = nlohmann::json;
using Offset = flatbuffers::Offset<flatbuffers::String>;

constexpr unsigned kRatioDecimals = 18;
constexpr unsigned kPriceDecimals = 18;
constexpr unsigned kUnknownDecimals = kMaxFractionDigits;  // an unknown id: the engine rejects it later

enum class Sign { NonNegative, Signed };

}  // namespace

// Reads the fields of one JSON object in a fixed order and builds the Event
// FlatBuffer. The same fields always give the same bytes, whatever the key
// order of the line: export → import is an exact round trip.
class LineParser {
 public:
  LineParser(JsonlImporter& importer, const Json& object) : importer_(importer), object_(object) {}

  std::string parse() {
    const std::string type = text_field("type");
    const auto body_type = event_type_from_name(type);
    if (!body_type) refuse("type", "unknown event type \"" + type + "\"");
    ts_ = u64_field("ts");
    if (*body_type == fb::Body::Genesis) {
      if (importer_.genesis_seen_) refuse("type", "a second genesis (genesis is only the first event)");
    } else if (!importer_.genesis_seen_) {
      refuse("type", "the first event must be genesis");
    }
    if (importer_.genesis_seen_ && ts_ < importer_.last_ts_) {
      refuse("ts", std::to_string(ts_) + " is before the previous event's " + std::to_string(importer_.last_ts_) +
                       " (ts never decreases)");
    }
    const flatbuffers::Offset<void> body = build_body(*body_type);
    for (const auto& item : object_.items()) {
      if (!used_.count(item.key())) refuse(item.key(), "unknown field for event type \"" + type + "\"");
    }
    builder_.Finish(fb::CreateEvent(builder_, ts_, *body_type, body));
    importer_.last_ts_ = ts_;
    return std::string(reinterpret_cast<const char*>(builder_.GetBufferPointer()), builder_.GetSize());
  }

 private:
  flatbuffers::Offset<void> build_body(fb::Body type) {
    switch (type) {
      case fb::Body::Genesis: return genesis().Union();
      case fb::Body::SetProtocol: return set_protocol().Union();
      case fb::Body::ListAsset: return asset_spec(true).Union();
      case fb::Body::SetAsset: return asset_spec(false).Union();
      case fb::Body::ListMarket: return market_spec(true).Union();
      case fb::Body::SetMarket: return market_spec(false).Union();
      case fb::Body::Price: return price().Union();
      case fb::Body::Deposit:
      case fb::Body::Withdraw: return transfer().Union();
      case fb::Body::Trade: return trade().Union();
      case fb::Body::LiquidatePerp: return liquidate_perp().Union();
      case fb::Body::LiquidateToken: return liquidate_token().Union();
      case fb::Body::InsuranceDeposit: return insurance_deposit().Union();
      case fb::Body::SyncBalance: return sync_balance().Union();
      case fb::Body::SyncPosition: return sync_position().Union();
      case fb::Body::Absorb: return fb::CreateAbsorb(builder_, u64_field("account")).Union();
      case fb::Body::NONE: break;
    }
    refuse("type", "unknown event type");
  }

  // ---- field readers -----------------------------------------------------------

  const Json* find(const std::string& name) {
    used_.insert(name);
    auto it = object_.find(name);
    return it == object_.end() ? nullptr : &*it;
  }

  const Json& require(const std::string& name) {
    const Json* value = find(name);
    if (value == nullptr) refuse(name, "missing");
    return *value;
  }

  uint64_t u64_field(const std::string& name) {
    return unsigned_value(require(name), name, std::numeric_limits<uint64_t>::max());
  }
  uint32_t u32_field(const std::string& name) {
    return static_cast<uint32_t>(unsigned_value(require(name), name, std::numeric_limits<uint32_t>::max()));
  }
  std::optional<uint32_t> optional_u32(const std::string& name) {
    const Json* value = find(name);
    if (value == nullptr) return std::nullopt;
    return static_cast<uint32_t>(unsigned_value(*value, name, std::numeric_limits<uint32_t>::max()));
  }
  std::optional<uint64_t> optional_u64(const std::string& name) {
    const Json* value = find(name);
    if (value == nullptr) return std::nullopt;
    return unsigned_value(*value, name, std::numeric_limits<uint64_t>::max());
  }

  std::string text_field(const std::string& name) {
    const Json& value = require(name);
    if (!value.is_string()) refuse(name, "expected a string");
    return value.get<std::string>();
  }

  bool bool_field(const std::string& name) {
    const Json& value = require(name);
    if (!value.is_boolean()) refuse(name, "expected true or false");
    return value.get<bool>();
  }

  // A decimal string with at most `decimals` fractional digits, in canonical form.
  static std::string decimal(const Json& value, const std::string& name, unsigned decimals, Sign sign) {
    if (!value.is_string()) refuse(name, "expected a decimal string like \"12.5\"");
    std::string error;
    auto parsed = parse_decimal_text(value.get<std::string>(), &error);
    if (!parsed) refuse(name, error);
    if (parsed->scale > decimals) {
      refuse(name, "\"" + value.get<std::string>() + "\" has more than " + std::to_string(decimals) + " decimals");
    }
    if (sign == Sign::NonNegative && parsed->negative) refuse(name, "must not be negative");
    return parsed->canonical;
  }

  Offset number(const std::string& name, unsigned decimals, Sign sign = Sign::NonNegative) {
    return builder_.CreateString(decimal(require(name), name, decimals, sign));
  }
  Offset optional_number(const std::string& name, unsigned decimals, Sign sign = Sign::NonNegative) {
    const Json* value = find(name);
    if (value == nullptr) return 0;
    return builder_.CreateString(decimal(*value, name, decimals, sign));
  }

  flatbuffers::Offset<fb::Levels> levels(const std::string& name) {
    const Json& value = require(name);
    if (!value.is_object()) refuse(name, "expected an object {\"init\",\"target\",\"maint\"}");
    for (const auto& item : value.items()) {
      if (item.key() != "init" && item.key() != "target" && item.key() != "maint") {
        refuse(name + "." + item.key(), "unknown field");
      }
    }
    auto level = [&](const char* key) {
      auto it = value.find(key);
      if (it == value.end()) refuse(name + "." + key, "missing");
      return builder_.CreateString(decimal(*it, name + "." + key, kRatioDecimals, Sign::NonNegative));
    };
    Offset init = level("init");
    Offset target = level("target");
    Offset maint = level("maint");
    return fb::CreateLevels(builder_, init, target, maint);
  }

  std::optional<fb::Policy> optional_policy() {
    const Json* value = find("policy");
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) refuse("policy", "expected \"partial\", \"full\" or \"close_factor\"");
    const std::string name = value->get<std::string>();
    if (name == "partial") return fb::Policy::Partial;
    if (name == "full") return fb::Policy::Full;
    if (name == "close_factor") return fb::Policy::CloseFactor;
    refuse("policy", "unknown policy \"" + name + "\" (partial, full or close_factor)");
  }

  std::optional<fb::Mode> optional_mode() {
    const Json* value = find("mode");
    if (value == nullptr) return std::nullopt;
    if (value->is_string() && value->get<std::string>() == "enforce") return fb::Mode::Enforce;
    if (value->is_string() && value->get<std::string>() == "observe") return fb::Mode::Observe;
    refuse("mode", "expected \"enforce\" or \"observe\"");
  }

  // Decimals of an asset or market listed before this line; unknown ids take
  // the widest form (the engine rejects them with UNKNOWN_ASSET / UNKNOWN_MARKET).
  unsigned asset_decimals(AssetId id) const {
    auto it = importer_.asset_decimals_.find(id);
    return it == importer_.asset_decimals_.end() ? kUnknownDecimals : it->second;
  }
  unsigned market_decimals(MarketId id) const {
    auto it = importer_.market_decimals_.find(id);
    return it == importer_.market_decimals_.end() ? kUnknownDecimals : it->second;
  }
  unsigned quote_decimals() const { return asset_decimals(kQuoteAsset); }

  // ---- event bodies --------------------------------------------------------------

  struct GenesisFields {
    fb::Mode mode = fb::Mode::Enforce;
    std::string quote_symbol;
    uint32_t quote_decimals = 0;
    fb::Policy policy = fb::Policy::Partial;
    std::optional<std::string> close_factor, full_liquidation_hf;
    std::string liquidator_share, insurance_share;
    uint64_t seize_tolerance = 2;
  };

  static flatbuffers::Offset<fb::Genesis> build_genesis(flatbuffers::FlatBufferBuilder& b, const GenesisFields& f) {
    auto optional = [&](const std::optional<std::string>& text) { return text ? b.CreateString(*text) : Offset(); };
    const Offset symbol = b.CreateString(f.quote_symbol);
    const Offset close_factor = optional(f.close_factor);
    const Offset hf = optional(f.full_liquidation_hf);
    const Offset liquidator_share = b.CreateString(f.liquidator_share);
    const Offset insurance_share = b.CreateString(f.insurance_share);
    return fb::CreateGenesis(b, f.mode, symbol, f.quote_decimals, f.policy, close_factor, hf, liquidator_share,
                             insurance_share, f.seize_tolerance);
  }

  std::optional<std::string> optional_decimal(const std::string& name, unsigned decimals) {
    const Json* value = find(name);
    if (value == nullptr) return std::nullopt;
    return decimal(*value, name, decimals, Sign::NonNegative);
  }

  flatbuffers::Offset<fb::Genesis> genesis() {
    GenesisFields f;
    f.mode = optional_mode().value_or(fb::Mode::Enforce);
    f.quote_symbol = text_field("quote_symbol");
    f.quote_decimals = u32_field("quote_decimals");
    f.policy = optional_policy().value_or(fb::Policy::Partial);
    f.close_factor = optional_decimal("close_factor", kRatioDecimals);
    f.full_liquidation_hf = optional_decimal("full_liquidation_hf", kRatioDecimals);
    f.liquidator_share = decimal(require("liquidator_share"), "liquidator_share", kRatioDecimals, Sign::NonNegative);
    f.insurance_share = decimal(require("insurance_share"), "insurance_share", kRatioDecimals, Sign::NonNegative);
    f.seize_tolerance = optional_u64("seize_tolerance").value_or(2);
    check_genesis(f);
    importer_.genesis_seen_ = true;
    importer_.asset_decimals_[kQuoteAsset] = f.quote_decimals;
    return build_genesis(builder_, f);
  }

  // Genesis with invalid parameters is refused at the boundary (SPEC §6.2):
  // the engine's own rules decide, on a scratch buffer.
  void check_genesis(const GenesisFields& fields) {
    flatbuffers::FlatBufferBuilder scratch;
    scratch.Finish(build_genesis(scratch, fields));
    const auto* genesis = flatbuffers::GetRoot<fb::Genesis>(scratch.GetBufferPointer());
    Protocol protocol;
    AssetParams quote;
    const char* bad_field = "genesis";
    Reason reason = Reason::InvalidParams;
    try {
      reason = parse_genesis(*genesis, &protocol, &quote, &bad_field);
    } catch (const std::exception&) {
      reason = Reason::InvalidParams;  // a number too large for Int
    }
    if (reason != Reason::None) refuse(bad_field, "invalid genesis parameter");
  }

  flatbuffers::Offset<fb::SetProtocol> set_protocol() {
    const auto policy = optional_policy();
    const Offset close_factor = optional_number("close_factor", kRatioDecimals);
    const Offset hf = optional_number("full_liquidation_hf", kRatioDecimals);
    const Offset liquidator_share = optional_number("liquidator_share", kRatioDecimals);
    const Offset insurance_share = optional_number("insurance_share", kRatioDecimals);
    const auto mode = optional_mode();
    fb::SetProtocolBuilder b(builder_);
    if (policy) b.add_policy(*policy);
    if (!close_factor.IsNull()) b.add_close_factor(close_factor);
    if (!hf.IsNull()) b.add_full_liquidation_hf(hf);
    if (!liquidator_share.IsNull()) b.add_liquidator_share(liquidator_share);
    if (!insurance_share.IsNull()) b.add_insurance_share(insurance_share);
    if (mode) b.add_mode(*mode);
    return b.Finish();
  }

  flatbuffers::Offset<fb::AssetSpec> asset_spec(bool listing) {
    const uint32_t id = u32_field("asset");
    const Offset symbol = builder_.CreateString(text_field("symbol"));
    const uint32_t decimals = u32_field("decimals");
    const bool borrowable = bool_field("borrowable");
    const uint64_t max_age = u64_field("max_oracle_age_us");
    const auto asset_weight = levels("asset_weight");
    const auto liab_weight = levels("liab_weight");
    const Offset bonus = number("liquidation_bonus", kRatioDecimals);
    auto offset = fb::CreateAssetSpec(builder_, id, symbol, decimals, borrowable, max_age, asset_weight,
                                      liab_weight, bonus);
    if (listing && !importer_.asset_decimals_.count(id) && decimals <= kMaxFractionDigits) {
      importer_.asset_decimals_[id] = decimals;
    }
    return offset;
  }

  flatbuffers::Offset<fb::MarketSpec> market_spec(bool listing) {
    const uint32_t id = u32_field("market");
    const Offset symbol = builder_.CreateString(text_field("symbol"));
    const uint32_t base_decimals = u32_field("base_decimals");
    const unsigned size_decimals = base_decimals <= kMaxFractionDigits ? base_decimals : kMaxFractionDigits;
    const auto margin = levels("margin");
    const Offset fee = number("liquidation_fee", kRatioDecimals);
    const Offset lot = number("lot_size", size_decimals);
    const Offset min_position = number("min_position", size_decimals);
    const uint64_t max_age = u64_field("max_oracle_age_us");
    const Offset deviation = number("max_trade_deviation", kRatioDecimals);
    auto offset = fb::CreateMarketSpec(builder_, id, symbol, base_decimals, margin, fee, lot, min_position, max_age,
                                       deviation);
    if (listing && !importer_.market_decimals_.count(id) && base_decimals <= kMaxFractionDigits) {
      importer_.market_decimals_[id] = base_decimals;
    }
    return offset;
  }

  flatbuffers::Offset<fb::Price> price() {
    const auto asset = optional_u32("asset");
    const auto market = optional_u32("market");
    if (asset.has_value() == market.has_value()) refuse(asset ? "market" : "asset", "exactly one of asset and market");
    const Offset value = number("price", kPriceDecimals);
    const uint64_t publish_ts = optional_u64("publish_ts").value_or(ts_);
    if (publish_ts > ts_) refuse("publish_ts", "after the event's ts (" + std::to_string(ts_) + ")");
    fb::PriceBuilder b(builder_);
    if (asset) b.add_asset(*asset);
    if (market) b.add_market(*market);
    b.add_price(value);
    b.add_publish_ts(publish_ts);
    return b.Finish();
  }

  flatbuffers::Offset<fb::Transfer> transfer() {
    const uint64_t account = u64_field("account");
    const uint32_t asset = u32_field("asset");
    const Offset amount = number("amount", asset_decimals(asset));
    return fb::CreateTransfer(builder_, account, asset, amount);
  }

  flatbuffers::Offset<fb::Trade> trade() {
    const uint32_t market = u32_field("market");
    const uint64_t taker = u64_field("taker");
    const uint64_t maker = u64_field("maker");
    const Offset base = number("base", market_decimals(market), Sign::Signed);
    const Offset value = number("price", kPriceDecimals);
    return fb::CreateTrade(builder_, market, taker, maker, base, value);
  }

  flatbuffers::Offset<fb::LiquidatePerp> liquidate_perp() {
    const uint64_t liquidator = u64_field("liquidator");
    const uint64_t account = u64_field("account");
    const uint32_t market = u32_field("market");
    const Offset max_base = optional_number("max_base", market_decimals(market));
    const Offset executed = optional_number("executed_base", market_decimals(market));
    const Offset penalty = optional_number("penalty", quote_decimals());
    return fb::CreateLiquidatePerp(builder_, liquidator, account, market, max_base, executed, penalty);
  }

  flatbuffers::Offset<fb::LiquidateToken> liquidate_token() {
    const uint64_t liquidator = u64_field("liquidator");
    const uint64_t account = u64_field("account");
    const uint32_t liability = u32_field("liability_asset");
    const uint32_t collateral = u32_field("collateral_asset");
    const Offset max_repay = optional_number("max_repay", asset_decimals(liability));
    const Offset repaid = optional_number("repaid", asset_decimals(liability));
    const Offset seized = optional_number("seized", asset_decimals(collateral));
    return fb::CreateLiquidateToken(builder_, liquidator, account, liability, collateral, max_repay, repaid, seized);
  }

  flatbuffers::Offset<fb::InsuranceDeposit> insurance_deposit() {
    const uint32_t asset = u32_field("asset");
    const Offset amount = number("amount", asset_decimals(asset));
    return fb::CreateInsuranceDeposit(builder_, asset, amount);
  }

  flatbuffers::Offset<fb::SyncBalance> sync_balance() {
    const uint64_t account = u64_field("account");
    const uint32_t asset = u32_field("asset");
    const Offset amount = number("amount", asset_decimals(asset), Sign::Signed);
    return fb::CreateSyncBalance(builder_, account, asset, amount);
  }

  flatbuffers::Offset<fb::SyncPosition> sync_position() {
    const uint64_t account = u64_field("account");
    const uint32_t market = u32_field("market");
    const Offset base = number("base", market_decimals(market), Sign::Signed);
    const Offset quote = number("quote", quote_decimals(), Sign::Signed);
    return fb::CreateSyncPosition(builder_, account, market, base, quote);
  }

  JsonlImporter& importer_;
  const Json& object_;
  flatbuffers::FlatBufferBuilder builder_{256};
  std::set<std::string> used_;
  uint64_t ts_ = 0;
};

JsonlImporter::JsonlImporter(const State& head)
    : genesis_seen_(head.has_genesis()), last_ts_(head.ts) {
  for (const auto& [id, asset] : head.assets) asset_decimals_[id] = asset.params.decimals;
  for (const auto& [id, market] : head.markets) market_decimals_[id] = market.params.base_decimals;
}

bool JsonlImporter::add_line(std::string_view text, size_t line_number, InputError* error) {
  if (text.find_first_not_of(" \t\r") == std::string_view::npos) return true;
  Json object;
  if (!parse_json_object(text, line_number, &object, error)) return false;
  try {
    LineParser parser(*this, object);
    events_.push_back(parser.parse());
    line_numbers_.push_back(line_number);
  } catch (const Refusal& refusal) {
    *error = InputError{line_number, refusal.field, refusal.message};
    return false;
  }
  return true;
}

}  // namespace liql
