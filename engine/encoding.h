#pragma once
// The byte encodings of SPEC §7.1: the records the state commitment hashes
// and the snapshot encoding is made of (docs/STATE_ENCODING.md).
//   Int: 32 bytes big-endian two's complement; u32/u64 big-endian; u8 0/1;
//   text: u32 length + bytes; levels: 3 Ints; oracle: u8 present + Int + u64.

#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/state.h"

namespace liql {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}
  void u8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void u32(uint32_t value);
  void u64(uint64_t value);
  // A count or a length as u32; REQUIRES value ≤ 2^32 − 1 (LIQL_ASSERT: ids
  // are u32, and a FlatBuffer, where every text comes from, is below 2 GiB).
  void count(size_t value);
  // Throws std::overflow_error outside 32-byte two's complement (never for a
  // value of the state, which stored() keeps in range; a proof's sums may be).
  void integer(const Int& value);
  void text(std::string_view value);  // u32 length (count()) + bytes
  void levels(const Levels& value);
  void oracle(const Oracle& value);
  void bytes(std::string_view value) { out_.append(value); }

 private:
  std::string& out_;
};

// Reads what ByteWriter wrote; throws std::runtime_error naming `what` when
// the input is truncated or a flag is not 0/1 (decode_state, the one caller,
// turns it into a Corruption status).
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  uint8_t u8(const char* what);
  uint32_t u32(const char* what);
  uint64_t u64(const char* what);
  Int integer(const char* what);
  std::string text(const char* what);
  Levels levels(const char* what);
  bool flag(const char* what);
  Oracle oracle(const char* what);
  bool done() const { return position_ == in_.size(); }

 private:
  void need(size_t count, const char* what);
  std::string_view in_;
  size_t position_ = 0;
};

// SPEC §7.1 records.
void encode_asset_record(AssetId id, const Asset& asset, std::string& out);
void encode_market_record(MarketId id, const Market& market, std::string& out);
void encode_funds_record(AssetId asset, const Funds& funds, std::string& out);
void encode_protocol_record(const Protocol& protocol, std::string& out);
void encode_account_record(AccountId id, const Account& account, std::string& out);
void encode_sums(const Sums& sums, std::string& out);
// The number of FundsRecords: the assets with a non-zero fund.
size_t funds_record_count(const State& state);

// The inverses, for snapshots; each checks what the encoding itself
// guarantees (ascending ids, no zero balance, no empty position, …).
std::pair<AssetId, Asset> decode_asset_record(ByteReader& r);
std::pair<MarketId, Market> decode_market_record(ByteReader& r);
std::pair<AssetId, Funds> decode_funds_record(ByteReader& r);
Protocol decode_protocol_record(ByteReader& r);
std::pair<AccountId, Account> decode_account_record(ByteReader& r);

}  // namespace liql
