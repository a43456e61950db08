#include "engine/machine.h"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>

#include "schemas/assert.h"
#include "engine/liquidation.h"
#include "engine/params.h"
#include "engine/policy.h"
#include "schemas/event_types.h"

namespace liql {
namespace {

constexpr unsigned kPriceDecimals = 18;

std::optional<Int> read_units(const flatbuffers::String* text, unsigned decimals) {
  if (text == nullptr) return std::nullopt;
  return parse_units(text->string_view(), decimals);
}

#ifndef LIQL_CHECK_INVARIANTS
#define LIQL_CHECK_INVARIANTS 0
#endif
// Machine::set_invariant_checks; on from the start in Debug builds.
std::atomic<bool> invariant_checks_on{LIQL_CHECK_INVARIANTS != 0};

// SPEC §7.4, checked around every event when invariant checks are on:
// what the accounts and the funds hold of an asset (balances, for the quote
// asset also the positions' quote, insurance, treasury, less bad debt and the
// observe-mode external bookings) changes only by what the event brought in
// or took out, and the perp base of a market stays zero-sum except under a
// sync_position. A rejected event changes neither.
struct Holdings {
  std::map<AssetId, Int> assets;
  std::map<MarketId, Int> base;
};

Holdings holdings(const State& state) {
  Holdings h;
  for (AccountId id : state.order) {
    const Account& account = state.accounts.at(id);
    for (const auto& [asset, amount] : account.balances) h.assets[asset] += amount;
    for (const auto& [market, position] : account.positions) {
      h.assets[kQuoteAsset] += position.quote;
      h.base[market] += position.base;
    }
  }
  for (const auto& [asset, funds] : state.funds) {
    h.assets[asset] += funds.insurance + funds.treasury - funds.bad_debt - funds.external;
  }
  std::erase_if(h.assets, [](const auto& entry) { return entry.second.is_zero(); });
  std::erase_if(h.base, [](const auto& entry) { return entry.second.is_zero(); });
  return h;
}

// What an applied event brings in from outside, per asset.
std::map<AssetId, Int> inflow(const State& state, const fb::Event& event) {
  std::map<AssetId, Int> in;
  auto add = [&](AssetId asset, const flatbuffers::String* amount, int sign) {
    const auto units = read_units(amount, state.assets.at(asset).params.decimals);
    if (units && !units->is_zero()) in[asset] += sign * *units;
  };
  switch (event.body_type()) {
    case fb::Body::Deposit: add(event.body_as_Deposit()->asset(), event.body_as_Deposit()->amount(), 1); break;
    case fb::Body::Withdraw: add(event.body_as_Withdraw()->asset(), event.body_as_Withdraw()->amount(), -1); break;
    case fb::Body::InsuranceDeposit:
      add(event.body_as_InsuranceDeposit()->asset(), event.body_as_InsuranceDeposit()->amount(), 1);
      break;
    default: break;
  }
  return in;
}

void check_invariants(const Holdings& before, const State& state, const fb::Event& event, bool applied) {
  const Holdings after = holdings(state);
  std::map<AssetId, Int> expected = before.assets;
  if (applied) {
    for (const auto& [asset, amount] : inflow(state, event)) expected[asset] += amount;
    std::erase_if(expected, [](const auto& entry) { return entry.second.is_zero(); });
  }
  LIQL_ASSERT(after.assets == expected, "conservation: holdings changed by other than the event's inflow");
  if (!applied || event.body_type() != fb::Body::SyncPosition) {
    LIQL_ASSERT(after.base == before.base, "perp base: the change of a market's total base");
  }
}

// Balances never keep a zero entry.
void add_balance(Account& account, AssetId asset, const Int& delta) {
  if (delta.is_zero()) return;
  auto it = account.balances.find(asset);
  if (it == account.balances.end()) {
    account.balances.emplace(asset, stored(delta));
    return;
  }
  Int next = it->second + delta;
  if (next.is_zero()) {
    account.balances.erase(it);
  } else {
    it->second = stored(next);
  }
}

// Moves base and quote into a position. When base reaches 0 the quote is
// settled into the quote balance and the position disappears (SPEC §4.1).
void move_position(Account& account, MarketId market, const Int& base_delta, const Int& quote_delta) {
  auto it = account.positions.find(market);
  Int base = base_delta;
  Int quote = quote_delta;
  if (it != account.positions.end()) {
    base += it->second.base;
    quote += it->second.quote;
  }
  if (base.is_zero()) {
    if (it != account.positions.end()) account.positions.erase(it);
    add_balance(account, kQuoteAsset, quote);
    return;
  }
  if (it == account.positions.end()) {
    account.positions.emplace(market, Position{stored(base), stored(quote)});
  } else {
    it->second.base = stored(base);
    it->second.quote = stored(quote);
  }
}

void add_fund(Int& fund, const Int& delta) { fund = stored(fund + delta); }

// The accounts one event touched: inline room for what most events touch.
using Touched = boost::container::small_vector<AccountId, 4>;

// Undo log of one event: the accounts and funds it touched, as they were, and
// the accounts it created.
class Journal {
 public:
  explicit Journal(State& state) : state_(state) {}

  Account& existing(AccountId id) {
    Account& account = state_.accounts.at(id);
    remember(id, account);
    return account;
  }

  // The account, created (with the next creation index) when it does not exist yet.
  Account& open(AccountId id) {
    if (Account* account = state_.account(id)) {
      remember(id, *account);
      return *account;
    }
    created_.push_back(id);
    try {
      return create_account(state_, id);  // creates nothing when it throws
    } catch (...) {
      created_.pop_back();
      throw;
    }
  }

  // The account as it was before this event; nullptr when this event created it.
  const Account* original(AccountId id) const {
    for (const auto& [saved_id, account] : saved_accounts_) {
      if (saved_id == id) return &account;
    }
    if (std::find(created_.begin(), created_.end(), id) != created_.end()) return nullptr;
    return state_.account(id);
  }

  // Every listed asset has a funds entry (a decoded snapshot restores the zero
  // ones too); try_emplace keeps this safe either way. The reference is valid
  // until the next call, which may insert.
  Funds& funds(AssetId asset) {
    Funds& funds = state_.funds.try_emplace(asset).first->second;
    auto seen = [&](const auto& entry) { return entry.first == asset; };
    if (std::none_of(saved_funds_.begin(), saved_funds_.end(), seen)) saved_funds_.emplace_back(asset, funds);
    return funds;
  }

  // Every account this event changed or created, ascending and unique, into
  // *ids (cleared first).
  void touched(Touched* ids) const {
    ids->assign(created_.begin(), created_.end());
    for (const auto& entry : saved_accounts_) ids->push_back(entry.first);
    std::sort(ids->begin(), ids->end());
    ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
  }

  // Governance and listing events change the protocol and the listings,
  // outside any account: saved whole before such an event (a few per log, and
  // the listings are small), so that rollback() restores them too.
  void save_listings() { listings_.emplace(Listings{state_.protocol, state_.assets, state_.markets, state_.funds}); }

