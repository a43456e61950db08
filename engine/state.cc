#include "engine/state.h"

#include <algorithm>
#include <stdexcept>

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
  throw std::logic_error("Levels::at(Equity)");
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

// ---------------------------------------------------------------------------
// Canonical encoding. Field order is documented in docs/STATE_ENCODING.md and
// must not change without bumping kStateTag.

namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void u32(uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) u8(static_cast<uint8_t>(value >> shift));
  }
  void u64(uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8) u8(static_cast<uint8_t>(value >> shift));
  }
  void integer(const Int& value) {
    uint8_t bytes[32];
    encode_be32(value, bytes);
    out_.append(reinterpret_cast<const char*>(bytes), 32);
  }
  void text(std::string_view value) {
    u32(static_cast<uint32_t>(value.size()));
    out_.append(value);
  }
  void levels(const Levels& value) {
    integer(value.init);
    integer(value.target);
    integer(value.maint);
  }
  void oracle(const Oracle& value) {
    u8(value.present ? 1 : 0);
    integer(value.price);
    u64(value.publish_ts);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  void need(size_t count, const char* what) {
    if (in_.size() - position_ < count) throw std::runtime_error(std::string("state encoding truncated in ") + what);
  }
  uint8_t u8(const char* what) {
    need(1, what);
    return static_cast<uint8_t>(in_[position_++]);
  }
  uint32_t u32(const char* what) {
    need(4, what);
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(in_[position_++]);
    return value;
  }
  uint64_t u64(const char* what) {
    need(8, what);
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<uint8_t>(in_[position_++]);
    return value;
  }
  Int integer(const char* what) {
    need(32, what);
    Int value = decode_be32(reinterpret_cast<const uint8_t*>(in_.data() + position_));
    position_ += 32;
    return value;
  }
  std::string text(const char* what) {
    uint32_t size = u32(what);
    need(size, what);
    std::string value(in_.substr(position_, size));
    position_ += size;
    return value;
  }
  Levels levels(const char* what) {
    Levels value;
    value.init = integer(what);
    value.target = integer(what);
    value.maint = integer(what);
    return value;
  }
  bool flag(const char* what) {
    const uint8_t value = u8(what);
    if (value > 1) throw std::runtime_error(std::string("bad flag in ") + what);
    return value == 1;
  }
  Oracle oracle(const char* what) {
    Oracle value;
    value.present = flag(what);
    value.price = integer(what);
    value.publish_ts = u64(what);
    return value;
  }
  bool done() const { return position_ == in_.size(); }

 private:
  std::string_view in_;
  size_t position_ = 0;
};

template <typename Key>
void require_ascending(bool first, Key previous, Key current, const char* what) {
  if (!first && !(previous < current)) throw std::runtime_error(std::string(what) + " ids not strictly ascending");
}

}  // namespace

