#include "engine/state.h"

#include <algorithm>
#include <stdexcept>

#include "engine/encoding.h"
#include "engine/params.h"
#include "schemas/event_check.h"

namespace liql {

const Int& Levels::at(Level level) const {
  switch (level) {
    case Level::Init: return init;
    case Level::Target: return target;
    case Level::Maint: return maint;
    case Level::Equity: break;
  }
  assertion_failed("level != Level::Equity", "Levels::at: equity has no weights", __FILE__, __LINE__);
}

Int Account::balance(AssetId asset) const {
  auto it = balances.find(asset);
  return it == balances.end() ? Int(0) : it->second;
}

const Position* Account::position(MarketId market) const {
  auto it = positions.find(market);
  return it == positions.end() ? nullptr : &it->second;
}

bool Funds::is_zero() const {
  return insurance.is_zero() && treasury.is_zero() && bad_debt.is_zero() && external.is_zero();
}

const Asset* State::asset(AssetId id) const {
  auto it = assets.find(id);
  return it == assets.end() ? nullptr : &it->second;
}

const Market* State::market(MarketId id) const {
  auto it = markets.find(id);
  return it == markets.end() ? nullptr : &it->second;
}

const Account* State::account(AccountId id) const {
  auto it = accounts.find(id);
  return it == accounts.end() ? nullptr : &it->second;
}

Account* State::account(AccountId id) {
  auto it = accounts.find(id);
  return it == accounts.end() ? nullptr : &it->second;
}

const Funds& State::funds_of(AssetId asset) const {
  static const Funds kZero{};
  auto it = funds.find(asset);
  return it == funds.end() ? kZero : it->second;
}

std::vector<AccountId> State::sorted_account_ids() const {
  std::vector<AccountId> ids;
  ids.reserve(accounts.size());
  for (const auto& entry : accounts) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Account& create_account(State& state, AccountId id) {
  state.order.push_back(id);
  try {  // all or nothing: the machine rolls back what an event created
    Account& account = state.accounts[id];
    account.index = state.order.size() - 1;
    return account;
  } catch (...) {
    state.order.pop_back();
    throw;
  }
}

Sums account_sums(const Account& account) {
  Sums sums;
  sums.reserve(account.balances.size());
  for (const auto& [asset, balance] : account.balances) {
    SumPair pair;
    (balance.sign() > 0 ? pair.credit : pair.debit) = abs(balance);
    sums.emplace_hint(sums.end(), asset, std::move(pair));
  }
  return sums;
}

void add_sums(Sums& into, const Sums& other) {
  for (const auto& [asset, pair] : other) {  // no entry of `other` is all zero: neither becomes one
    SumPair& target = into[asset];
    target.credit = stored(target.credit + pair.credit);
    target.debit = stored(target.debit + pair.debit);
  }
}

// ---------------------------------------------------------------------------
// Snapshot encoding (docs/STATE_ENCODING.md): the tag, seq, ts, then the
// SPEC §7.1 records: assets, markets, funds (all-zero entries omitted),
// protocol, and the accounts in creation order (the i-th has index i).

namespace {

// A snapshot is trusted as far as its hash, and anyone can compute a hash: a
// decoded state must also be one the machine could be in, or the engine,
// which relies on its own invariants, would break on it (a balance in an
// asset nobody listed, 1000 decimals, a price of 0, …).
void check_reachable(const State& state) {
  auto refuse = [](const std::string& what) { throw std::runtime_error("state encoding: " + what); };
  if (!state.has_genesis()) {
    if (!state.assets.empty() || !state.markets.empty() || !state.accounts.empty() || !state.funds.empty()) {
      refuse("listings or accounts without genesis (no quote asset)");
    }
    return;
  }
  if (!valid_protocol(state.protocol)) refuse("invalid protocol parameters");
  for (const auto& [id, asset] : state.assets) {
    if (!valid_asset_params(asset.params)) refuse("invalid parameters of asset " + std::to_string(id));
    if (!is_utf8(asset.params.symbol)) refuse("symbol of asset " + std::to_string(id) + " is not UTF-8");
    if (id == kQuoteAsset && !valid_quote_params(asset.params, asset.params.decimals)) {
      refuse("invalid parameters of the quote asset");
    }
    if (asset.oracle.present && asset.oracle.price.sign() <= 0) refuse("price of asset " + std::to_string(id));
    if (id == kQuoteAsset && asset.oracle.present) refuse("an oracle for the quote asset");
    if (asset.oracle.publish_ts > state.ts) refuse("price of asset " + std::to_string(id) + " published after ts");
  }
  for (const auto& [id, market] : state.markets) {
    if (!valid_market_params(market.params)) refuse("invalid parameters of market " + std::to_string(id));
    if (!is_utf8(market.params.symbol)) refuse("symbol of market " + std::to_string(id) + " is not UTF-8");
    if (market.oracle.present && market.oracle.price.sign() <= 0) refuse("price of market " + std::to_string(id));
    if (market.oracle.publish_ts > state.ts) refuse("price of market " + std::to_string(id) + " published after ts");
  }
  for (const auto& [id, account] : state.accounts) {
    for (const auto& entry : account.balances) {
      if (state.asset(entry.first) == nullptr) {
        refuse("account " + std::to_string(id) + " holds unlisted asset " + std::to_string(entry.first));
      }
    }
    for (const auto& entry : account.positions) {
      if (state.market(entry.first) == nullptr) {
        refuse("account " + std::to_string(id) + " holds unlisted market " + std::to_string(entry.first));
      }
    }
  }
  for (const auto& entry : state.funds) {
    if (state.asset(entry.first) == nullptr) refuse("funds of unlisted asset " + std::to_string(entry.first));
  }
}

State decode_state_or_throw(std::string_view bytes);

}  // namespace

std::string encode_state(const State& state) {
  std::string out;
  out.reserve(256 + state.order.size() * 160);
  ByteWriter w(out);
  w.bytes(kSnapshotTag);
  w.u64(state.seq);
  w.u64(state.ts);
  w.count(state.assets.size());
  for (const auto& [id, asset] : state.assets) encode_asset_record(id, asset, out);
  w.count(state.markets.size());
  for (const auto& [id, market] : state.markets) encode_market_record(id, market, out);
  w.count(funds_record_count(state));
  for (const auto& [asset, funds] : state.funds) {
    if (!funds.is_zero()) encode_funds_record(asset, funds, out);
  }
  encode_protocol_record(state.protocol, out);
  w.u64(state.order.size());
  for (AccountId id : state.order) encode_account_record(id, state.accounts.at(id), out);
  return out;
}

Result<State> decode_state(std::string_view bytes) {
  // The reader and the checks throw std::runtime_error naming what is wrong;
  // this is where that becomes a Status.
  try {
    return decode_state_or_throw(bytes);
  } catch (const std::runtime_error& e) {  // std::overflow_error included: a total beyond 2^255
    return Status::corruption(e.what());
  } catch (const std::exception& e) {  // memory exhausted: not the bytes' fault
    return Status::internal(std::string("decoding a state: ") + e.what());
  }
}

namespace {

State decode_state_or_throw(std::string_view bytes) {
  if (bytes.substr(0, kSnapshotTag.size()) != kSnapshotTag) {
    if (bytes.substr(0, kPreV2SnapshotTag.size()) == kPreV2SnapshotTag) {
      throw std::runtime_error("state encoding: a pre-v2 snapshot (" + std::string(kPreV2SnapshotTag) +
                               "), derived data to be rebuilt by replay");
    }
    throw std::runtime_error("state encoding: bad version tag");
  }
  ByteReader r(bytes.substr(kSnapshotTag.size()));
  State state;
  state.seq = r.u64("header");
  state.ts = r.u64("header");
  auto ascending = [](auto& map, uint32_t id, const char* what) {
    if (!map.empty() && !(map.rbegin()->first < id)) {
      throw std::runtime_error(std::string("state encoding: ") + what + " ids not strictly ascending");
    }
  };
  const uint32_t asset_count = r.u32("assets");
  for (uint32_t i = 0; i < asset_count; ++i) {
    auto [id, asset] = decode_asset_record(r);
    ascending(state.assets, id, "asset");
    state.assets.emplace_hint(state.assets.end(), id, std::move(asset));
  }
  const uint32_t market_count = r.u32("markets");
  for (uint32_t i = 0; i < market_count; ++i) {
    auto [id, market] = decode_market_record(r);
    ascending(state.markets, id, "market");
    state.markets.emplace_hint(state.markets.end(), id, std::move(market));
  }
  const uint32_t funds_count = r.u32("funds");
  for (uint32_t i = 0; i < funds_count; ++i) {
    auto [asset, funds] = decode_funds_record(r);
    ascending(state.funds, asset, "funds");
    state.funds.emplace_hint(state.funds.end(), asset, std::move(funds));
  }
  // The encoding omits all-zero funds, but the machine keeps an entry for every
  // listed asset: restore them so a decoded state equals the replayed one.
  for (const auto& entry : state.assets) state.funds.try_emplace(entry.first);
  state.protocol = decode_protocol_record(r);

  const uint64_t account_count = r.u64("accounts");
  // Each account record is at least 16 bytes: a count beyond that is a lie.
  state.accounts.reserve(static_cast<size_t>(std::min<uint64_t>(account_count, bytes.size() / 16)));
  for (uint64_t i = 0; i < account_count; ++i) {
    auto [id, account] = decode_account_record(r);
    if (state.accounts.count(id) != 0) {
      throw std::runtime_error("state encoding: account " + std::to_string(id) + " listed twice");
    }
    add_sums(state.totals, account_sums(account));
    Account& slot = create_account(state, id);
    account.index = slot.index;
    slot = std::move(account);
  }
  if (!r.done()) throw std::runtime_error("state encoding: trailing bytes");
  check_reachable(state);
  return state;
}

}  // namespace

}  // namespace liql