  // Counts this event's balance changes into State::totals; throws
  // std::overflow_error, changing nothing, when a total would no longer fit
  // (SPEC §7.1). Only the balances that changed are looked at. Once it
  // returns, the event is committed: it is the last step that may throw.
  void update_totals() {
    boost::container::small_vector<std::pair<AssetId, SumPair>, 4> deltas;
    auto change = [&](AssetId asset, const Int& before, const Int& after) {
      if (before == after) return;
      auto it = std::find_if(deltas.begin(), deltas.end(), [&](const auto& d) { return d.first == asset; });
      if (it == deltas.end()) it = deltas.insert(deltas.end(), {asset, SumPair{}});
      const Int zero = 0;
      it->second.credit += std::max(after, zero) - std::max(before, zero);
      it->second.debit += std::max(-after, zero) - std::max(-before, zero);
    };
    auto compare = [&](const Account* before, const Account& after) {
      for (const auto& [asset, balance] : after.balances) {
        change(asset, before ? before->balance(asset) : Int(0), balance);
      }
      if (before == nullptr) return;
      for (const auto& [asset, balance] : before->balances) {
        if (after.balances.count(asset) == 0) change(asset, balance, Int(0));
      }
    };
    for (const auto& [id, before] : saved_accounts_) compare(&before, state_.accounts.at(id));
    for (AccountId id : created_) compare(nullptr, state_.accounts.at(id));
    for (auto& [asset, delta] : deltas) {  // each delta becomes the new total: all checked before any is stored
      const auto current = state_.totals.find(asset);
      if (current != state_.totals.end()) {
        delta.credit += current->second.credit;
        delta.debit += current->second.debit;
      }
      stored(delta.credit);
      stored(delta.debit);
    }
    // With the room reserved, storing below cannot throw: all totals or none.
    state_.totals.reserve(state_.totals.size() + deltas.size());
    for (auto& [asset, pair] : deltas) {
      if (pair.credit.is_zero() && pair.debit.is_zero()) {
        state_.totals.erase(asset);
      } else {
        state_.totals[asset] = std::move(pair);
      }
    }
  }

  // Undoes the event; throws nothing (moves and erasures of what exists), so
  // it may run after any exception a step threw.
  void rollback() {
    if (listings_) {
      state_.protocol = std::move(listings_->protocol);
      state_.assets = std::move(listings_->assets);
      state_.markets = std::move(listings_->markets);
      state_.funds = std::move(listings_->funds);
      listings_.reset();
    }
    for (auto& [id, account] : saved_accounts_) state_.accounts.at(id) = std::move(account);
    // Created accounts took the last creation indices, in this order.
    for (AccountId id : created_) state_.accounts.erase(id);
    state_.order.resize(state_.order.size() - created_.size());
    for (auto& [asset, funds] : saved_funds_) state_.funds[asset] = std::move(funds);
    saved_accounts_.clear();
    created_.clear();
    saved_funds_.clear();
  }

 private:
  // `account` is the state's account `id`, as it is before this event changes it.
  void remember(AccountId id, const Account& account) {
    if (std::find(created_.begin(), created_.end(), id) != created_.end()) return;
    for (const auto& entry : saved_accounts_) {
      if (entry.first == id) return;
    }
    saved_accounts_.emplace_back(id, account);
  }

  struct Listings {
    Protocol protocol;
    FlatMap<AssetId, Asset> assets;
    FlatMap<MarketId, Market> markets;
    FlatMap<AssetId, Funds> funds;
  };

  State& state_;
  // Inline room for what most events touch (a trade: two accounts, the fee's
  // funds): no heap allocation for the undo log on the hot path.
  boost::container::small_vector<std::pair<AccountId, Account>, 2> saved_accounts_;
  boost::container::small_vector<AccountId, 2> created_;
  boost::container::small_vector<std::pair<AssetId, Funds>, 2> saved_funds_;
  std::optional<Listings> listings_;
};

// A rejected liquidation keeps what was judged before the failure (pre,
// required, allowed) and drops everything about an execution that did not happen.
void mark_rejected(LiquidationAudit& audit, Reason reason) {
  audit.verdict = reason == Reason::InvalidRecord ? Verdict::InvalidRecord : Verdict::Rejected;
  audit.reason = reason;
  audit.executed.reset();
  audit.penalty.reset();
  audit.seized.reset();
  audit.closed_value.reset();
  audit.excess_size.reset();
  audit.excess_penalty.reset();
  audit.post.reset();
  audit.bankrupt.reset();
}

// An optional size limit (max_base, max_repay) is an own field of the event:
// when given it must parse and be > 0 (INVALID_AMOUNT, SPEC §4).
bool valid_limit(const flatbuffers::String* text, const std::optional<Int>& parsed) {
  if (text == nullptr) return true;
  return parsed.has_value() && parsed->sign() > 0;
}

// Enforce mode executes what the rule allows, within the event's own limit.
Int enforced_size(const LiquidationAudit& audit) {
  if (audit.requested && *audit.requested < *audit.allowed) return *audit.requested;
  return *audit.allowed;
}

uint32_t flag_for(Reason reason) {
  switch (reason) {
    case Reason::StaleOracle: return kFlagStaleOracle;
    case Reason::PriceOutOfBand: return kFlagPriceOutOfBand;
    case Reason::InsufficientHealth: return kFlagInsufficientHealth;
    case Reason::NotBorrowable: return kFlagNotBorrowable;
    case Reason::LiquidatorUnhealthy: return kFlagLiquidatorUnhealthy;
    case Reason::InsufficientBalance: return kFlagInsufficientBalance;
    default: return 0;
  }
}

// The account a liquidation (or absorb) judges, as its checks found it.
struct Liquidated {
  const Account* account = nullptr;
  bool fresh = false;         // its health is evaluable at the event
  bool liquidatable = false;  // LIQUIDATABLE or BANKRUPT before the event
};

// Applies one event. Handlers return the reason of the first failed check, in
// the order of SPEC §4: unknown ids, the event's own fields, prices, then the
// state rules of the event's row and §5.
class Step {
 public:
  Step(State& state, uint64_t ts, Outcome& outcome, const LiquidationRule* pinned, bool keeper)
      : state_(state), ts_(ts), outcome_(outcome), journal_(state), pinned_(pinned), keeper_(keeper) {}

  Reason run(const fb::Event& event);
  void update_totals() { journal_.update_totals(); }
  void rollback() { journal_.rollback(); }
  void touched(Touched* ids) const { journal_.touched(ids); }

 private:
  bool observe() const { return state_.protocol.mode == Mode::Observe; }
  // A recorded liquidation of observe mode: applied as recorded and judged.
  // The what-if keeper's own liquidations are sized as in enforce mode.
  bool recorded() const { return observe() && !keeper_; }
  // The rule that sizes a liquidation: the pinned one, else the policy in force.
  // The partial and full rules have no parameters and no memory: one of each
  // serves every liquidation; close_factor is made for its parameters (*own).
  const LiquidationRule& sizing_rule(std::unique_ptr<LiquidationRule>* own) const {
    if (pinned_) return *pinned_;
    static const std::unique_ptr<LiquidationRule> partial = rule_for(Policy{PolicyKind::Partial, 0, 0});
    static const std::unique_ptr<LiquidationRule> full = rule_for(Policy{PolicyKind::Full, 0, 0});
    switch (state_.protocol.policy.kind) {
      case PolicyKind::Partial: return *partial;
      case PolicyKind::Full: return *full;
      case PolicyKind::CloseFactor: break;
    }
    *own = rule_for(state_.protocol.policy);
    return **own;
  }

