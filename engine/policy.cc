#include "engine/policy.h"

#include <charconv>
#include <optional>
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

// A policy spec KIND[:ARGUMENT...] and the readers of its arguments (1-based,
// after the kind); a reader that fails leaves its message in *error.
class PolicySpec {
 public:
  PolicySpec(std::string_view spec, std::string* error) : spec_(spec), parts_(split(spec, ':')), error_(error) {}

  std::string_view kind() const { return parts_[0]; }
  size_t arguments() const { return parts_.size() - 1; }

  bool arity(size_t least, size_t most, std::string_view usage) {
    if (arguments() >= least && arguments() <= most) return true;
    return expected(usage);
  }
  bool expected(std::string_view usage) {
    *error_ = "policy '" + std::string(spec_) + "': expected " + std::string(usage);
    return false;
  }

  // A ratio in (0, 1].
  std::optional<Int> ratio(size_t i, std::string_view what) {
    auto value = decimal(parts_[i], what, error_);
    if (value && (value->sign() <= 0 || *value > wad())) {
      *error_ = std::string(what) + " must lie in (0, 1]: '" + std::string(parts_[i]) + "'";
      value.reset();
    }
    return value;
  }

  std::optional<Int> amount(size_t i, std::string_view what) {
    auto value = decimal(parts_[i], what, error_);
    if (value && value->sign() < 0) {
      *error_ = std::string(what) + " must be ≥ 0: '" + std::string(parts_[i]) + "'";
      value.reset();
    }
    return value;
  }

  std::optional<uint64_t> cooldown_seconds(size_t i) {
    uint64_t cooldown = 0;
    const std::string_view text = parts_[i];
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cooldown);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || cooldown > 1'000'000'000) {
      *error_ = "cooldown must be a whole number of seconds ≤ 10^9: '" + std::string(text) + "'";
      return std::nullopt;
    }
    return cooldown;
  }

 private:
  std::string_view spec_;
  std::vector<std::string_view> parts_;
  std::string* error_;
};

std::unique_ptr<LiquidationRule> close_factor_from(PolicySpec& spec) {
  if (!spec.arity(2, 2, "close_factor:CLOSE_FACTOR:FULL_LIQUIDATION_HF, e.g. close_factor:0.5:0.95")) return nullptr;
  auto cf = spec.ratio(1, "close factor");
  if (!cf) return nullptr;
  auto hf = spec.amount(2, "full-liquidation health factor");
  if (!hf) return nullptr;
  return close_factor_rule(*cf, *hf);
}

std::unique_ptr<LiquidationRule> aave_v33_from(PolicySpec& spec) {
  if (spec.arguments() != 0 && spec.arguments() != 2) {
    spec.expected("aave-v3.3 or aave-v3.3:THRESHOLD:LEFTOVER (quote units)");
    return nullptr;
  }
  Int threshold = 2000 * wad();
  Int leftover = 1000 * wad();
  if (spec.arguments() == 2) {
    auto t = spec.amount(1, "aave-v3.3 threshold");
    if (!t) return nullptr;
    auto m = spec.amount(2, "aave-v3.3 leftover");
    if (!m) return nullptr;
    threshold = *t;
    leftover = *m;
  }
  return aave_v33_rule(threshold, leftover);
}

std::unique_ptr<LiquidationRule> chunked_from(PolicySpec& spec) {
  if (!spec.arity(2, 3, "chunked:FRACTION:COOLDOWN_S[:THRESHOLD], e.g. chunked:0.2:30")) return nullptr;
  auto fraction = spec.ratio(1, "chunk fraction");
  if (!fraction) return nullptr;
  const std::optional<uint64_t> cooldown = spec.cooldown_seconds(2);
  if (!cooldown) return nullptr;
  Int threshold = 100'000 * wad();
  if (spec.arguments() == 3) {
    auto t = spec.amount(3, "chunked threshold");
    if (!t) return nullptr;
    threshold = *t;
  }
  return chunked_rule(*fraction, *cooldown, threshold);
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
  return compare_products(wad(), health.assets, x, health.liabilities) > 0;
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
  PolicySpec reader(spec, error);
  const std::string_view kind = reader.kind();
  if (kind == "partial" && reader.arity(0, 0, "partial")) return partial_rule();
  if (kind == "full" && reader.arity(0, 0, "full")) return full_rule();
  if (kind == "close_factor") return close_factor_from(reader);
  if (kind == "aave-v3.3") return aave_v33_from(reader);
  if (kind == "chunked") return chunked_from(reader);
  if (error->empty()) {
    *error = "unknown policy '" + std::string(spec) +
             "' (known: partial, full, close_factor:CF:HF, aave-v3.3, chunked:F:COOLDOWN_S)";
  }
  return nullptr;
}

}  // namespace liql
