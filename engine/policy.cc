#include "engine/policy.h"

#include <charconv>
#include <vector>

#include "engine/rules/rules.h"

namespace liql {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// A decimal ratio or amount, WAD-scaled; *error names `what` when it is not one.
std::optional<Int> decimal(std::string_view text, std::string_view what, std::string* error) {
  std::optional<Int> value;
  try {
    value = parse_units(text, 18);
  } catch (const std::overflow_error&) {
    value.reset();
  }
  if (!value) *error = std::string(what) + " is not a decimal number: '" + std::string(text) + "'";
  return value;
}

}  // namespace

Int perp_fraction(const State& state, MarketId market, const Int& abs_base, const Int& fraction) {
  const Int& lot = state.markets.at(market).params.lot_size;
  const Int size = cdiv(muldiv_ceil(abs_base, fraction, wad()), lot) * lot;  // roundup_lot
  return size < abs_base ? size : abs_base;
}

Int token_fraction(const Int& abs_debt, const Int& fraction, const Int& cap) {
  const Int repay = muldiv_ceil(abs_debt, fraction, wad());
  return repay < cap ? repay : cap;
}

Int quote_threshold(const State& state, const Int& threshold_wad) {
  return muldiv_floor(threshold_wad, pow10(state.quote_decimals()), wad());
}

bool health_factor_above(const Health& health, const Int& x) {
  if (health.liabilities.is_zero()) return true;  // HF = ∞
  return Wide(wad()) * Wide(health.assets) > Wide(x) * Wide(health.liabilities);
}

std::unique_ptr<LiquidationRule> rule_for(const Policy& policy) {
  switch (policy.kind) {
    case PolicyKind::Partial: return partial_rule();
    case PolicyKind::Full: return full_rule();
    case PolicyKind::CloseFactor: break;
  }
  return close_factor_rule(policy.close_factor, policy.full_liquidation_hf);
}

std::unique_ptr<LiquidationRule> make_rule(std::string_view spec, std::string* error) {
  error->clear();
  const std::vector<std::string_view> parts = split(spec, ':');
  const std::string_view kind = parts[0];
  auto arity = [&](size_t least, size_t most, std::string_view usage) {
    if (parts.size() - 1 >= least && parts.size() - 1 <= most) return true;
    *error = "policy '" + std::string(spec) + "': expected " + std::string(usage);
    return false;
  };
  // A ratio in (0, 1].
  auto ratio = [&](size_t i, std::string_view what) -> std::optional<Int> {
    auto value = decimal(parts[i], what, error);
    if (value && (value->sign() <= 0 || *value > wad())) {
      *error = std::string(what) + " must lie in (0, 1]: '" + std::string(parts[i]) + "'";
      value.reset();
    }
    return value;
  };
  auto amount = [&](size_t i, std::string_view what) -> std::optional<Int> {
    auto value = decimal(parts[i], what, error);
    if (value && value->sign() < 0) {
      *error = std::string(what) + " must be ≥ 0: '" + std::string(parts[i]) + "'";
      value.reset();
    }
    return value;
  };
  if (kind == "partial" && arity(0, 0, "partial")) return partial_rule();
  if (kind == "full" && arity(0, 0, "full")) return full_rule();
  if (kind == "close_factor") {
    if (!arity(2, 2, "close_factor:CLOSE_FACTOR:FULL_LIQUIDATION_HF, e.g. close_factor:0.5:0.95")) return nullptr;
    auto cf = ratio(1, "close factor");
    if (!cf) return nullptr;
    auto hf = amount(2, "full-liquidation health factor");
    if (!hf) return nullptr;
    return close_factor_rule(*cf, *hf);
  }
  if (kind == "aave-v3.3") {
    if (parts.size() != 1 && parts.size() != 3) {
      *error = "policy '" + std::string(spec) + "': expected aave-v3.3 or aave-v3.3:THRESHOLD:LEFTOVER (quote units)";
      return nullptr;
    }
    Int threshold = 2000 * wad();
    Int leftover = 1000 * wad();
    if (parts.size() == 3) {
      auto t = amount(1, "aave-v3.3 threshold");
      if (!t) return nullptr;
      auto m = amount(2, "aave-v3.3 leftover");
      if (!m) return nullptr;
      threshold = *t;
      leftover = *m;
    }
    return aave_v33_rule(threshold, leftover);
  }
  if (kind == "chunked") {
    if (!arity(2, 3, "chunked:FRACTION:COOLDOWN_S[:THRESHOLD], e.g. chunked:0.2:30")) return nullptr;
    auto fraction = ratio(1, "chunk fraction");
    if (!fraction) return nullptr;
    uint64_t cooldown = 0;
    const std::string_view text = parts[2];
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cooldown);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || cooldown > 1'000'000'000) {
      *error = "cooldown must be a whole number of seconds ≤ 10^9: '" + std::string(text) + "'";
      return nullptr;
    }
    Int threshold = 100'000 * wad();
    if (parts.size() == 4) {
      auto t = amount(3, "chunked threshold");
      if (!t) return nullptr;
      threshold = *t;
    }
    return chunked_rule(*fraction, cooldown, threshold);
  }
  if (error->empty()) {
    *error = "unknown policy '" + std::string(spec) +
             "' (known: partial, full, close_factor:CF:HF, aave-v3.3, chunked:F:COOLDOWN_S)";
  }
  return nullptr;
}

}  // namespace liql
