#pragma once
// Scenario driver for state-machine tests (machine_test): JSON lines go
// through the real input boundary (MemoryRun) into the state machine, and
// after every event the SPEC §7 invariants are checked:
//   * conservation: for every asset X,
//       Σ_accounts balance[X] + insurance[X] + treasury[X]
//       + (X = quote ? Σ position quote : 0) − bad_debt[X]
//     equals Σ deposits − Σ withdrawals + Σ insurance_deposits (+ external[X]),
//     counting only applied events;
//   * perp base is zero-sum per market, except for what observe-mode
//     sync_position events set (SPEC §5.5 moves one account's base only):
//     Σ_accounts base[m] equals Σ (synced base − base before) over applied
//     sync_position events in m, worked out here from the line itself.
// A rejected event must leave the state unchanged except seq and ts (SPEC §4).
//
// Amounts are converted from their decimal text by fixtures::dec, plain string
// manipulation independent of the engine's parse_units, so the bookkeeping
// here does not lean on the code under test.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/state.h"
#include "engine/types.h"
#include "replay/replay.h"
#include "tests/engine_fixtures.h"

namespace liql::scenario {

// Decimal text → integer scaled by 10^decimals. "0.075", 18 → 75·10^15.
inline Int units(std::string_view text, unsigned decimals) { return fixtures::dec(text, decimals); }

// An exact integer written out in decimal (for values beyond 64 bits).
inline Int I(std::string_view digits) { return units(digits, 0); }

inline ::testing::AssertionResult conserved(const State& state, const std::map<AssetId, Int>& net,
                                            const std::map<MarketId, Int>& synced_base = {}) {
  for (const auto& [asset_id, asset] : state.assets) {
    (void)asset;
    Int lhs = 0;
    for (const auto& [account_id, account] : state.accounts) {
      (void)account_id;
      auto it = account.balances.find(asset_id);
      if (it != account.balances.end()) lhs += it->second;
      if (asset_id == kQuoteAsset) {
        for (const auto& [market_id, position] : account.positions) {
          (void)market_id;
          lhs += position.quote;
        }
      }
    }
    const Funds& funds = state.funds_of(asset_id);
    lhs += funds.insurance + funds.treasury - funds.bad_debt;
    auto n = net.find(asset_id);
    const Int rhs = (n == net.end() ? Int(0) : n->second) + funds.external;
    if (lhs != rhs) {
      return ::testing::AssertionFailure() << "conservation broken for asset " << asset_id << ": holdings " << lhs
                                           << " != flows " << rhs;
    }
  }
  for (const auto& [market_id, market] : state.markets) {
    (void)market;
    Int base = 0;
    for (const auto& [account_id, account] : state.accounts) {
      (void)account_id;
      auto it = account.positions.find(market_id);
      if (it != account.positions.end()) {
        if (it->second.base.is_zero()) return ::testing::AssertionFailure() << "a position with base 0 is kept";
        base += it->second.base;
      }
    }
    auto synced = synced_base.find(market_id);
    const Int expected = synced == synced_base.end() ? Int(0) : synced->second;
    if (base != expected) {
      return ::testing::AssertionFailure() << "perp base not zero-sum in market " << market_id << ": " << base
                                           << " (synced " << expected << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

class Scenario {
 public:
  // Imports and applies one line; checks the invariants after it, and for a
  // rejected event that nothing but seq/ts changed. Throws when the input
  // boundary refuses the line (the test then fails with the message).
  const Outcome& add(const std::string& line) {
    const State before = run_.machine().state();
    InputError error;
    ++line_number_;
    if (!run_.add_line(line, line_number_, &error)) {
      throw std::runtime_error("input refused: " + error.to_string() + "\n  " + line);
    }
    const Outcome& outcome = run_.outcomes().back();
    const State& after = run_.machine().state();
    const auto json = nlohmann::json::parse(line);
    EXPECT_EQ(after.seq, before.seq + 1) << line;
    EXPECT_EQ(after.ts, json.at("ts").get<uint64_t>()) << line;
    if (outcome.applied()) {
      const std::string type = json.at("type").get<std::string>();
      if (type == "deposit" || type == "withdraw" || type == "insurance_deposit") {
        const AssetId asset = json.at("asset").get<AssetId>();
        const Int amount = units(json.at("amount").get<std::string>(), after.assets.at(asset).params.decimals);
        net_[asset] += type == "withdraw" ? Int(-amount) : amount;
      }
      if (type == "sync_position") {
        const MarketId market = json.at("market").get<MarketId>();
        const Int base = units(json.at("base").get<std::string>(), after.markets.at(market).params.base_decimals);
        const Account* account = before.account(json.at("account").get<AccountId>());
        const Position* held = account == nullptr ? nullptr : account->position(market);
        synced_base_[market] += base - (held == nullptr ? Int(0) : held->base);
      }
    } else {
      State expected = before;
      expected.seq = after.seq;
      expected.ts = after.ts;
      EXPECT_TRUE(expected == after) << "a rejected event (" << reason_name(outcome.reason)
                                     << ") changed the state: " << line;
      EXPECT_EQ(encode_state(expected), encode_state(after)) << line;
    }
    EXPECT_TRUE(conserved(after, net_, synced_base_)) << "after: " << line;
    return outcome;
  }

  const Outcome& applied(const std::string& line) {
    const Outcome& outcome = add(line);
    EXPECT_TRUE(outcome.applied()) << "rejected with " << reason_name(outcome.reason) << ": " << line;
    return outcome;
  }

  const Outcome& rejected(const std::string& line, Reason reason) {
    const Outcome& outcome = add(line);
    EXPECT_EQ(reason_name(outcome.reason), reason_name(reason)) << line;
    if (outcome.audit) {
      EXPECT_EQ(verdict_name(outcome.audit->verdict), verdict_name(Verdict::Rejected)) << line;
      EXPECT_EQ(reason_name(outcome.audit->reason), reason_name(reason)) << line;
    }
    return outcome;
  }

  const State& state() const { return run_.machine().state(); }
  Int balance(AccountId account, AssetId asset) const {
    const Account* a = state().account(account);
    return a == nullptr ? Int(0) : a->balance(asset);
  }
  const Position* position(AccountId account, MarketId market) const {
    const Account* a = state().account(account);
    return a == nullptr ? nullptr : a->position(market);
  }
  // The position, which must exist (throws otherwise, failing the test).
  const Position& held(AccountId account, MarketId market) const {
    const Position* p = position(account, market);
    if (p == nullptr) {
      throw std::runtime_error("no position of account " + std::to_string(account) + " in market " +
                               std::to_string(market));
    }
    return *p;
  }
  const Funds& funds(AssetId asset) const { return state().funds_of(asset); }

 private:
  MemoryRun run_;
  std::map<AssetId, Int> net_;  // Σ deposits − Σ withdrawals + Σ insurance deposits (applied)
  std::map<MarketId, Int> synced_base_;  // Σ base set by applied sync_position events, per market
  size_t line_number_ = 0;
};

}  // namespace liql::scenario
