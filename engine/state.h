#pragma once
// The state the log rebuilds (SPEC §2) and its canonical encoding (SPEC §7,
// docs/STATE_ENCODING.md).

#include <boost/container/flat_map.hpp>
#include <boost/container/small_vector.hpp>

#include <map>
#include <span>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/int.h"
#include "engine/types.h"
#include "schemas/formats.h"
#include "schemas/sha256.h"
#include "schemas/status.h"

namespace liql {

template <typename Key, typename Value>
using FlatMap = boost::container::flat_map<Key, Value>;
// A FlatMap whose first `inline_entries` entries live inside it, without a
// heap allocation: an account's balances and positions (few per account; the
// journal copies an account before every event that changes it).
template <typename Key, typename Value, size_t inline_entries>
using SmallFlatMap = boost::container::flat_map<
    Key, Value, std::less<Key>, boost::container::small_vector<std::pair<Key, Value>, inline_entries>>;

using AssetId = uint32_t;
using MarketId = uint32_t;
using AccountId = uint64_t;

inline constexpr AssetId kQuoteAsset = 0;

struct Levels {
  Int init, target, maint;
  const Int& at(Level level) const;  // REQUIRES level != Level::Equity (LIQL_ASSERT)
  bool operator==(const Levels&) const = default;
};

struct AssetParams {
  std::string symbol;
  uint32_t decimals = 0;
  bool borrowable = false;
  uint64_t max_oracle_age_us = 0;
  Levels asset_weight;  // for positive balances, each in [0, WAD], init ≤ target ≤ maint
  Levels liab_weight;   // for negative balances, each ≥ WAD, maint ≤ target ≤ init
  Int liquidation_bonus;
  bool operator==(const AssetParams&) const = default;
};

struct MarketParams {
  std::string symbol;
  uint32_t base_decimals = 0;
  Levels margin;  // 0 < maint ≤ target ≤ init ≤ WAD
  Int liquidation_fee;
  Int lot_size;      // base units, > 0
  Int min_position;  // base units, ≥ 0
  uint64_t max_oracle_age_us = 0;
  Int max_trade_deviation;
  bool operator==(const MarketParams&) const = default;
};

struct Oracle {
  Int price = 0;  // WAD-scaled quote per whole unit
  uint64_t publish_ts = 0;
  bool present = false;
  bool operator==(const Oracle&) const = default;
};

struct Asset {
  AssetParams params;
  Oracle oracle;
  bool operator==(const Asset&) const = default;
};

struct Market {
  MarketParams params;
  Oracle oracle;
  bool operator==(const Market&) const = default;
};

struct Position {
  Int base;   // base units, + long, − short; never 0 while the position exists
  Int quote;  // quote base units
  bool operator==(const Position&) const = default;
};

// Per asset, what accounts are owed (credit = Σ max(balance, 0)) and owe
// (debit = Σ max(−balance, 0)): the sums of the commitment's leaves and nodes
// (SPEC §7.1). Entries with both zero are not kept.
struct SumPair {
  Int credit, debit;
  bool operator==(const SumPair&) const = default;
};
using Sums = FlatMap<uint32_t, SumPair>;

// Invariants: no zero balance is kept; no position with base 0 is kept.
struct Account {
  SmallFlatMap<AssetId, Int, 2> balances;         // inline: the quote asset and one collateral
  SmallFlatMap<MarketId, Position, 1> positions;  // inline: one position
  uint64_t index = 0;  // creation index: State::order[index] is this account's id (SPEC §7.2)

  Int balance(AssetId asset) const;
  const Position* position(MarketId market) const;
  bool operator==(const Account&) const = default;
};

struct Funds {
  Int insurance, treasury, bad_debt;
  Int external;  // observe mode: what sync events booked (SPEC §5.5)
  bool is_zero() const;
  bool operator==(const Funds&) const = default;
};

struct Policy {
  PolicyKind kind = PolicyKind::Partial;
  Int close_factor;         // close_factor only
  Int full_liquidation_hf;  // close_factor only
  bool operator==(const Policy&) const = default;
};

struct Protocol {
  Mode mode = Mode::Enforce;
  Policy policy;
  Int liquidator_share;
  Int insurance_share;
  uint64_t seize_tolerance = 2;
  bool operator==(const Protocol&) const = default;
};

struct State {
  uint64_t seq = 0;  // of the last event, applied or rejected; 0 before genesis
  uint64_t ts = 0;
  Protocol protocol;
  FlatMap<AssetId, Asset> assets;
  FlatMap<MarketId, Market> markets;
  std::unordered_map<AccountId, Account> accounts;  // iterate through `order` or sorted_account_ids()
  std::vector<AccountId> order;                     // ids by creation index; accounts are never deleted
  FlatMap<AssetId, Funds> funds;
  Sums totals;  // Σ of every account's sums (the commitment's root sums), kept by the machine

  // Genesis was applied: the quote asset exists. A genesis the engine rejected
  // (invalid parameters, possible through the C++ API) leaves none.
  bool has_genesis() const { return assets.count(kQuoteAsset) != 0; }
  uint32_t quote_decimals() const { return assets.at(kQuoteAsset).params.decimals; }
  const Asset* asset(AssetId id) const;
  const Market* market(MarketId id) const;
  const Account* account(AccountId id) const;
  Account* account(AccountId id);
  const Funds& funds_of(AssetId asset) const;  // zeros when absent
  std::vector<AccountId> sorted_account_ids() const;
  bool operator==(const State&) const = default;
};

// The account created next gets index order.size(); see Machine's journal.
// Creates nothing when it throws (std::bad_alloc).
Account& create_account(State& state, AccountId id);

Sums account_sums(const Account& account);
// into += other (credit and debit element-wise); the results must fit
// 32-byte two's complement (std::overflow_error otherwise).
void add_sums(Sums& into, const Sums& other);

// Snapshots (SPEC §6.1): the whole state, accounts in creation order
// (docs/STATE_ENCODING.md, kSnapshotTag in schemas/formats.h). The state
// hash is the commitment of engine/commitment.h, not a hash of these bytes.
std::string encode_state(const State& state);
// The state, or Corruption naming what is wrong when `bytes` is not a valid
// encoding (an older snapshot version is named as such) or not a state the
// machine could be in (engine/params.h's rules, prices > 0, no price published
// after the state's ts, …): a forged snapshot never reaches the engine's
// assertions. Internal only when memory is exhausted. The caller adds the seq.
Result<State> decode_state(std::string_view bytes);

}  // namespace liql
