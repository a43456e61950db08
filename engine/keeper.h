#pragma once
// Keeper index: after every event, the exact set of accounts a keeper may
// liquidate (SPEC §3: status LIQUIDATABLE or BANKRUPT, i.e. H_maint < 0 — the
// equity level is never below H_maint, so BANKRUPT implies H_maint < 0),
// maintained so that a price update costs O(1 + crossed) index work instead of
// a scan of every account.
//
// Why it is exact. For an account, every priced term of H_maint is a linear
// function of one price, rounded (SPEC §3):
//   token (balance b of asset a, decimals d, maint weight w):
//       ⌊x⌋, x = s·P,  s = b·w·10^qd / (10^d·WAD²)
//   perp  (position (B, Q) in market m, base decimals bd, maint margin mm):
//       ⌊u⌋ + Q − ⌈v⌉, u − v = s·P,  s = (B·WAD − |B|·mm)·10^qd / (10^bd·WAD²)
// (quote-asset balances have price WAD forever: a constant). So with
// E(P) = the exact sum, the computed H(P) satisfies E(P) − R < H(P) ≤ E(P),
// where R = (priced token balances) + 2·(perp positions).
//
// An account evaluated at prices P⁰ with H⁰ = H(P⁰) gets a budget
//   healthy     (H⁰ ≥ 0): S = H⁰ − R + 1   then Σ s_j·ΔP_j ≥ −S  ⇒ H(P) > −1, H(P) ≥ 0
//   liquidatable(H⁰ < 0): S = −H⁰ − R      then Σ s_j·ΔP_j ≤  S  ⇒ H(P) < 0
// (E(P⁰) ≥ H⁰ > E(P⁰) − R, E is linear, H is an integer)
// shared over its k instruments with s_j ≠ 0 so that each price may move by
// the same fraction of itself: instrument j gets a one-sided band, its price
// may move by up to ⌊S·P⁰_j / Σ_i |s_i|·P⁰_i⌋ (exact, rounded toward P⁰_j) in
// the direction that hurts, and Σ_j |s_j|·shift_j ≤ S. (An equal share of S
// per instrument would leave the instrument that moves the account most with
// the narrowest band, re-evaluated at nearly every tick.) As long as every
// price of the account stays inside its band, its status cannot have changed.
// Each band is one entry in its instrument's book:
//   fire_below: key L ≤ current price, the account must be looked at when P < L;
//   fire_above: key U ≥ current price, the account must be looked at when P > U.
// A price update walks the crossed entries from the book's ends (the keys are
// ordered), re-evaluates exactly (account_health at the current prices) only
// those accounts and gives them new bands. When S < 0 (H⁰ within rounding of
// 0) the account is "tight": both books of every instrument it holds get the
// key P⁰, so any move of any of its prices re-evaluates it.
//
// Sign-definite accounts need no band at all: without perps, one with only
// balances ≥ 0 is healthy at any price, and one under water with only
// balances ≤ 0 stays under at any price.
//
// An account that holds an instrument with no price yet is parked on that
// instrument (not evaluable, never reported) until its first price. An
// account whose health overflows Int at the current prices is treated like a
// tight one and not reported (the state machine would reject any decision on
// it with ARITHMETIC_OVERFLOW).
//
// Staleness (SPEC §3 freshness) is not part of the index: it depends on the
// clock of the next event, not on the state. A keeper checks freshness when it
// acts; the set says who is under water at the last known prices.
//
// Deterministic: integers only (Int/Wide), ordered containers only, accounts
// processed in ascending id order.

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/outcome.h"
#include "engine/state.h"
#include "liqledger_generated.h"

