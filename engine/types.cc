#include "engine/types.h"

#include <array>

namespace liql {

std::string_view reason_name(Reason reason) {
  static constexpr std::array<std::string_view, 21> kNames{
      "",
      "UNKNOWN_ASSET",
      "UNKNOWN_MARKET",
      "UNKNOWN_ACCOUNT",
      "INVALID_AMOUNT",
      "INVALID_PARAMS",
      "INVALID_FEED",
      "DUPLICATE_LISTING",
      "SELF_TRADE",
      "STALE_ORACLE",
      "STALE_UPDATE",
      "PRICE_OUT_OF_BAND",
      "NOT_BORROWABLE",
      "INSUFFICIENT_BALANCE",
      "INSUFFICIENT_HEALTH",
      "NOT_LIQUIDATABLE",
      "NOTHING_TO_LIQUIDATE",
      "SELF_LIQUIDATION",
      "LIQUIDATOR_UNHEALTHY",
      "INVALID_RECORD",
      "ARITHMETIC_OVERFLOW",
  };
  return kNames.at(static_cast<size_t>(reason));
}

std::string_view verdict_name(Verdict verdict) {
  static constexpr std::array<std::string_view, 7> kNames{
      "MINIMAL", "UNDER", "ALLOWED_EXCESS", "OVER_LIMIT", "WRONGFUL", "REJECTED", "INVALID_RECORD"};
  return kNames.at(static_cast<size_t>(verdict));
}

std::string_view status_name(AccountStatus status) {
  static constexpr std::array<std::string_view, 4> kNames{"HEALTHY", "MARGIN_CALL", "LIQUIDATABLE", "BANKRUPT"};
  return kNames.at(static_cast<size_t>(status));
}

std::string_view policy_name(PolicyKind policy) {
  static constexpr std::array<std::string_view, 3> kNames{"partial", "full", "close_factor"};
  return kNames.at(static_cast<size_t>(policy));
}

std::string_view mode_name(Mode mode) { return mode == Mode::Enforce ? "enforce" : "observe"; }

std::vector<std::string_view> flag_names(uint32_t flags) {
  static constexpr std::array<std::string_view, 10> kNames{
      "STALE_ORACLE",   "PRICE_OUT_OF_BAND", "INSUFFICIENT_HEALTH", "NOT_BORROWABLE", "LIQUIDATOR_UNHEALTHY",
      "SEIZE_MISMATCH", "PENALTY_MISMATCH",  "BANKRUPTCY",          "DUST_RULE",      "INSUFFICIENT_BALANCE"};
  std::vector<std::string_view> names;
  for (size_t bit = 0; bit < kNames.size(); ++bit) {
    if (flags & (1u << bit)) names.push_back(kNames[bit]);
  }
  return names;
}

}  // namespace liql
