#pragma once
// What applying one event produced (SPEC §4) and, for a liquidation, the
// facts of its audit record (SPEC §5.6). The replay layer adds the state hash
// and formats it.

#include <optional>
#include <vector>

#include "engine/state.h"

namespace liql {

struct PriceSeen {
  Int price;
  uint64_t age_us = 0;  // event ts − publish_ts
};

struct HealthSnapshot {
  Int equity, h_init, h_target, h_maint;
  std::optional<Int> hf_maint;  // nullopt = ∞
  AccountStatus status = AccountStatus::Healthy;
};

struct PenaltySplit {
  Int total, liquidator, insurance, treasury;
};

// One asset of a close-out (SPEC §5.4), base units of the asset.
struct BankruptcyLine {
  AssetId asset = 0;
  Int dust;      // step 1: a positive balance moved to insurance[asset]
  Int covered;   // step 2: debt paid by insurance[asset]
  Int bad_debt;  // step 2: the rest, added to bad_debt[asset]
};

struct Bankruptcy {
  std::vector<BankruptcyLine> lines;  // ascending asset id
  Int covered_value;                  // Σ value(covered), quote units at the stored prices
  Int bad_debt_value;                 // Σ value(bad_debt), quote units at the stored prices
};

struct LiquidationAudit {
  LiquidationKind kind = LiquidationKind::Perp;
  AccountId account = 0;
  AccountId liquidator = 0;  // none for absorb
  MarketId market = 0;     // perp
  AssetId liability = 0;   // token
  AssetId collateral = 0;  // token
  std::optional<PriceSeen> price;             // perp: the market's oracle
  std::optional<PriceSeen> liability_price;   // token
  std::optional<PriceSeen> collateral_price;  // token
  Policy policy;
  std::optional<HealthSnapshot> pre;
  // Sizes: perp in base units of the market, token in base units of the liability; none for absorb.
  std::optional<Int> required, allowed, requested, executed;
  // Perp: quote units. Token: the bonus part, base units of the collateral.
  std::optional<PenaltySplit> penalty;
  std::optional<Int> seized;          // token: collateral the account gave
  std::optional<Int> closed_value;    // quote value of what was closed (perp ⌊T⌋, token value(repaid))
  std::optional<Int> excess_size;     // ALLOWED_EXCESS / OVER_LIMIT: executed − required (or − allowed)
  std::optional<Int> excess_penalty;  // the penalty that excess size carried
  std::optional<HealthSnapshot> post;
  std::optional<Bankruptcy> bankrupt;
  Verdict verdict = Verdict::Rejected;
  uint32_t flags = 0;
  Reason reason = Reason::None;
};

struct Outcome {
  Reason reason = Reason::None;  // None: applied
  uint32_t flags = 0;            // observe mode findings on applied events
  std::optional<LiquidationAudit> audit;
  // Accounts the event changed or created, ascending; empty when rejected
  // (a rejected event leaves every account as it was). Feeds Commitment.
  std::vector<AccountId> touched;
  bool applied() const { return reason == Reason::None; }
};

}  // namespace liql