namespace liql {

// A priced thing: an asset's oracle or a market's oracle (two id spaces).
struct Instrument {
  enum class Kind : uint8_t { Asset, Market };
  Kind kind = Kind::Asset;
  uint32_t id = 0;
  static Instrument asset(AssetId id) { return Instrument{Kind::Asset, id}; }
  static Instrument market(MarketId id) { return Instrument{Kind::Market, id}; }
  auto operator<=>(const Instrument&) const = default;
};
// "asset:X" | "market:M", as the what-if and risk outputs name instruments.
std::string instrument_name(Instrument instrument);
// The instrument a price event is for. REQUIRES exactly one of asset and market.
Instrument instrument_of(const fb::Price& price);
// Its oracle and its symbol in `state`. REQUIRES it is listed there.
const Oracle& oracle_of(const State& state, Instrument instrument);
const std::string& instrument_symbol(const State& state, Instrument instrument);

struct KeeperStats {
  uint64_t updates = 0;                  // price updates processed (on_price)
  uint64_t reevaluated = 0;              // accounts evaluated exactly, all causes
  uint64_t price_reevaluated = 0;        // of which by price updates
  uint64_t last_update_reevaluated = 0;  // by the last price update
};

// One band of an account, for tests and inspection.
struct KeeperTrigger {
  Instrument instrument;
  Int price;         // the key
  bool fires_below;  // true: looked at when price < key; false: when price > key
};

class KeeperIndex {
 public:
  KeeperIndex() = default;
  KeeperIndex(const KeeperIndex&) = delete;  // books point into the account table
  KeeperIndex& operator=(const KeeperIndex&) = delete;

  // Forgets everything and evaluates every account of `state`: O(N log N).
  // Start here for a state that was not built event by event through
  // on_event (a snapshot, a loaded ledger); afterwards every price change and
  // every account change must reach the index.
  void rebuild(const State& state);

  // Keeps the index in step with the state machine: call after every
  // Machine::apply with the state after it. Rejected events change nothing;
  // a price event walks its instrument's books; set_asset / set_market
  // re-evaluate the instrument's holders (weights and margins change their
  // health and sensitivity); genesis rebuilds; every other event re-evaluates
  // Outcome::touched.
  void on_event(const State& state_after, const fb::Event& event, const Outcome& outcome);

  // The price of `instrument` in `state` changed (or appeared).
  // O(1 + crossed) book work plus an exact evaluation of each crossed account.
  void on_price(const State& state, Instrument instrument);
  // The parameters of `instrument` changed: re-evaluates every holder
  // (one cheap pass over the accounts; governance is rare).
  void on_params(const State& state, Instrument instrument);
  // These accounts changed (or were created) in `state`.
  void on_accounts(const State& state, std::span<const AccountId> ids);

  // Accounts with every price present and H_maint < 0 at the current prices.
  const std::set<AccountId>& liquidatable() const { return liquidatable_; }
  const KeeperStats& stats() const { return stats_; }

  // Introspection (tests, benchmarks).
  std::vector<KeeperTrigger> triggers(AccountId id) const;
  bool parked(AccountId id) const;
  bool tight(AccountId id) const;
  size_t accounts() const { return tracked_.size(); }
  size_t entries() const;

 private:
  struct Tracked;
  // A book's key: a positive price as four 64-bit limbs, most significant
  // first, so that ordering is a plain array comparison (an Int comparison
  // costs several times more, and a book is searched on every evaluation).
  using PriceKey = std::array<uint64_t, 4>;
  static PriceKey key_of(const Int& price);  // REQUIRES price > 0
  static Int price_of(const PriceKey& key);
  using BookMap = std::multimap<PriceKey, Tracked*>;
  struct Book {
    BookMap fire_below;  // keys ≤ current price
    BookMap fire_above;  // keys ≥ current price
    std::set<AccountId> parked;
  };
  struct Entry {
    Instrument instrument;
    BookMap* map;
    BookMap::iterator it;
  };
  struct Tracked {
    AccountId id = 0;
    std::vector<Entry> entries;
    Book* parked_on = nullptr;
    bool tight = false;
  };

  Book& book(Instrument instrument);
  void unlink(Tracked& tracked);
  void evaluate(const State& state, Tracked& tracked);
  void band(const State& state, const Account& account, Tracked& tracked, const Int& health, bool under);
  void band_tight(const State& state, const Account& account, Tracked& tracked);
  void insert(Tracked& tracked, Instrument instrument, BookMap& map, const Int& key);

  std::map<Instrument, Book> books_;
  std::map<AccountId, Tracked> tracked_;
  std::set<AccountId> liquidatable_;
  KeeperStats stats_;
};

}  // namespace liql