namespace {

// Everything before the accounts: tag, seq, ts, assets, markets, account count.
void encode_head(const State& state, std::string& out) {
  Writer w(out);
  out.append(kStateTag);
  w.u64(state.seq);
  w.u64(state.ts);

  w.u32(static_cast<uint32_t>(state.assets.size()));
  for (const auto& [id, asset] : state.assets) {
    const AssetParams& p = asset.params;
    w.u32(id);
    w.text(p.symbol);
    w.u32(p.decimals);
    w.u8(p.borrowable ? 1 : 0);
    w.u64(p.max_oracle_age_us);
    w.levels(p.asset_weight);
    w.levels(p.liab_weight);
    w.integer(p.liquidation_bonus);
    w.oracle(asset.oracle);
  }

  w.u32(static_cast<uint32_t>(state.markets.size()));
  for (const auto& [id, market] : state.markets) {
    const MarketParams& p = market.params;
    w.u32(id);
    w.text(p.symbol);
    w.u32(p.base_decimals);
    w.levels(p.margin);
    w.integer(p.liquidation_fee);
    w.integer(p.lot_size);
    w.integer(p.min_position);
    w.u64(p.max_oracle_age_us);
    w.integer(p.max_trade_deviation);
    w.oracle(market.oracle);
  }
  w.u64(state.accounts.size());
}

void encode_account(AccountId id, const Account& account, std::string& out) {
  Writer w(out);
  w.u64(id);
  w.u32(static_cast<uint32_t>(account.balances.size()));
  for (const auto& [asset, amount] : account.balances) {
    w.u32(asset);
    w.integer(amount);
  }
  w.u32(static_cast<uint32_t>(account.positions.size()));
  for (const auto& [market, position] : account.positions) {
    w.u32(market);
    w.integer(position.base);
    w.integer(position.quote);
  }
}

// Everything after the accounts: funds (all-zero entries omitted), protocol.
void encode_tail(const State& state, std::string& out) {
  Writer w(out);
  uint32_t funds_count = 0;
  for (const auto& entry : state.funds) funds_count += entry.second.is_zero() ? 0 : 1;
  w.u32(funds_count);
  for (const auto& [asset, funds] : state.funds) {
    if (funds.is_zero()) continue;
    w.u32(asset);
    w.integer(funds.insurance);
    w.integer(funds.treasury);
    w.integer(funds.bad_debt);
    w.integer(funds.external);
  }

  const Protocol& protocol = state.protocol;
  w.u8(static_cast<uint8_t>(protocol.mode));
  w.u8(static_cast<uint8_t>(protocol.policy.kind));
  w.integer(protocol.policy.close_factor);
  w.integer(protocol.policy.full_liquidation_hf);
  w.integer(protocol.liquidator_share);
  w.integer(protocol.insurance_share);
  w.u64(protocol.seize_tolerance);
}

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
  }
  for (const auto& [id, market] : state.markets) {
    if (!valid_market_params(market.params)) refuse("invalid parameters of market " + std::to_string(id));
    if (!is_utf8(market.params.symbol)) refuse("symbol of market " + std::to_string(id) + " is not UTF-8");
    if (market.oracle.present && market.oracle.price.sign() <= 0) refuse("price of market " + std::to_string(id));
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

}  // namespace

std::string encode_state(const State& state) {
  std::string out;
  out.reserve(256 + state.accounts.size() * 160);
  encode_head(state, out);
  for (AccountId id : state.sorted_account_ids()) encode_account(id, state.accounts.at(id), out);
  encode_tail(state, out);
  return out;
}

void StateHasher::rebuild(const State& state) {
  accounts_.clear();
  for (const auto& [id, account] : state.accounts) encode_account(id, account, accounts_[id]);
  dirty_.clear();
  built_ = true;
}

Hash StateHasher::hash(const State& state) {
  if (!built_) {
    rebuild(state);
  } else {
    for (AccountId id : dirty_) {
      const Account* account = state.account(id);
      if (account == nullptr) {
        accounts_.erase(id);
        continue;
      }
      std::string& bytes = accounts_[id];
      bytes.clear();
      encode_account(id, *account, bytes);
    }
    dirty_.clear();
    // An account the cache does not know (a change not passed to touch())
    // would make the hash wrong: re-encode everything rather than guess.
    if (accounts_.size() != state.accounts.size()) rebuild(state);
  }
  // The accounts' encodings are short (about 150 bytes): SHA-256 runs at its
  // full rate on large updates only, so they go through one 64 KiB buffer.
  constexpr size_t kChunk = 64 * 1024;
  buffer_.clear();
  buffer_.reserve(kChunk);
  encode_head(state, buffer_);
  for (const auto& entry : accounts_) {
    if (buffer_.size() + entry.second.size() > kChunk) {
      hasher_.update(buffer_);
      buffer_.clear();
    }
    buffer_ += entry.second;
  }
  encode_tail(state, buffer_);
  hasher_.update(buffer_);
  return hasher_.finish();
}

Hash state_hash(const State& state) { return sha256(encode_state(state)); }

