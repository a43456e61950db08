#include "engine/commitment.h"

#include <algorithm>
#include <bit>

#include "engine/encoding.h"
#include "schemas/assert.h"
#include "schemas/formats.h"

namespace liql {
namespace {

// The largest power of two < n (RFC 6962's k). REQUIRES n > 1.
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

Hash hash_of(const std::string& bytes) { return sha256(bytes); }

Hash asset_record_hash(AssetId id, const Asset& asset) {
  std::string bytes;
  encode_asset_record(id, asset, bytes);
  return hash_of(bytes);
}

Hash market_record_hash(MarketId id, const Market& market) {
  std::string bytes;
  encode_market_record(id, market, bytes);
  return hash_of(bytes);
}

Hash funds_record_hash(AssetId asset, const Funds& funds) {
  std::string bytes;
  encode_funds_record(asset, funds, bytes);
  return hash_of(bytes);
}

void append_hash(std::string& out, const Hash& hash);

// What the globals hash hashes, from the records' hashes however they were obtained.
template <typename AssetHash, typename MarketHash, typename FundsHash>
std::string globals_input(const State& state, AssetHash asset_hash, MarketHash market_hash, FundsHash funds_hash) {
  std::string bytes;
  bytes.reserve(64 + 32 * (state.assets.size() + state.markets.size() + state.funds.size()) + 200);
  ByteWriter w(bytes);
  w.bytes(kGlobalsTag);
  w.count(state.assets.size());
  for (const auto& entry : state.assets) append_hash(bytes, asset_hash(entry.first, entry.second));
  w.count(state.markets.size());
  for (const auto& entry : state.markets) append_hash(bytes, market_hash(entry.first, entry.second));
  w.count(funds_record_count(state));
  for (const auto& entry : state.funds) {
    if (!entry.second.is_zero()) append_hash(bytes, funds_hash(entry.first, entry.second));
  }
  encode_protocol_record(state.protocol, bytes);
  return bytes;
}

void append_hash(std::string& out, const Hash& hash) {
  out.append(reinterpret_cast<const char*>(hash.data()), hash.size());
}

}  // namespace

TreeNode leaf_node(AccountId id, const Account& account) {
  std::string bytes(1, '\0');
  encode_account_record(id, account, bytes);
  return TreeNode{hash_of(bytes), account_sums(account)};
}

TreeNode inner_node(const TreeNode& left, const TreeNode& right) {
  std::string bytes(1, '\1');
  bytes.reserve(1 + 2 * (36 + 68 * std::max(left.sums.size(), right.sums.size())));
  append_hash(bytes, left.hash);
  encode_sums(left.sums, bytes);
  append_hash(bytes, right.hash);
  encode_sums(right.sums, bytes);
  TreeNode node{hash_of(bytes), left.sums};
  add_sums(node.sums, right.sums);
  return node;
}

Hash globals_hash(const State& state) {
  return hash_of(globals_input(state, asset_record_hash, market_record_hash, funds_record_hash));
}

namespace {

// state_hash with the root's sums already encoded (Sums(root), SPEC §7.1).
Hash commitment_hash_of(uint64_t seq, uint64_t ts, const Hash& globals, uint64_t count, const Hash& root,
                        std::string_view root_sums) {
  std::string bytes;
  ByteWriter w(bytes);
  w.bytes(kStateTag);
  w.u64(seq);
  w.u64(ts);
  append_hash(bytes, globals);
  w.u64(count);
  append_hash(bytes, root);
  w.bytes(root_sums);
  return hash_of(bytes);
}

}  // namespace

Hash commitment_hash(uint64_t seq, uint64_t ts, const Hash& globals, uint64_t count, const TreeNode& root) {
  std::string sums;
  encode_sums(root.sums, sums);
  return commitment_hash_of(seq, ts, globals, count, root.hash, sums);
}

namespace {

// MTH(D[begin:end]) of RFC 6962 §2.1, straight from the definition.
TreeNode tree_of(const std::vector<TreeNode>& leaves, uint64_t begin, uint64_t end) {
  if (end - begin == 1) return leaves[begin];
  const uint64_t k = split_point(end - begin);
  return inner_node(tree_of(leaves, begin, begin + k), tree_of(leaves, begin + k, end));
}

}  // namespace

// Deliberately not Commitment: the tests hold the incremental tree to this.
Hash state_hash(const State& state) {
  std::vector<TreeNode> leaves;
  leaves.reserve(state.order.size());
  for (AccountId id : state.order) leaves.push_back(leaf_node(id, state.accounts.at(id)));
  const TreeNode root = leaves.empty() ? TreeNode{} : tree_of(leaves, 0, leaves.size());
  return commitment_hash(state.seq, state.ts, globals_hash(state), leaves.size(), root);
}

// ---- proofs ----------------------------------------------------------------------

bool verify_inclusion(const InclusionProof& proof, std::string* why) {
  auto fail = [&](const std::string& message) {
    *why = message;
    return false;
  };
  if (proof.index >= proof.account_count) {
    return fail("index " + std::to_string(proof.index) + " is not below account_count " +
                std::to_string(proof.account_count));
  }
  try {
    TreeNode r = leaf_node(proof.id, proof.account);
    uint64_t fn = proof.index;
    uint64_t sn = proof.account_count - 1;
    for (const TreeNode& sibling : proof.path) {  // RFC 9162 §2.1.3.2
      if (sn == 0) return fail("path is longer than a tree of account_count leaves allows");
      if ((fn & 1) != 0 || fn == sn) {
        r = inner_node(sibling, r);
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      } else {
        r = inner_node(r, sibling);
      }
      fn >>= 1;
      sn >>= 1;
    }
    if (sn != 0) return fail("path is shorter than a tree of account_count leaves needs");
    if (r.sums != proof.totals) return fail("totals differ from the sums the path folds to");
    if (commitment_hash(proof.seq, proof.ts, proof.globals_hash, proof.account_count, r) != proof.state_hash) {
      return fail("state_hash differs from the hash the proof folds to");
    }
  } catch (const std::exception&) {
    return fail("sums overflow 32-byte two's complement");
  }
  return true;
}

// ---- the incremental tree ----------------------------------------------------------
//
// The same nodes as leaf_node / inner_node (state_hash holds it to them in
// the tests), with the sums kept as limbs: adding them is a few machine
// additions instead of 256-bit Boost arithmetic and a map per node.

namespace {

__extension__ typedef unsigned __int128 U128;

// magnitude += other. REQUIRES the sum stays below 2^255 (LIQL_ASSERT): every
// node's sums are at most the root's, the totals the machine keeps below it
// (docs/DECISIONS.md, "The commitment's totals must fit").
void add_limbs(uint64_t (&into)[4], const uint64_t (&other)[4]) {
  U128 carry = 0;
  for (int i = 0; i < 4; ++i) {
    carry += static_cast<U128>(into[i]) + other[i];
    into[i] = static_cast<uint64_t>(carry);
    carry >>= 64;
  }
  LIQL_ASSERT(carry == 0 && (into[3] >> 63) == 0, "commitment sums below 2^255 (the machine keeps the totals so)");
}

void append_be(std::string& out, const uint64_t (&limbs)[4]) {
  uint64_t words[4];
  for (int i = 0; i < 4; ++i) {
    words[i] = std::endian::native == std::endian::little ? __builtin_bswap64(limbs[3 - i]) : limbs[3 - i];
  }
  out.append(reinterpret_cast<const char*>(words), 32);
}

}  // namespace

void Commitment::add(PackedSums& into, const PackedSums& other) {
  const auto same_asset = [](const SumEntry& a, const SumEntry& b) { return a.asset == b.asset; };
  if (into.size() == other.size() && std::equal(into.begin(), into.end(), other.begin(), same_asset)) {
    for (size_t i = 0; i < into.size(); ++i) {  // the usual case above the lowest levels: the same assets
      add_limbs(into[i].credit, other[i].credit);
      add_limbs(into[i].debit, other[i].debit);
    }
    return;
  }
  PackedSums merged;  // ascending by asset, like both inputs
  size_t i = 0, j = 0;
  while (i < into.size() || j < other.size()) {
    if (j == other.size() || (i < into.size() && into[i].asset < other[j].asset)) {
      merged.push_back(into[i++]);
    } else if (i == into.size() || other[j].asset < into[i].asset) {
      merged.push_back(other[j++]);
    } else {
      SumEntry entry = into[i++];
      add_limbs(entry.credit, other[j].credit);
      add_limbs(entry.debit, other[j++].debit);
      merged.push_back(entry);
    }
  }
  into = std::move(merged);
}

// Each balance into its asset's entry, in place: both are ascending by asset,
// so one forward walk finds (or inserts) every entry.
void Commitment::add_account(PackedSums& into, const Account& account) {
  auto entry = into.begin();
  for (const auto& [asset, balance] : account.balances) {
    while (entry != into.end() && entry->asset < asset) ++entry;
    if (entry == into.end() || entry->asset != asset) entry = into.insert(entry, SumEntry{asset, {0, 0, 0, 0}, {0, 0, 0, 0}});
    uint64_t magnitude[4];
    to_limbs(balance, magnitude);  // Boost keeps sign and magnitude
    add_limbs(balance.sign() > 0 ? entry->credit : entry->debit, magnitude);  // also refuses a debit of 2^255
    ++entry;
  }
}

Commitment::Node Commitment::leaf(AccountId id, const Account& account) {
  thread_local std::string bytes;
  bytes.assign(1, '\0');
  encode_account_record(id, account, bytes);
  Node node{hash_of(bytes), {}};
  add_account(node.sums, account);
  return node;
}

void Commitment::append_sums(std::string& out, const PackedSums& sums) {
  ByteWriter(out).count(sums.size());
  for (const SumEntry& entry : sums) {
    ByteWriter(out).u32(entry.asset);
    append_be(out, entry.credit);
    append_be(out, entry.debit);
  }
}

Commitment::Node Commitment::inner(const Node& left, const Node& right) {
  thread_local std::string bytes;
  bytes.assign(1, '\1');
  for (const Node* child : {&left, &right}) {
    append_hash(bytes, child->hash);
    append_sums(bytes, child->sums);
  }
  Node node{hash_of(bytes), left.sums};
  add(node.sums, right.sums);
  return node;
}

TreeNode Commitment::unpack(const Node& node) {
  TreeNode out{node.hash, {}};
  for (const SumEntry& entry : node.sums) {
    out.sums.emplace(entry.asset, SumPair{from_limbs(entry.credit), from_limbs(entry.debit)});
  }
  return out;
}

Commitment::Node Commitment::node(const State& state, unsigned level, uint64_t index) const {
  if (level == 0) {
    const AccountId id = state.order[index];
    return leaf(id, state.accounts.at(id));
  }
  const Level& stored = levels_[level - 1];
  Node out{stored.hashes[index], {}};
  if (level >= kSummedLevel) {
    out.sums = stored.sums[index];
  } else {
    const uint64_t begin = index << level;
    for (uint64_t i = begin; i < begin + (uint64_t{1} << level); ++i) {
      add_account(out.sums, state.accounts.at(state.order[i]));
    }
  }
  return out;
}

Commitment::Node Commitment::range(const State& state, uint64_t begin, uint64_t end) const {
  const uint64_t size = end - begin;
  if (std::has_single_bit(size)) {  // a complete subtree; RFC 6962 only forms aligned ones
    const unsigned level = static_cast<unsigned>(std::countr_zero(size));
    return node(state, level, begin >> level);
  }
  const uint64_t k = split_point(size);
  return inner(range(state, begin, begin + k), range(state, begin + k, end));
}

// GCC 12 warns that moving a boost small_vector held inline reads past it
// (-Wstringop-overread): a false positive of its range analysis; the inline
// storage is read within its size.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
void Commitment::update(const State& state) {
  const uint64_t n = state.order.size();
  // The leaves that changed: touched ones the tree covers, then the new ones.
  std::vector<uint64_t> leaves;
  leaves.reserve(dirty_ids_.size() + (n - count_));
  for (AccountId id : dirty_ids_) {
    const Account* account = state.account(id);
    if (account != nullptr && account->index < count_) leaves.push_back(account->index);
  }
  dirty_ids_.clear();
  if (leaves.empty() && n == count_) return;
  root_valid_ = false;
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  for (uint64_t i = count_; i < n; ++i) leaves.push_back(i);
  spine_stale_ = std::max(spine_stale_, leaves.back() + 1);

  // Level by level, the changed nodes with their hash and sums; a parent is
  // recomputed from its changed children and its other child as stored.
  std::vector<std::pair<uint64_t, Node>> changed;
  changed.reserve(leaves.size());
  for (uint64_t i : leaves) changed.emplace_back(i, node(state, 0, i));
  const unsigned top = n < 2 ? 0 : static_cast<unsigned>(std::bit_width(n) - 1);  // ⌊log2 n⌋
  levels_.resize(top);
  for (unsigned level = 1; level <= top; ++level) {
    Level& stored = levels_[level - 1];
    const uint64_t size = n >> level;
    stored.hashes.resize(size);
    if (level >= kSummedLevel) stored.sums.resize(size);
    std::vector<std::pair<uint64_t, Node>> parents;
    parents.reserve(changed.size());
    for (size_t c = 0; c < changed.size(); ++c) {
      const uint64_t parent = changed[c].first >> 1;
      if (parent >= size) break;  // the right edge: not a complete node at this level
      const bool left = (changed[c].first & 1) == 0;
      const bool pair = left && c + 1 < changed.size() && changed[c + 1].first == changed[c].first + 1;
      Node combined = pair   ? inner(changed[c].second, changed[c + 1].second)
                      : left ? inner(changed[c].second, node(state, level - 1, 2 * parent + 1))
                             : inner(node(state, level - 1, 2 * parent), changed[c].second);
      if (pair) ++c;
      stored.hashes[parent] = combined.hash;
      if (level >= kSummedLevel) stored.sums[parent] = combined.sums;
      parents.emplace_back(parent, std::move(combined));
    }
    changed = std::move(parents);
  }
  count_ = n;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// The root folds the complete subtrees of n's binary decomposition from the
// right: R_i = node(C_i, R_{i+1}) (RFC 6962 splits exactly there). R_i covers
// [begin_i, n) and is redone only when a leaf at or beyond begin_i changed;
// most changes fall in C_1, the largest, so a root usually costs one node.
void Commitment::refresh(const State& state) {
  update(state);
  if (root_valid_) return;
  if (spine_.empty() || spine_.back().begin + spine_.back().size != count_) {
    spine_.clear();
    for (uint64_t begin = 0; begin < count_;) {
      const uint64_t size = std::bit_floor(count_ - begin);
      spine_.push_back(SpineEntry{begin, size, {}});
      begin += size;
    }
    spine_stale_ = count_;
  }
  for (size_t i = spine_.size(); i-- > 0;) {
    SpineEntry& entry = spine_[i];
    if (entry.begin >= spine_stale_) continue;
    const unsigned level = static_cast<unsigned>(std::countr_zero(entry.size));
    Node own = node(state, level, entry.begin >> level);
    entry.fold = i + 1 == spine_.size() ? std::move(own) : inner(own, spine_[i + 1].fold);
  }
  spine_stale_ = 0;
  root_ = spine_.empty() ? Node{} : spine_.front().fold;
  root_sums_.clear();
  append_sums(root_sums_, root_.sums);
  root_valid_ = true;
  root_unpacked_valid_ = false;
}

const TreeNode& Commitment::root(const State& state) {
  refresh(state);
  if (!root_unpacked_valid_) {
    root_unpacked_ = unpack(root_);
    root_unpacked_valid_ = true;
  }
  return root_unpacked_;
}

Hash Commitment::hash(const State& state) {
  refresh(state);
  const std::string input = globals_input(
      state, [&](AssetId id, const Asset& asset) { return asset_hashes_.get(id, asset, asset_record_hash); },
      [&](MarketId id, const Market& market) { return market_hashes_.get(id, market, market_record_hash); },
      [&](AssetId id, const Funds& funds) { return funds_hashes_.get(id, funds, funds_record_hash); });
  if (input != globals_input_) {  // a price, a fund or a parameter changed
    globals_input_ = input;
    globals_hash_ = hash_of(input);
  }
  return commitment_hash_of(state.seq, state.ts, globals_hash_, count_, root_.hash, root_sums_);
}

void Commitment::path(const State& state, uint64_t index, uint64_t begin, uint64_t end,
                      std::vector<TreeNode>& out) const {
  if (end - begin <= 1) return;
  const uint64_t k = split_point(end - begin);
  if (index < begin + k) {
    path(state, index, begin, begin + k, out);
    out.push_back(unpack(range(state, begin + k, end)));
  } else {
    path(state, index, begin + k, end, out);
    out.push_back(unpack(range(state, begin, begin + k)));
  }
}

std::optional<InclusionProof> Commitment::prove(const State& state, AccountId id) {
  const Account* account = state.account(id);
  if (account == nullptr) return std::nullopt;
  InclusionProof proof;
  proof.state_hash = hash(state);
  proof.seq = state.seq;
  proof.ts = state.ts;
  proof.globals_hash = globals_hash_;  // what hash() just used
  proof.account_count = count_;
  proof.index = account->index;
  proof.id = id;
  proof.account = *account;
  path(state, account->index, 0, count_, proof.path);
  proof.totals = root(state).sums;
  return proof;
}

size_t Commitment::memory_bytes() const {
  // The deques' block maps and partly filled last blocks are not counted:
  // O(n / block size) pointers.
  size_t bytes = levels_.capacity() * sizeof(Level);
  for (const Level& level : levels_) {
    bytes += level.hashes.size() * sizeof(Hash) + level.sums.size() * sizeof(PackedSums);
    for (const PackedSums& sums : level.sums) {
      if (sums.capacity() > kInlineAssets) bytes += sums.capacity() * sizeof(SumEntry);  // spilled out of line
    }
  }
  return bytes;
}

}  // namespace liql