  // A health or price rule: rejects in enforce mode; in observe mode the
  // event happened, so the rule only leaves a flag (SPEC §5.5).
  Reason rule(Reason reason) {
    if (!observe()) return reason;
    outcome_.flags |= flag_for(reason);
    return Reason::None;
  }

  // An event that cannot be applied: its reason in enforce mode, INVALID_RECORD in observe mode.
  Reason impossible(Reason reason) { return observe() ? Reason::InvalidRecord : reason; }

  Int h_init(const Account& account) const { return account_health(state_, account, Level::Init).value; }
  HealthSnapshot snapshot(const Account& account) const;
  std::optional<PriceSeen> asset_price_seen(AssetId asset) const;
  std::optional<PriceSeen> market_price_seen(MarketId market) const;

  Reason genesis(const fb::Genesis& event);
  Reason set_protocol(const fb::SetProtocol& event);
  Reason list_asset(const fb::AssetSpec& spec);
  Reason set_asset(const fb::AssetSpec& spec);
  Reason list_market(const fb::MarketSpec& spec);
  Reason set_market(const fb::MarketSpec& spec);
  Reason price(const fb::Price& event);
  Reason deposited(AssetId asset, const flatbuffers::String* text, Int* amount);
  Reason deposit(const fb::Transfer& event);
  Reason withdraw(const fb::Transfer& event);
  Reason trade(const fb::Trade& event);
  Reason trade_health(AccountId id);
  Reason liquidate_perp(const fb::LiquidatePerp& event);
  Reason liquidate_token(const fb::LiquidateToken& event);
  Reason insurance_deposit(const fb::InsuranceDeposit& event);
  Reason sync_balance(const fb::SyncBalance& event);
  Reason sync_position(const fb::SyncPosition& event);
  Reason absorb(const fb::Absorb& event);

  // Shared by both liquidations (and absorb, the first three).
  LiquidationAudit& begin_audit(LiquidationKind kind, AccountId account);
  Reason find_liquidated(AccountId id, LiquidationAudit& audit, Liquidated* found);
  Reason reject_liquidation(LiquidationAudit& audit, Reason reason);
  Reason check_liquidatable(LiquidationAudit& audit, Liquidated* found);
  Reason stale_account(LiquidationAudit& audit, bool fresh);
  Reason check_liquidator(AccountId liquidator);
  void close_out(Account& account, LiquidationAudit& audit);
  void close_out_if_exhausted(Account& account, LiquidationAudit& audit);
  void judge(LiquidationAudit& audit, bool wrongful, const Int& penalty_at_executed,
             const std::function<Int(const Int&)>& penalty_for);
  Reason finish_liquidation(LiquidationAudit& audit, AccountId liquidator, Account& target, bool liquidatable,
                            const Int& penalty_at_executed, const std::function<Int(const Int&)>& penalty_for);

  // The steps of each kind, in the order of SPEC §5.1 and §5.2.
  Reason check_perp(const fb::LiquidatePerp& event, LiquidationAudit& audit, Liquidated* found);
  void size_perp(const Account& account, MarketId market, const Int& abs_base, bool liquidatable,
                 LiquidationAudit& audit);
  Reason perp_executed(const fb::LiquidatePerp& event, const Int& abs_base, const LiquidationAudit& audit,
                       Int* executed);
  Reason recorded_penalty(const fb::LiquidatePerp& event, LiquidationAudit& audit, Int* penalty);
  Reason check_token(const fb::LiquidateToken& event, LiquidationAudit& audit, Liquidated* found);
  void size_token(const Account& account, AssetId l, AssetId c, bool liquidatable, LiquidationAudit& audit);
  Reason token_executed(const fb::LiquidateToken& event, const Account& account, LiquidationAudit& audit,
                        Int* repaid, Seizure* seizure);

