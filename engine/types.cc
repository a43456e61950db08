#include "engine/types.h"

#include <array>

namespace liql {

std::string_view reason_name(Reason reason) {
  static constexpr std::array<std::string_view, 22> kNames{
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
      "NOT_EXHAUSTED",
  };
  return kNames.at(static_cast<size_t>(reason));
}

std::string_view verdict_name(Verdict verdict) {
  static constexpr std::array<std::string_view, 8> kNames{
      "MINIMAL", "UNDER", "ALLOWED_EXCESS", "OVER_LIMIT", "WRONGFUL", "REJECTED", "INVALID_RECORD", "ABSORBED"};
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

std::string_view kind_name(LiquidationKind kind) {
  static constexpr std::array<std::string_view, 3> kNames{"perp", "token", "absorb"};
  return kNames.at(static_cast<size_t>(kind));
}

std::vector<std::string_view> flag_names(uint32_t flags) {
  static constexpr std::array<std::string_view, 11> kNames{
      "STALE_ORACLE",     "PRICE_OUT_OF_BAND", "INSUFFICIENT_HEALTH", "NOT_BORROWABLE",
      "LIQUIDATOR_UNHEALTHY", "SEIZE_MISMATCH", "PENALTY_MISMATCH",  "BANKRUPTCY",
      "DUST_RULE",        "INSUFFICIENT_BALANCE", "NOT_EXHAUSTED"};
  std::vector<std::string_view> names;
  for (size_t bit = 0; bit < kNames.size(); ++bit) {
    if (flags & (1u << bit)) names.push_back(kNames[bit]);
  }
  return names;
}

}  // namespace liql
