#include "engine/encoding.h"

#include <algorithm>
#include <cstdint>

#include "schemas/assert.h"
#include "schemas/bytes.h"

namespace liql {

void ByteWriter::u32(uint32_t value) { append_be(out_, value, 4); }

void ByteWriter::u64(uint64_t value) { append_be(out_, value, 8); }

void ByteWriter::integer(const Int& value) {
  uint8_t bytes[32];
  encode_be32(stored(value), bytes);
  out_.append(reinterpret_cast<const char*>(bytes), 32);
}

void ByteWriter::count(size_t value) {
  LIQL_ASSERT(value <= UINT32_MAX, "a count or length is encoded only once it fits u32");
  u32(static_cast<uint32_t>(value));
}

void ByteWriter::text(std::string_view value) {
  count(value.size());
  out_.append(value);
}

void ByteWriter::levels(const Levels& value) {
  integer(value.init);
  integer(value.target);
  integer(value.maint);
}

void ByteWriter::oracle(const Oracle& value) {
  const Oracle& written = value.present ? value : Oracle{};  // all zero when absent (SPEC §7.1)
  u8(written.present ? 1 : 0);
  integer(written.price);
  u64(written.publish_ts);
}

void ByteReader::need(size_t count, const char* what) {
  if (in_.size() - position_ < count) throw std::runtime_error(std::string("state encoding truncated in ") + what);
}

uint8_t ByteReader::u8(const char* what) {
  need(1, what);
  return static_cast<uint8_t>(in_[position_++]);
}

uint32_t ByteReader::u32(const char* what) {
  need(4, what);
  const auto value = load_be32(in_.substr(position_));
  position_ += 4;
  return value;
}

uint64_t ByteReader::u64(const char* what) {
  need(8, what);
  const uint64_t value = load_be64(in_.substr(position_));
  position_ += 8;
  return value;
}

Int ByteReader::integer(const char* what) {
  need(32, what);
  Int value = decode_be32(reinterpret_cast<const uint8_t*>(in_.data() + position_));
  position_ += 32;
  return value;
}

std::string ByteReader::text(const char* what) {
  const uint32_t size = u32(what);
  need(size, what);
  std::string value(in_.substr(position_, size));
  position_ += size;
  return value;
}

Levels ByteReader::levels(const char* what) {
  Levels value;
  value.init = integer(what);
  value.target = integer(what);
  value.maint = integer(what);
  return value;
}

bool ByteReader::flag(const char* what) {
  const uint8_t value = u8(what);
  if (value > 1) throw std::runtime_error(std::string("bad flag in ") + what);
  return value == 1;
}

Oracle ByteReader::oracle(const char* what) {
  Oracle value;
  value.present = flag(what);
  value.price = integer(what);
  value.publish_ts = u64(what);
  // An absent oracle is written as zeros: other bytes would be a second encoding.
  if (!value.present && !(value == Oracle{})) {
    throw std::runtime_error(std::string("absent oracle not zero in ") + what);
  }
  return value;
}

// ---- records -------------------------------------------------------------------

void encode_asset_record(AssetId id, const Asset& asset, std::string& out) {
  ByteWriter w(out);
  const AssetParams& p = asset.params;
  w.u32(id);
  w.text(p.symbol);
  w.u32(p.decimals);
  w.u8(p.borrowable ? 1 : 0);
  w.u64(p.max_oracle_age_us);
  w.levels(p.asset_weight);
  w.levels(p.liab_weight);
  w.integer(p.liquidation_bonus);
  w.oracle(asset.oracle);  // the quote asset never has one (price events for it are INVALID_FEED)
}

void encode_market_record(MarketId id, const Market& market, std::string& out) {
  ByteWriter w(out);
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

void encode_funds_record(AssetId asset, const Funds& funds, std::string& out) {
  ByteWriter w(out);
  w.u32(asset);
  w.integer(funds.insurance);
  w.integer(funds.treasury);
  w.integer(funds.bad_debt);
  w.integer(funds.external);
}

void encode_protocol_record(const Protocol& protocol, std::string& out) {
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(protocol.mode));
  w.u8(static_cast<uint8_t>(protocol.policy.kind));
  w.integer(protocol.policy.close_factor);
  w.integer(protocol.policy.full_liquidation_hf);
  w.integer(protocol.liquidator_share);
  w.integer(protocol.insurance_share);
  w.u64(protocol.seize_tolerance);
}

void encode_account_record(AccountId id, const Account& account, std::string& out) {
  ByteWriter w(out);
  w.u64(id);
  w.count(account.balances.size());
  for (const auto& [asset, amount] : account.balances) {
    w.u32(asset);
    w.integer(amount);
  }
  w.count(account.positions.size());
  for (const auto& [market, position] : account.positions) {
    w.u32(market);
    w.integer(position.base);
    w.integer(position.quote);
  }
}

size_t funds_record_count(const State& state) {
  return static_cast<size_t>(
      std::count_if(state.funds.begin(), state.funds.end(), [](const auto& entry) { return !entry.second.is_zero(); }));
}

void encode_sums(const Sums& sums, std::string& out) {
  ByteWriter w(out);
  w.count(sums.size());
  for (const auto& [asset, sum] : sums) {
    w.u32(asset);
    w.integer(sum.credit);
    w.integer(sum.debit);
  }
}

namespace {

template <typename Key>
void require_ascending(bool first, Key previous, Key current, const char* what) {
  if (!first && !(previous < current)) throw std::runtime_error(std::string(what) + " ids not strictly ascending");
}

}  // namespace

std::pair<AssetId, Asset> decode_asset_record(ByteReader& r) {
  const AssetId id = r.u32("asset");
  Asset asset;
  asset.params.symbol = r.text("asset");
  asset.params.decimals = r.u32("asset");
  asset.params.borrowable = r.flag("asset");
  asset.params.max_oracle_age_us = r.u64("asset");
  asset.params.asset_weight = r.levels("asset");
  asset.params.liab_weight = r.levels("asset");
  asset.params.liquidation_bonus = r.integer("asset");
  asset.oracle = r.oracle("asset");
  return {id, std::move(asset)};
}

std::pair<MarketId, Market> decode_market_record(ByteReader& r) {
  const MarketId id = r.u32("market");
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
  return {id, std::move(market)};
}

std::pair<AssetId, Funds> decode_funds_record(ByteReader& r) {
  const AssetId asset = r.u32("funds");
  Funds funds;
  funds.insurance = r.integer("funds");
  funds.treasury = r.integer("funds");
  funds.bad_debt = r.integer("funds");
  funds.external = r.integer("funds");
  if (funds.is_zero()) throw std::runtime_error("state encoding: all-zero funds entry kept");
  return {asset, std::move(funds)};
}

Protocol decode_protocol_record(ByteReader& r) {
  Protocol protocol;
  const uint8_t mode = r.u8("protocol");
  const uint8_t policy = r.u8("protocol");
  if (mode > 1 || policy > 2) throw std::runtime_error("state encoding: bad protocol enum");
  protocol.mode = static_cast<Mode>(mode);
  protocol.policy.kind = static_cast<PolicyKind>(policy);
  protocol.policy.close_factor = r.integer("protocol");
  protocol.policy.full_liquidation_hf = r.integer("protocol");
  protocol.liquidator_share = r.integer("protocol");
  protocol.insurance_share = r.integer("protocol");
  protocol.seize_tolerance = r.u64("protocol");
  return protocol;
}

std::pair<AccountId, Account> decode_account_record(ByteReader& r) {
  const AccountId id = r.u64("account");
  Account account;
  const uint32_t balance_count = r.u32("account balances");
  for (uint32_t j = 0; j < balance_count; ++j) {
    const AssetId asset = r.u32("balance");
    require_ascending(j == 0, account.balances.empty() ? 0 : account.balances.rbegin()->first, asset, "balance");
    Int amount = r.integer("balance");
    if (amount.is_zero()) throw std::runtime_error("state encoding: zero balance kept");
    account.balances.emplace_hint(account.balances.end(), asset, amount);
  }
  const uint32_t position_count = r.u32("account positions");
  for (uint32_t j = 0; j < position_count; ++j) {
    const MarketId market = r.u32("position");
    require_ascending(j == 0, account.positions.empty() ? 0 : account.positions.rbegin()->first, market,
                      "position");
    Position position;
    position.base = r.integer("position");
    position.quote = r.integer("position");
    if (position.base.is_zero()) throw std::runtime_error("state encoding: empty position kept");
    account.positions.emplace_hint(account.positions.end(), market, std::move(position));
  }
  return {id, std::move(account)};
}

}  // namespace liql