  State& state_;
  const uint64_t ts_;
  Outcome& outcome_;
  Journal journal_;
  const LiquidationRule* pinned_;
  const bool keeper_;
};

Reason Step::run(const fb::Event& event) {
  // Without an applied genesis there is no protocol and no quote asset: a log
  // whose genesis the engine rejected (invalid parameters, possible through the
  // C++ API) applies nothing after it.
  if (event.body_type() != fb::Body::Genesis && !state_.has_genesis()) return Reason::InvalidRecord;
  switch (event.body_type()) {
    case fb::Body::Genesis:
    case fb::Body::SetProtocol:
    case fb::Body::ListAsset:
    case fb::Body::SetAsset:
    case fb::Body::ListMarket:
    case fb::Body::SetMarket: journal_.save_listings(); break;
    default: break;  // a price changes one oracle, by an assignment that cannot throw
  }
  switch (event.body_type()) {
    case fb::Body::Genesis: return genesis(*event.body_as_Genesis());
    case fb::Body::SetProtocol: return set_protocol(*event.body_as_SetProtocol());
    case fb::Body::ListAsset: return list_asset(*event.body_as_ListAsset());
    case fb::Body::SetAsset: return set_asset(*event.body_as_SetAsset());
    case fb::Body::ListMarket: return list_market(*event.body_as_ListMarket());
    case fb::Body::SetMarket: return set_market(*event.body_as_SetMarket());
    case fb::Body::Price: return price(*event.body_as_Price());
    case fb::Body::Deposit: return deposit(*event.body_as_Deposit());
    case fb::Body::Withdraw: return withdraw(*event.body_as_Withdraw());
    case fb::Body::Trade: return trade(*event.body_as_Trade());
    case fb::Body::LiquidatePerp: return liquidate_perp(*event.body_as_LiquidatePerp());
    case fb::Body::LiquidateToken: return liquidate_token(*event.body_as_LiquidateToken());
    case fb::Body::InsuranceDeposit: return insurance_deposit(*event.body_as_InsuranceDeposit());
    case fb::Body::SyncBalance: return sync_balance(*event.body_as_SyncBalance());
    case fb::Body::SyncPosition: return sync_position(*event.body_as_SyncPosition());
    case fb::Body::Absorb: return absorb(*event.body_as_Absorb());
    case fb::Body::NONE: break;
  }
  return Reason::InvalidRecord;
}

HealthSnapshot Step::snapshot(const Account& account) const {
  HealthReport report = health_report(state_, account);
  return HealthSnapshot{report.equity, report.init, report.target, report.maint, report.hf_maint, report.status};
}

std::optional<PriceSeen> Step::asset_price_seen(AssetId asset) const {
  if (asset == kQuoteAsset) return PriceSeen{wad(), 0};
  const Oracle& oracle = state_.assets.at(asset).oracle;
  if (!oracle.present) return std::nullopt;
  return PriceSeen{oracle.price, ts_ - oracle.publish_ts};
}

std::optional<PriceSeen> Step::market_price_seen(MarketId market) const {
  const Oracle& oracle = state_.markets.at(market).oracle;
  if (!oracle.present) return std::nullopt;
  return PriceSeen{oracle.price, ts_ - oracle.publish_ts};
}

// ---- governance and listings -------------------------------------------------

Reason Step::genesis(const fb::Genesis& event) {
  if (state_.seq > 0 || state_.has_genesis()) return Reason::InvalidRecord;  // only the first event
  Protocol protocol;
  AssetParams quote;
  if (Reason reason = parse_genesis(event, &protocol, &quote); reason != Reason::None) return reason;
  state_.protocol = std::move(protocol);
  state_.assets[kQuoteAsset] = Asset{std::move(quote), Oracle{}};
  state_.funds[kQuoteAsset] = Funds{};
  return Reason::None;
}

Reason Step::set_protocol(const fb::SetProtocol& event) {
  Protocol next;
  if (Reason reason = parse_set_protocol(event, state_.protocol, &next); reason != Reason::None) return reason;
  state_.protocol = std::move(next);
  return Reason::None;
}

Reason Step::list_asset(const fb::AssetSpec& spec) {
  if (state_.asset(spec.asset()) != nullptr) return Reason::DuplicateListing;
  AssetParams params;
  if (Reason reason = parse_asset_spec(spec, &params); reason != Reason::None) return reason;
  state_.assets[spec.asset()] = Asset{std::move(params), Oracle{}};
  state_.funds.try_emplace(spec.asset());
  return Reason::None;
}

Reason Step::set_asset(const fb::AssetSpec& spec) {
  auto it = state_.assets.find(spec.asset());
  if (it == state_.assets.end()) return impossible(Reason::UnknownAsset);
  AssetParams params;
  if (Reason reason = parse_asset_spec(spec, &params); reason != Reason::None) return reason;
  if (params.decimals != it->second.params.decimals) return Reason::InvalidParams;  // decimals never change
  if (spec.asset() == kQuoteAsset && !valid_quote_params(params, state_.quote_decimals())) {
    return Reason::InvalidParams;
  }
  it->second.params = std::move(params);
  return Reason::None;
}

Reason Step::list_market(const fb::MarketSpec& spec) {
  if (state_.market(spec.market()) != nullptr) return Reason::DuplicateListing;
  MarketParams params;
  if (Reason reason = parse_market_spec(spec, &params); reason != Reason::None) return reason;
  state_.markets[spec.market()] = Market{std::move(params), Oracle{}};
  return Reason::None;
}

Reason Step::set_market(const fb::MarketSpec& spec) {
  auto it = state_.markets.find(spec.market());
  if (it == state_.markets.end()) return impossible(Reason::UnknownMarket);
  MarketParams params;
  if (Reason reason = parse_market_spec(spec, &params); reason != Reason::None) return reason;
  if (params.base_decimals != it->second.params.base_decimals) return Reason::InvalidParams;
  it->second.params = std::move(params);
  return Reason::None;
}

Reason Step::price(const fb::Price& event) {
  const bool by_asset = event.asset().has_value();
  if (by_asset == event.market().has_value()) return Reason::InvalidParams;  // asset xor market
  Oracle* oracle = nullptr;
  if (by_asset) {
    auto it = state_.assets.find(*event.asset());
    if (it == state_.assets.end()) return impossible(Reason::UnknownAsset);
    if (*event.asset() == kQuoteAsset) return Reason::InvalidFeed;
    oracle = &it->second.oracle;
  } else {
    auto it = state_.markets.find(*event.market());
    if (it == state_.markets.end()) return impossible(Reason::UnknownMarket);
    oracle = &it->second.oracle;
  }
  auto value = read_units(event.price(), kPriceDecimals);
  if (!value || value->sign() <= 0) return Reason::InvalidAmount;
  if (oracle->present && event.publish_ts() < oracle->publish_ts) return Reason::StaleUpdate;
  *oracle = Oracle{stored(*value), event.publish_ts(), true};
  return Reason::None;
}

// ---- money in and out ---------------------------------------------------------

// What a deposit brings in: an amount > 0 of a listed asset.
Reason Step::deposited(AssetId asset_id, const flatbuffers::String* text, Int* amount) {
  const Asset* asset = state_.asset(asset_id);
  if (asset == nullptr) return impossible(Reason::UnknownAsset);
  auto parsed = read_units(text, asset->params.decimals);
  if (!parsed || parsed->sign() <= 0) return impossible(Reason::InvalidAmount);
  *amount = std::move(*parsed);
  return Reason::None;
}

Reason Step::deposit(const fb::Transfer& event) {
  Int amount;
  if (Reason reason = deposited(event.asset(), event.amount(), &amount); reason != Reason::None) return reason;
  add_balance(journal_.open(event.account()), event.asset(), amount);
  return Reason::None;
}

Reason Step::insurance_deposit(const fb::InsuranceDeposit& event) {
  Int amount;
  if (Reason reason = deposited(event.asset(), event.amount(), &amount); reason != Reason::None) return reason;
  add_fund(journal_.funds(event.asset()).insurance, amount);
  return Reason::None;
}

Reason Step::withdraw(const fb::Transfer& event) {
  const Asset* asset = state_.asset(event.asset());
  if (asset == nullptr) return impossible(Reason::UnknownAsset);
  if (state_.account(event.account()) == nullptr) return impossible(Reason::UnknownAccount);
  auto amount = read_units(event.amount(), asset->params.decimals);
  if (!amount || amount->sign() <= 0) return impossible(Reason::InvalidAmount);
  Account& account = journal_.existing(event.account());
  if ((account.balance(event.asset()) - *amount).sign() < 0 && !asset->params.borrowable) {
    if (Reason reason = rule(Reason::NotBorrowable); reason != Reason::None) return reason;
  }
  add_balance(account, event.asset(), -*amount);
  if (!evaluable(state_, account, ts_)) {
    if (Reason reason = rule(Reason::StaleOracle); reason != Reason::None) return reason;
  }
  if (priced(state_, account) && h_init(account).sign() < 0) return rule(Reason::InsufficientHealth);
  return Reason::None;
}

// ---- trading -------------------------------------------------------------------

Reason Step::trade(const fb::Trade& event) {
  const Market* market = state_.market(event.market());
  if (market == nullptr) return impossible(Reason::UnknownMarket);
  // Own fields in the order SPEC §4 lists them: INVALID_AMOUNT before SELF_TRADE.
  const MarketParams& params = market->params;
  auto base = read_units(event.base(), params.base_decimals);
  if (!base || base->is_zero() || !(abs(*base) % params.lot_size).is_zero()) return impossible(Reason::InvalidAmount);
  auto price = read_units(event.price(), kPriceDecimals);
  if (!price || price->sign() <= 0) return impossible(Reason::InvalidAmount);
  if (event.taker() == event.maker()) return impossible(Reason::SelfTrade);

  // Prices: the market's oracle, everything either party holds, then the band.
  if (!market_fresh(state_, event.market(), ts_)) {
    if (Reason reason = rule(Reason::StaleOracle); reason != Reason::None) return reason;
  }
  for (AccountId id : {event.taker(), event.maker()}) {
    const Account* account = state_.account(id);
    if (account != nullptr && !evaluable(state_, *account, ts_)) {
      if (Reason reason = rule(Reason::StaleOracle); reason != Reason::None) return reason;
    }
  }
  if (market->oracle.present) {
    const Int& oracle = market->oracle.price;
    if (compare_products(abs(*price - oracle), wad(), oracle, params.max_trade_deviation) > 0) {
      if (Reason reason = rule(Reason::PriceOutOfBand); reason != Reason::None) return reason;
    }
  }

  // cost = notional of |base| at the trade price; the buyer pays ⌈cost⌉, the
  // seller gets ⌊cost⌋, the dust goes to insurance (SPEC §1.2).
  const Int size = abs(*base);
  const Int cost_floor = muldiv_pow10_floor(size, *price, state_.quote_decimals(), params.base_decimals + 18);
  const Int cost_ceil = muldiv_pow10_ceil(size, *price, state_.quote_decimals(), params.base_decimals + 18);
  const bool taker_buys = base->sign() > 0;
  Account& buyer = journal_.open(taker_buys ? event.taker() : event.maker());
  Account& seller = journal_.open(taker_buys ? event.maker() : event.taker());
  move_position(buyer, event.market(), size, -cost_ceil);
  move_position(seller, event.market(), -size, cost_floor);
  add_fund(journal_.funds(kQuoteAsset).insurance, cost_ceil - cost_floor);

  if (Reason reason = trade_health(event.taker()); reason != Reason::None) return reason;
  return trade_health(event.maker());
}

// Each party ends with H_init ≥ 0 or no lower than before the trade.
Reason Step::trade_health(AccountId id) {
  const Account& account = state_.accounts.at(id);
  if (!priced(state_, account)) return Reason::None;  // observe mode only: flagged stale already
  const Int after = h_init(account);
  if (after.sign() >= 0) return Reason::None;
  const Account* before_account = journal_.original(id);
  const Int before = before_account == nullptr ? Int(0) : h_init(*before_account);
  if (after < before) return rule(Reason::InsufficientHealth);
  return Reason::None;
}

// ---- liquidation ----------------------------------------------------------------

LiquidationAudit& Step::begin_audit(LiquidationKind kind, AccountId account) {
  LiquidationAudit& audit = outcome_.audit.emplace();
  audit.kind = kind;
  audit.account = account;
  audit.policy = state_.protocol.policy;
  return audit;
}

// The account judged (UNKNOWN_ACCOUNT when it does not exist) and its health
// before the event: taken when evaluable, and in observe mode when it is
// merely priced (stale prices are still the last ones known).
Reason Step::find_liquidated(AccountId id, LiquidationAudit& audit, Liquidated* found) {
  found->account = state_.account(id);
  if (found->account == nullptr) return impossible(Reason::UnknownAccount);
  found->fresh = evaluable(state_, *found->account, ts_);
  if (found->fresh || (recorded() && priced(state_, *found->account))) audit.pre = snapshot(*found->account);
  return Reason::None;
}

Reason Step::reject_liquidation(LiquidationAudit& audit, Reason reason) {
  mark_rejected(audit, reason);
  return reason;
}

// The liquidated account's prices: enforce mode needs them fresh; observe mode
// judges with the last prices it has, and cannot judge without them.
Reason Step::stale_account(LiquidationAudit& audit, bool fresh) {
  if (fresh) return Reason::None;
  if (!recorded()) return Reason::StaleOracle;
  if (!audit.pre) return Reason::InvalidRecord;
  outcome_.flags |= kFlagStaleOracle;
  return Reason::None;
}

// The price checks, then NOT_LIQUIDATABLE; a recorded liquidation of an
// account that was not liquidatable is applied and judged WRONGFUL instead.
Reason Step::check_liquidatable(LiquidationAudit& audit, Liquidated* found) {
  if (Reason reason = stale_account(audit, found->fresh); reason != Reason::None) return reason;
  const AccountStatus status = audit.pre->status;
  found->liquidatable = status == AccountStatus::Liquidatable || status == AccountStatus::Bankrupt;
  if (!found->liquidatable && !recorded()) return Reason::NotLiquidatable;
  return Reason::None;
}

// The liquidator must end evaluable and with H_init ≥ 0 (not checked in
// observe mode, nor for the what-if keeper).
Reason Step::check_liquidator(AccountId liquidator) {
  if (observe() || keeper_) return Reason::None;
  const Account& account = state_.accounts.at(liquidator);
  if (!evaluable(state_, account, ts_)) return Reason::StaleOracle;
  if (h_init(account).sign() < 0) return Reason::LiquidatorUnhealthy;
  return Reason::None;
}

// SPEC §5.4 close-out: every positive balance (unseizable dust) moves to
// insurance of its asset, then insurance pays each debt as far as it can and
// the rest becomes bad debt; ascending asset ids, every balance ends at 0.
void Step::close_out(Account& account, LiquidationAudit& audit) {
  const std::vector<std::pair<AssetId, Int>> balances(account.balances.begin(), account.balances.end());
  Bankruptcy bankruptcy;
  for (const auto& [asset, balance] : balances) {
    if (balance.sign() <= 0) continue;
    add_fund(journal_.funds(asset).insurance, balance);
    add_balance(account, asset, -balance);
  }
  for (const auto& [asset, balance] : balances) {
    BankruptcyLine line{asset, 0, 0, 0};
    if (balance.sign() > 0) {
      line.dust = balance;
    } else {
      Funds& funds = journal_.funds(asset);
      const Int debt = -balance;
      line.covered = debt < funds.insurance ? debt : funds.insurance;
      line.bad_debt = debt - line.covered;
      add_fund(funds.insurance, -line.covered);
      add_fund(funds.bad_debt, line.bad_debt);
      add_balance(account, asset, debt);
      bankruptcy.covered_value += value(state_, asset, line.covered);
      bankruptcy.bad_debt_value += value(state_, asset, line.bad_debt);
    }
    bankruptcy.lines.push_back(std::move(line));
  }
  audit.bankrupt = std::move(bankruptcy);
  audit.flags |= kFlagBankruptcy;
}

// After an applied liquidation: an exhausted account that still owes something is closed out.
void Step::close_out_if_exhausted(Account& account, LiquidationAudit& audit) {
  const bool owes = std::any_of(account.balances.begin(), account.balances.end(),
                                [](const auto& entry) { return entry.second.sign() < 0; });
  if (owes && exhausted(state_, account)) close_out(account, audit);
}

// Verdict of SPEC §5.6 for an applied liquidation.
void Step::judge(LiquidationAudit& audit, bool wrongful, const Int& penalty_at_executed,
                 const std::function<Int(const Int&)>& penalty_for) {
  const Int& executed = *audit.executed;
  const Int& required = *audit.required;
  const Int& allowed = *audit.allowed;
  if (wrongful) {
    audit.verdict = Verdict::Wrongful;
  } else if (executed > allowed) {
    audit.verdict = Verdict::OverLimit;
    audit.excess_size = executed - allowed;
    audit.excess_penalty = penalty_at_executed - penalty_for(allowed);
  } else if (executed == required) {
    audit.verdict = Verdict::Minimal;
  } else if (executed < required) {
    audit.verdict = Verdict::Under;
  } else {
    audit.verdict = Verdict::AllowedExcess;
    audit.excess_size = executed - required;
    audit.excess_penalty = penalty_at_executed - penalty_for(required);
  }
}

// After the transfers: the liquidator's health (a failure undoes the event),
// the close-out of an exhausted account, its health after, the verdict.
Reason Step::finish_liquidation(LiquidationAudit& audit, AccountId liquidator, Account& target, bool liquidatable,
                                const Int& penalty_at_executed, const std::function<Int(const Int&)>& penalty_for) {
  if (Reason reason = check_liquidator(liquidator); reason != Reason::None) return reject_liquidation(audit, reason);
  close_out_if_exhausted(target, audit);
  if (priced(state_, target)) audit.post = snapshot(target);
  judge(audit, !liquidatable, penalty_at_executed, penalty_for);
  return Reason::None;
}

// ---- perp liquidation (SPEC §5.1) -------------------------------------------------

Reason Step::liquidate_perp(const fb::LiquidatePerp& event) {
  LiquidationAudit& audit = begin_audit(LiquidationKind::Perp, event.account());
  audit.liquidator = event.liquidator();
  audit.market = event.market();
  Liquidated found;
  if (Reason reason = check_perp(event, audit, &found); reason != Reason::None) {
    return reject_liquidation(audit, reason);
  }
  const MarketId market = event.market();
  const Int base = found.account->position(market)->base;
  const Int abs_base = abs(base);
  size_perp(*found.account, market, abs_base, found.liquidatable, audit);
  Int executed;
  if (Reason reason = perp_executed(event, abs_base, audit, &executed); reason != Reason::None) {
    return reject_liquidation(audit, reason);
  }
  audit.executed = executed;

  const PerpTransfer transfer = perp_transfer(state_, market, executed);
  const Int computed_penalty = perp_penalty(state_, market, transfer.floor);
  Int penalty = computed_penalty;
  if (Reason reason = recorded_penalty(event, audit, &penalty); reason != Reason::None) {
    return reject_liquidation(audit, reason);
  }
  const PenaltySplit split = split_penalty(state_.protocol, penalty);
  audit.penalty = split;
  audit.closed_value = transfer.floor;

  // The liquidator takes over `executed` base at the oracle price; the side
  // that pays pays ⌈T⌉, the other gets ⌊T⌋, the dust goes to insurance.
  Account& target = journal_.existing(event.account());
  Account& liquidator = journal_.open(event.liquidator());
  if (base.sign() > 0) {
    move_position(target, market, -executed, transfer.floor - penalty);
    move_position(liquidator, market, executed, -transfer.ceil);
  } else {
    move_position(target, market, executed, -transfer.ceil - penalty);
    move_position(liquidator, market, -executed, transfer.floor);
  }
  add_balance(liquidator, kQuoteAsset, split.liquidator);
  Funds& quote_funds = journal_.funds(kQuoteAsset);
  add_fund(quote_funds.insurance, transfer.ceil - transfer.floor + split.insurance);
  add_fund(quote_funds.treasury, split.treasury);
  // excess_penalty compares computed penalties, never a recorded one (SPEC §5.6).
  return finish_liquidation(audit, event.liquidator(), target, found.liquidatable, computed_penalty,
                            [&](const Int& size) { return perp_penalty_for_size(state_, market, size); });
}

// SPEC §4's order: the market, the account, the event's own fields, the
// account's prices, then whether it is liquidatable.
Reason Step::check_perp(const fb::LiquidatePerp& event, LiquidationAudit& audit, Liquidated* found) {
  const Market* market = state_.market(event.market());
  if (market == nullptr) return impossible(Reason::UnknownMarket);
  audit.price = market_price_seen(event.market());
  if (event.max_base() != nullptr) audit.requested = read_units(event.max_base(), market->params.base_decimals);
  if (Reason reason = find_liquidated(event.account(), audit, found); reason != Reason::None) return reason;
  if (!valid_limit(event.max_base(), audit.requested)) return impossible(Reason::InvalidAmount);
  if (event.liquidator() == event.account()) return impossible(Reason::SelfLiquidation);
  if (found->account->position(event.market()) == nullptr) return impossible(Reason::NothingToLiquidate);
  return check_liquidatable(audit, found);
}

// s* and the size the rule allows; of an account that was not liquidatable
// (observe mode) nothing had to be closed.
void Step::size_perp(const Account& account, MarketId market, const Int& abs_base, bool liquidatable,
                     LiquidationAudit& audit) {
  if (!liquidatable) {
    audit.required = Int(0);
    audit.allowed = Int(0);
    return;
  }
  const RequiredSize required = perp_required(state_, account, market);
  if (required.dust_rule) audit.flags |= kFlagDustRule;
  audit.required = required.size;
  const Health maint = account_health(state_, account, Level::Maint);
  std::unique_ptr<LiquidationRule> own;
  audit.allowed = sizing_rule(&own).perp_allowed(PerpCase{state_, account, market, abs_base, maint, required.size});
}

// Enforce mode: the allowed size within max_base, rounded down to a lot unless
// it closes the whole position (0 is INVALID_AMOUNT). Observe mode: the
// recorded executed_base, in [1, |base|] and lot-aligned or the whole position.
Reason Step::perp_executed(const fb::LiquidatePerp& event, const Int& abs_base, const LiquidationAudit& audit,
                           Int* executed) {
  const MarketParams& params = state_.markets.at(event.market()).params;
  if (!recorded()) {
    *executed = enforced_size(audit);
    if (*executed != abs_base) *executed = fdiv(*executed, params.lot_size) * params.lot_size;
    return executed->sign() <= 0 ? Reason::InvalidAmount : Reason::None;
  }
  const auto recorded_base = read_units(event.executed_base(), params.base_decimals);
  if (!recorded_base || recorded_base->sign() <= 0 || *recorded_base > abs_base ||
      (*recorded_base != abs_base && !(*recorded_base % params.lot_size).is_zero())) {
    return Reason::InvalidRecord;
  }
  *executed = *recorded_base;
  return Reason::None;
}

// Observe mode applies a recorded penalty in place of the computed one,
// flagged PENALTY_MISMATCH when they differ.
Reason Step::recorded_penalty(const fb::LiquidatePerp& event, LiquidationAudit& audit, Int* penalty) {
  if (!recorded() || event.penalty() == nullptr) return Reason::None;
  const auto recorded_units = read_units(event.penalty(), state_.quote_decimals());
  if (!recorded_units || recorded_units->sign() < 0) return Reason::InvalidRecord;
  if (*recorded_units != *penalty) audit.flags |= kFlagPenaltyMismatch;
  *penalty = *recorded_units;
  return Reason::None;
}

// ---- token liquidation (SPEC §5.2) ------------------------------------------------

Reason Step::liquidate_token(const fb::LiquidateToken& event) {
  LiquidationAudit& audit = begin_audit(LiquidationKind::Token, event.account());
  audit.liquidator = event.liquidator();
  audit.liability = event.liability_asset();
  audit.collateral = event.collateral_asset();
  Liquidated found;
  if (Reason reason = check_token(event, audit, &found); reason != Reason::None) {
    return reject_liquidation(audit, reason);
  }
  const AssetId l = event.liability_asset();
  const AssetId c = event.collateral_asset();
  size_token(*found.account, l, c, found.liquidatable, audit);
  Int repaid;
  Seizure seizure;
  if (Reason reason = token_executed(event, *found.account, audit, &repaid, &seizure); reason != Reason::None) {
    return reject_liquidation(audit, reason);
  }
  audit.executed = repaid;
  const PenaltySplit split = split_penalty(state_.protocol, seizure.bonus);
  audit.penalty = split;
  audit.seized = seizure.ceil;
  audit.closed_value = value(state_, l, repaid);

  // The liquidator repays `repaid` of L for the account, which gives
  // ⌈seize_exact⌉ of C; the liquidator receives ⌊seize_exact⌋ less the bonus's
  // insurance and treasury shares, the dust goes to insurance.
  Account& target = journal_.existing(event.account());
  Account& liquidator = journal_.open(event.liquidator());
  if (!keeper_ && (liquidator.balance(l) - repaid).sign() < 0 && !state_.assets.at(l).params.borrowable) {
    if (Reason reason = rule(Reason::InsufficientBalance); reason != Reason::None) {
      return reject_liquidation(audit, reason);
    }
  }
  add_balance(liquidator, l, -repaid);
  add_balance(target, l, repaid);
  add_balance(target, c, -seizure.ceil);
  add_balance(liquidator, c, seizure.floor - split.insurance - split.treasury);
  Funds& funds = journal_.funds(c);
  add_fund(funds.insurance, seizure.ceil - seizure.floor + split.insurance);
  add_fund(funds.treasury, split.treasury);
  return finish_liquidation(audit, event.liquidator(), target, found.liquidatable, seizure.bonus,
                            [&](const Int& repay) { return token_seizure(state_, l, c, repay).bonus; });
}

// SPEC §4's order: the assets, the account, the event's own fields (cap < 1
// among them), the account's prices, then whether it is liquidatable.
Reason Step::check_token(const fb::LiquidateToken& event, LiquidationAudit& audit, Liquidated* found) {
  const AssetId l = event.liability_asset();
  const AssetId c = event.collateral_asset();
  const Asset* liability = state_.asset(l);
  if (liability == nullptr || state_.asset(c) == nullptr) return impossible(Reason::UnknownAsset);
  audit.liability_price = asset_price_seen(l);
  audit.collateral_price = asset_price_seen(c);
  if (event.max_repay() != nullptr) audit.requested = read_units(event.max_repay(), liability->params.decimals);
  if (Reason reason = find_liquidated(event.account(), audit, found); reason != Reason::None) return reason;
  if (!valid_limit(event.max_repay(), audit.requested)) return impossible(Reason::InvalidAmount);
  if (l == c) return impossible(Reason::InvalidParams);
  if (event.liquidator() == event.account()) return impossible(Reason::SelfLiquidation);
  const Account& account = *found->account;
  if (account.balance(l).sign() >= 0 || account.balance(c).sign() <= 0) {
    return impossible(Reason::NothingToLiquidate);
  }
  // cap < 1 is NOTHING_TO_LIQUIDATE, an own-field check that SPEC §4 runs before
  // the prices are judged: it uses the stored prices of L and C. Without one of
  // them the account is not evaluable and STALE_ORACLE follows.
  const bool both_priced = audit.liability_price.has_value() && audit.collateral_price.has_value();
  if (both_priced && !recorded() && token_repay_cap(state_, account, l, c).sign() < 1) {
    return Reason::NothingToLiquidate;
  }
  return check_liquidatable(audit, found);
}

// r* and the repay the rule allows, both within the cap; of an account that
// was not liquidatable, or that has nothing seizable left (recorded, cap < 1),
// nothing had to be repaid.
void Step::size_token(const Account& account, AssetId l, AssetId c, bool liquidatable, LiquidationAudit& audit) {
  // Past the price check every price the account holds is present.
  const Int cap = token_repay_cap(state_, account, l, c);
  if (!liquidatable || cap.sign() < 1) {
    audit.required = Int(0);
    audit.allowed = Int(0);
    return;
  }
  audit.required = token_required(state_, account, l, c, cap);
  const Health maint = account_health(state_, account, Level::Maint);
  const Int abs_debt = abs(account.balance(l));
  std::unique_ptr<LiquidationRule> own;
  audit.allowed =
      sizing_rule(&own).token_allowed(TokenCase{state_, account, l, c, abs_debt, maint, *audit.required, cap});
}

// Enforce mode: the allowed repay within max_repay (0 is INVALID_AMOUNT).
// Observe mode: the recorded repaid, in [1, |b_L|], and seized, in [0, b_C];
// the account gives exactly `seized`, flagged SEIZE_MISMATCH when it is further
// than the tolerance from ⌊seize_exact(repaid)⌋.
Reason Step::token_executed(const fb::LiquidateToken& event, const Account& account, LiquidationAudit& audit,
                            Int* repaid, Seizure* seizure) {
  const AssetId l = event.liability_asset();
  const AssetId c = event.collateral_asset();
  if (!recorded()) {
    *repaid = enforced_size(audit);
    if (repaid->sign() <= 0) return Reason::InvalidAmount;
    *seizure = token_seizure(state_, l, c, *repaid);
    return Reason::None;
  }
  const auto recorded_repaid = read_units(event.repaid(), state_.assets.at(l).params.decimals);
  const auto recorded_seized = read_units(event.seized(), state_.assets.at(c).params.decimals);
  if (!recorded_repaid || !recorded_seized || recorded_repaid->sign() <= 0 || recorded_seized->sign() < 0 ||
      *recorded_repaid > abs(account.balance(l)) || *recorded_seized > account.balance(c)) {
    return Reason::InvalidRecord;
  }
  *repaid = *recorded_repaid;
  *seizure = token_seizure(state_, l, c, *repaid);
  if (abs(*recorded_seized - seizure->floor) > Int(state_.protocol.seize_tolerance)) {
    audit.flags |= kFlagSeizeMismatch;
  }
  // History gave `seized`: the account gives exactly that, with no dust.
  seizure->ceil = *recorded_seized;
  seizure->floor = *recorded_seized;
  return Reason::None;
}

// ---- observe-mode synchronisation (SPEC §5.5) ------------------------------------

Reason Step::sync_balance(const fb::SyncBalance& event) {
  if (!observe()) return Reason::InvalidRecord;
  const Asset* asset = state_.asset(event.asset());
  if (asset == nullptr) return Reason::InvalidRecord;
  auto amount = read_units(event.amount(), asset->params.decimals);
  if (!amount) return Reason::InvalidRecord;
  Account& account = journal_.open(event.account());  // creates an unknown account (SPEC §5.5)
  const Int difference = *amount - account.balance(event.asset());
  add_balance(account, event.asset(), difference);
  add_fund(journal_.funds(event.asset()).external, difference);
  return Reason::None;
}

Reason Step::sync_position(const fb::SyncPosition& event) {
  if (!observe()) return Reason::InvalidRecord;
  const Market* market = state_.market(event.market());
  if (market == nullptr) return Reason::InvalidRecord;
  auto base = read_units(event.base(), market->params.base_decimals);
  auto quote = read_units(event.quote(), state_.quote_decimals());
  if (!base || !quote) return Reason::InvalidRecord;
  Account& account = journal_.open(event.account());  // creates an unknown account (SPEC §5.5)
  const Position* current = account.position(event.market());
  const Int base_difference = *base - (current ? current->base : Int(0));
  const Int quote_difference = *quote - (current ? current->quote : Int(0));
  move_position(account, event.market(), base_difference, quote_difference);
  add_fund(journal_.funds(kQuoteAsset).external, quote_difference);
  return Reason::None;
}

// ---- absorb (SPEC §5.4) ---------------------------------------------------------

Reason Step::absorb(const fb::Absorb& event) {
  LiquidationAudit& audit = begin_audit(LiquidationKind::Absorb, event.account());
  Liquidated found;
  if (Reason reason = find_liquidated(event.account(), audit, &found); reason != Reason::None) {
    return reject_liquidation(audit, reason);
  }
  // Observe mode cannot close out what it cannot value, nor a position.
  if (recorded() && (!audit.pre || !found.account->positions.empty())) {
    return reject_liquidation(audit, Reason::InvalidRecord);
  }
  if (Reason reason = stale_account(audit, found.fresh); reason != Reason::None) {
    return reject_liquidation(audit, reason);
  }
  const bool bankrupt = audit.pre->status == AccountStatus::Bankrupt;
  if (!bankrupt && !recorded()) return reject_liquidation(audit, Reason::NotLiquidatable);
  if (!exhausted(state_, *found.account)) {
    if (!recorded()) return reject_liquidation(audit, Reason::NotExhausted);
    audit.flags |= kFlagNotExhausted;  // recorded anyway: the seizable value goes to insurance too
  }
  Account& target = journal_.existing(event.account());
  close_out(target, audit);
  audit.post = snapshot(target);
  audit.verdict = bankrupt ? Verdict::Absorbed : Verdict::Wrongful;
  return Reason::None;
}

}  // namespace

Status Machine::apply(const fb::Event& event, uint64_t seq, Outcome* outcome) {
  LIQL_ASSERT(seq > state_.seq, "events are applied in seq order, each once");
  if (Status s = run(event, seq, false, outcome); !s.is_ok()) return s;
  state_.seq = seq;
  state_.ts = event.ts();
  return Status::ok();
}

Outcome Machine::apply(const fb::Event& event, uint64_t seq) {
  Outcome outcome;
  if (Status s = apply(event, seq, &outcome); !s.is_ok()) {
    std::fprintf(stderr, "liqledger: %s\n", s.to_string().c_str());
    LIQL_ASSERT(s.is_ok(), "Machine::apply without a Status: every event applies or is rejected");
  }
  return outcome;
}

void Machine::set_invariant_checks(bool on) { invariant_checks_on.store(on, std::memory_order_relaxed); }

bool Machine::invariant_checks() { return invariant_checks_on.load(std::memory_order_relaxed); }

Status Machine::apply_keeper(const fb::Event& event, Outcome* outcome) {
  return run(event, state_.seq, true, outcome);
}

void Machine::prefetch(const fb::Event& event) const {
  const auto warm = [this](AccountId id) {
    const Account* account = state_.account(id);
    if (account == nullptr) return;
    const char* bytes = reinterpret_cast<const char*>(account);
    for (size_t offset = 0; offset < sizeof(Account); offset += 64) __builtin_prefetch(bytes + offset);
  };
  switch (event.body_type()) {
    case fb::Body::Trade:
      warm(event.body_as_Trade()->taker());
      warm(event.body_as_Trade()->maker());
      break;
    case fb::Body::Deposit: warm(event.body_as_Deposit()->account()); break;
    case fb::Body::Withdraw: warm(event.body_as_Withdraw()->account()); break;
    case fb::Body::LiquidatePerp: warm(event.body_as_LiquidatePerp()->account()); break;
    case fb::Body::LiquidateToken: warm(event.body_as_LiquidateToken()->account()); break;
    default: break;
  }
}

Status Machine::run(const fb::Event& event, uint64_t seq, bool keeper, Outcome* result) {
  // SPEC §3: refused at the input boundary, and so never in a log (the ledger
  // refuses to append it and reports it as corruption when read). An event
  // built by hand must not store a price from the future either.
  // The log's rule (the ledger and the input boundary enforce it): ts never
  // decreases. Held here too, it keeps every stored publish_ts ≤ state().ts,
  // which ages and decode_state rely on.
  if (event.ts() < state_.ts) {
    return Status::invalid_argument("seq " + std::to_string(seq) + ": ts " + std::to_string(event.ts()) +
                                    " is before the state's ts " + std::to_string(state_.ts) +
                                    " (ts never decreases)");
  }
  if (event.body_type() == fb::Body::Price && event.body_as_Price()->publish_ts() > event.ts()) {
    return Status::invalid_argument("seq " + std::to_string(seq) + ": price publish_ts " +
                                    std::to_string(event.body_as_Price()->publish_ts()) + " is after the event's ts " +
                                    std::to_string(event.ts()));
  }
  Outcome outcome;
  // The touched accounts end in the caller's list, whose capacity is reused
  // (replay reuses one Outcome): no allocation per event. Its room is made
  // before the event commits; its contents change only on success.
  Touched touched;
  Step step(state_, event.ts(), outcome, pinned_.get(), keeper);
  std::optional<Holdings> before;  // for the invariant checks
  try {
    if (invariant_checks()) before = holdings(state_);
    try {
      outcome.reason = step.run(event);
      if (outcome.applied()) {
        step.touched(&touched);
        result->touched.reserve(touched.size());
        step.update_totals();
      }
    } catch (const std::overflow_error&) {
      outcome.reason = Reason::ArithmeticOverflow;
    } catch (const std::range_error&) {
      outcome.reason = Reason::ArithmeticOverflow;
    }
  } catch (const std::exception& e) {
    // Not a rule's verdict but a fault (a bug such as a std::out_of_range from
    // a map's at(), or memory exhausted): the event is neither applied nor
    // rejected, and the state goes back to what it was before it.
    step.rollback();
    return Status::internal("seq " + std::to_string(seq) + ": the state machine failed on a " +
                            std::string(event_type_name(event.body_type())) + " event (" + e.what() +
                            "); the state is that of seq " + std::to_string(state_.seq) + ", before it");
  }
  outcome.touched.swap(result->touched);
  outcome.touched.clear();
  if (outcome.applied()) {
    outcome.touched.assign(touched.begin(), touched.end());  // within the room reserved: cannot throw
  } else {
    step.rollback();
    outcome.flags = 0;
    if (outcome.audit && outcome.audit->reason != outcome.reason) mark_rejected(*outcome.audit, outcome.reason);
  }
  if (outcome.audit) {
    outcome.audit->flags |= outcome.flags;
    outcome.flags = outcome.audit->flags;
  }
  if (before) {
    try {
      check_invariants(*before, state_, event, outcome.applied());
    } catch (const std::bad_alloc&) {  // the event is committed; only its check is skipped
    }
  }
  *result = std::move(outcome);
  return Status::ok();
}

}  // namespace liql
