#pragma once
// Enumerations shared by the engine's public headers (SPEC §3, §5.6).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace liql {

enum class Mode : uint8_t { Enforce, Observe };
enum class PolicyKind : uint8_t { Partial, Full, CloseFactor };
enum class Level : uint8_t { Init, Target, Maint, Equity };
enum class AccountStatus : uint8_t { Healthy, MarginCall, Liquidatable, Bankrupt };

// Why an event was rejected. None means it was applied.
enum class Reason : uint8_t {
  None,
  UnknownAsset,
  UnknownMarket,
  UnknownAccount,
  InvalidAmount,
  InvalidParams,
  InvalidFeed,
  DuplicateListing,
  SelfTrade,
  StaleOracle,
  StaleUpdate,
  PriceOutOfBand,
  NotBorrowable,
  InsufficientBalance,
  InsufficientHealth,
  NotLiquidatable,
  NothingToLiquidate,
  SelfLiquidation,
  LiquidatorUnhealthy,
  InvalidRecord,
  ArithmeticOverflow,
  NotExhausted,
};

enum class Verdict : uint8_t { Minimal, Under, AllowedExcess, OverLimit, Wrongful, Rejected, InvalidRecord, Absorbed };

// What an audit record is about (SPEC §5.6).
enum class LiquidationKind : uint8_t { Perp, Token, Absorb };

// Secondary findings (SPEC §5.5, §5.6), a bit set; printed in this order.
enum Flag : uint32_t {
  kFlagStaleOracle = 1u << 0,
  kFlagPriceOutOfBand = 1u << 1,
  kFlagInsufficientHealth = 1u << 2,
  kFlagNotBorrowable = 1u << 3,
  kFlagLiquidatorUnhealthy = 1u << 4,
  kFlagSeizeMismatch = 1u << 5,
  kFlagPenaltyMismatch = 1u << 6,
  kFlagBankruptcy = 1u << 7,
  kFlagDustRule = 1u << 8,
  kFlagInsufficientBalance = 1u << 9,
  kFlagNotExhausted = 1u << 10,
};

std::string_view reason_name(Reason reason);
std::string_view verdict_name(Verdict verdict);
std::string_view status_name(AccountStatus status);
std::string_view policy_name(PolicyKind policy);
std::string_view mode_name(Mode mode);
std::string_view kind_name(LiquidationKind kind);
std::vector<std::string_view> flag_names(uint32_t flags);

}  // namespace liql