State decode_state(std::string_view bytes) {
  if (bytes.substr(0, kStateTag.size()) != kStateTag) throw std::runtime_error("state encoding: bad version tag");
  Reader r(bytes.substr(kStateTag.size()));
  State state;
  state.seq = r.u64("header");
  state.ts = r.u64("header");

  uint32_t asset_count = r.u32("assets");
  for (uint32_t i = 0; i < asset_count; ++i) {
    AssetId id = r.u32("asset");
    require_ascending(i == 0, state.assets.empty() ? 0 : state.assets.rbegin()->first, id, "asset");
    Asset asset;
    asset.params.symbol = r.text("asset");
    asset.params.decimals = r.u32("asset");
    asset.params.borrowable = r.flag("asset");
    asset.params.max_oracle_age_us = r.u64("asset");
    asset.params.asset_weight = r.levels("asset");
    asset.params.liab_weight = r.levels("asset");
    asset.params.liquidation_bonus = r.integer("asset");
    asset.oracle = r.oracle("asset");
    state.assets.emplace_hint(state.assets.end(), id, std::move(asset));
  }

  uint32_t market_count = r.u32("markets");
  for (uint32_t i = 0; i < market_count; ++i) {
    MarketId id = r.u32("market");
    require_ascending(i == 0, state.markets.empty() ? 0 : state.markets.rbegin()->first, id, "market");
    Market market;
    market.params.symbol = r.text("market");
    market.params.base_decimals = r.u32("market");
    market.params.margin = r.levels("market");
    market.params.liquidation_fee = r.integer("market");
    market.params.lot_size = r.integer("market");
    market.params.min_position = r.integer("market");
    market.params.max_oracle_age_us = r.u64("market");
    market.params.max_trade_deviation = r.integer("market");
    market.oracle = r.oracle("market");
    state.markets.emplace_hint(state.markets.end(), id, std::move(market));
  }

  uint64_t account_count = r.u64("accounts");
  AccountId previous_account = 0;
  state.accounts.reserve(static_cast<size_t>(std::min<uint64_t>(account_count, bytes.size() / 16)));
  for (uint64_t i = 0; i < account_count; ++i) {
    AccountId id = r.u64("account");
    require_ascending(i == 0, previous_account, id, "account");
    previous_account = id;
    Account account;
    uint32_t balance_count = r.u32("account balances");
    for (uint32_t j = 0; j < balance_count; ++j) {
      AssetId asset = r.u32("balance");
      require_ascending(j == 0, account.balances.empty() ? 0 : account.balances.rbegin()->first, asset, "balance");
      Int amount = r.integer("balance");
      if (amount.is_zero()) throw std::runtime_error("state encoding: zero balance kept");
      account.balances.emplace_hint(account.balances.end(), asset, amount);
    }
    uint32_t position_count = r.u32("account positions");
    for (uint32_t j = 0; j < position_count; ++j) {
      MarketId market = r.u32("position");
      require_ascending(j == 0, account.positions.empty() ? 0 : account.positions.rbegin()->first, market,
                        "position");
      Position position;
      position.base = r.integer("position");
      position.quote = r.integer("position");
      if (position.base.is_zero()) throw std::runtime_error("state encoding: empty position kept");
      account.positions.emplace_hint(account.positions.end(), market, std::move(position));
    }
    state.accounts.emplace(id, std::move(account));
  }

  uint32_t funds_count = r.u32("funds");
  for (uint32_t i = 0; i < funds_count; ++i) {
    AssetId asset = r.u32("funds");
    require_ascending(i == 0, state.funds.empty() ? 0 : state.funds.rbegin()->first, asset, "funds");
    Funds funds;
    funds.insurance = r.integer("funds");
    funds.treasury = r.integer("funds");
    funds.bad_debt = r.integer("funds");
    funds.external = r.integer("funds");
    if (funds.is_zero()) throw std::runtime_error("state encoding: all-zero funds entry kept");
    state.funds.emplace_hint(state.funds.end(), asset, std::move(funds));
  }
  // The encoding omits all-zero funds, but the machine keeps an entry for every
  // listed asset: restore them so a decoded state equals the replayed one.
  for (const auto& entry : state.assets) state.funds.try_emplace(entry.first);

  uint8_t mode = r.u8("protocol");
  uint8_t policy = r.u8("protocol");
  if (mode > 1 || policy > 2) throw std::runtime_error("state encoding: bad protocol enum");
  state.protocol.mode = static_cast<Mode>(mode);
  state.protocol.policy.kind = static_cast<PolicyKind>(policy);
  state.protocol.policy.close_factor = r.integer("protocol");
  state.protocol.policy.full_liquidation_hf = r.integer("protocol");
  state.protocol.liquidator_share = r.integer("protocol");
  state.protocol.insurance_share = r.integer("protocol");
  state.protocol.seize_tolerance = r.u64("protocol");
  if (!r.done()) throw std::runtime_error("state encoding: trailing bytes");
  check_reachable(state);
  return state;
}

}  // namespace liql
