#include "engine/params.h"

namespace liql {
namespace {

constexpr unsigned kRatioDecimals = 18;
constexpr unsigned kMaxDecimals = 36;

bool ratio(const flatbuffers::String* text, Int* out) {
  if (text == nullptr) return false;
  auto parsed = parse_units(text->string_view(), kRatioDecimals);
  if (!parsed) return false;
  *out = *parsed;
  return true;
}

bool levels(const fb::Levels* in, Levels* out) {
  return in != nullptr && ratio(in->init(), &out->init) && ratio(in->target(), &out->target) &&
         ratio(in->maint(), &out->maint);
}

bool in_unit_range(const Int& value) { return value.sign() >= 0 && value <= wad(); }

bool valid_policy(const Policy& policy) {
  if (policy.kind != PolicyKind::CloseFactor) return true;
  return policy.close_factor.sign() > 0 && policy.close_factor <= wad() && policy.full_liquidation_hf.sign() >= 0;
}

bool valid_shares(const Int& liquidator, const Int& insurance) {
  return in_unit_range(liquidator) && in_unit_range(insurance) && liquidator + insurance <= wad();
}

PolicyKind policy_kind(fb::Policy policy) {
  switch (policy) {
    case fb::Policy::Full: return PolicyKind::Full;
    case fb::Policy::CloseFactor: return PolicyKind::CloseFactor;
    default: return PolicyKind::Partial;
  }
}

// Reads close_factor and full_liquidation_hf when the policy needs them.
bool read_policy(PolicyKind kind, const flatbuffers::String* close_factor, const flatbuffers::String* hf,
                 Policy* out) {
  out->kind = kind;
  out->close_factor = 0;
  out->full_liquidation_hf = 0;
  if (kind != PolicyKind::CloseFactor) return true;
  return ratio(close_factor, &out->close_factor) && ratio(hf, &out->full_liquidation_hf);
}

}  // namespace

Reason parse_asset_spec(const fb::AssetSpec& spec, AssetParams* out) {
  AssetParams p;
  if (spec.symbol() == nullptr) return Reason::InvalidParams;
  p.symbol = spec.symbol()->str();
  p.decimals = spec.decimals();
  p.borrowable = spec.borrowable();
  p.max_oracle_age_us = spec.max_oracle_age_us();
  if (p.decimals > kMaxDecimals) return Reason::InvalidParams;
  if (!levels(spec.asset_weight(), &p.asset_weight) || !levels(spec.liab_weight(), &p.liab_weight) ||
      !ratio(spec.liquidation_bonus(), &p.liquidation_bonus)) {
    return Reason::InvalidParams;
  }
  if (!valid_asset_params(p)) return Reason::InvalidParams;
  *out = std::move(p);
  return Reason::None;
}

bool valid_asset_params(const AssetParams& p) {
  const Levels& aw = p.asset_weight;
  const Levels& lw = p.liab_weight;
  return p.decimals <= kMaxDecimals && in_unit_range(aw.init) && in_unit_range(aw.target) &&
         in_unit_range(aw.maint) && aw.init <= aw.target && aw.target <= aw.maint && lw.maint >= wad() &&
         lw.maint <= lw.target && lw.target <= lw.init && p.liquidation_bonus.sign() >= 0;
}

Reason parse_market_spec(const fb::MarketSpec& spec, MarketParams* out) {
  MarketParams p;
  if (spec.symbol() == nullptr) return Reason::InvalidParams;
  p.symbol = spec.symbol()->str();
  p.base_decimals = spec.base_decimals();
  p.max_oracle_age_us = spec.max_oracle_age_us();
  if (p.base_decimals > kMaxDecimals) return Reason::InvalidParams;
  if (!levels(spec.margin(), &p.margin) || !ratio(spec.liquidation_fee(), &p.liquidation_fee) ||
      !ratio(spec.max_trade_deviation(), &p.max_trade_deviation) || spec.lot_size() == nullptr ||
      spec.min_position() == nullptr) {
    return Reason::InvalidParams;
  }
  auto lot = parse_units(spec.lot_size()->string_view(), p.base_decimals);
  auto min_position = parse_units(spec.min_position()->string_view(), p.base_decimals);
  if (!lot || !min_position) return Reason::InvalidParams;
  p.lot_size = *lot;
  p.min_position = *min_position;
  if (!valid_market_params(p)) return Reason::InvalidParams;
  *out = std::move(p);
  return Reason::None;
}

bool valid_market_params(const MarketParams& p) {
  const Levels& m = p.margin;
  return p.base_decimals <= kMaxDecimals && m.maint.sign() > 0 && m.maint <= m.target && m.target <= m.init &&
         m.init <= wad() && p.liquidation_fee.sign() >= 0 && p.liquidation_fee < m.target && p.lot_size.sign() > 0 &&
         p.min_position.sign() >= 0 && p.max_trade_deviation.sign() >= 0;
}

bool valid_protocol(const Protocol& p) {
  return (p.mode == Mode::Enforce || p.mode == Mode::Observe) && valid_policy(p.policy) &&
         valid_shares(p.liquidator_share, p.insurance_share);
}

bool valid_quote_params(const AssetParams& params, uint32_t quote_decimals) {
  const Int& one = wad();
  const Levels all_one{one, one, one};
  return params.decimals == quote_decimals && params.asset_weight == all_one && params.liab_weight == all_one &&
         params.liquidation_bonus.is_zero();
}

Reason parse_genesis(const fb::Genesis& genesis, Protocol* protocol, AssetParams* quote, const char** bad_field) {
  auto invalid = [&](const char* field) {
    if (bad_field != nullptr) *bad_field = field;
    return Reason::InvalidParams;
  };
  Protocol p;
  if (genesis.mode() != fb::Mode::Enforce && genesis.mode() != fb::Mode::Observe) return invalid("mode");
  p.mode = genesis.mode() == fb::Mode::Observe ? Mode::Observe : Mode::Enforce;
  if (static_cast<uint8_t>(genesis.policy()) > static_cast<uint8_t>(fb::Policy::CloseFactor)) return invalid("policy");
  if (!read_policy(policy_kind(genesis.policy()), genesis.close_factor(), genesis.full_liquidation_hf(), &p.policy)) {
    return invalid(genesis.close_factor() == nullptr ? "close_factor" : "full_liquidation_hf");
  }
  if (!valid_policy(p.policy)) {
    return invalid(p.policy.full_liquidation_hf.sign() < 0 ? "full_liquidation_hf" : "close_factor");
  }
  if (!ratio(genesis.liquidator_share(), &p.liquidator_share) || !in_unit_range(p.liquidator_share)) {
    return invalid("liquidator_share");
  }
  if (!ratio(genesis.insurance_share(), &p.insurance_share) ||
      !valid_shares(p.liquidator_share, p.insurance_share)) {
    return invalid("insurance_share");
  }
  p.seize_tolerance = genesis.seize_tolerance();
  if (genesis.quote_symbol() == nullptr) return invalid("quote_symbol");
  if (genesis.quote_decimals() > kMaxDecimals) return invalid("quote_decimals");

  AssetParams q;
  q.symbol = genesis.quote_symbol()->str();
  q.decimals = genesis.quote_decimals();
  q.borrowable = false;
  q.max_oracle_age_us = 0;
  q.asset_weight = Levels{wad(), wad(), wad()};
  q.liab_weight = Levels{wad(), wad(), wad()};
  q.liquidation_bonus = 0;
  *protocol = std::move(p);
  *quote = std::move(q);
  return Reason::None;
}

Reason parse_set_protocol(const fb::SetProtocol& change, const Protocol& current, Protocol* out) {
  Protocol p = current;
  if (change.mode().has_value()) {
    Mode requested = *change.mode() == fb::Mode::Observe ? Mode::Observe : Mode::Enforce;
    if (requested != current.mode) return Reason::InvalidParams;  // mode is fixed at genesis
  }
  if (change.policy().has_value()) {
    if (static_cast<uint8_t>(*change.policy()) > static_cast<uint8_t>(fb::Policy::CloseFactor)) {
      return Reason::InvalidParams;
    }
    if (!read_policy(policy_kind(*change.policy()), change.close_factor(), change.full_liquidation_hf(), &p.policy)) {
      return Reason::InvalidParams;
    }
  } else if (p.policy.kind == PolicyKind::CloseFactor) {
    // Tuning the close factor without restating the policy.
    if (change.close_factor() != nullptr && !ratio(change.close_factor(), &p.policy.close_factor)) {
      return Reason::InvalidParams;
    }
    if (change.full_liquidation_hf() != nullptr && !ratio(change.full_liquidation_hf(), &p.policy.full_liquidation_hf)) {
      return Reason::InvalidParams;
    }
  }
  if (change.liquidator_share() != nullptr && !ratio(change.liquidator_share(), &p.liquidator_share)) {
    return Reason::InvalidParams;
  }
  if (change.insurance_share() != nullptr && !ratio(change.insurance_share(), &p.insurance_share)) {
    return Reason::InvalidParams;
  }
  if (!valid_policy(p.policy) || !valid_shares(p.liquidator_share, p.insurance_share)) return Reason::InvalidParams;
  *out = std::move(p);
  return Reason::None;
}

}  // namespace liql
