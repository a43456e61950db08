#include "engine/commitment.h"

#include <algorithm>
#include <bit>

#include "engine/encoding.h"

namespace liql {
namespace {

constexpr std::string_view kGlobalsTag = "LIQL-GLOBALS-2";
constexpr std::string_view kStateTag = "LIQL-STATE-2";

// The largest power of two < n (RFC 6962's k). REQUIRES n > 1.
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

Hash hash_of(const std::string& bytes) { return sha256(bytes); }

template <typename Record>
Hash record_hash(const Record& encode) {
  std::string bytes;
  encode(bytes);
  return hash_of(bytes);
}

// The globals hash from the records' hashes, however they were obtained.
template <typename AssetHash, typename MarketHash>
Hash globals_from(const State& state, AssetHash asset_hash, MarketHash market_hash) {
  std::string bytes;
  bytes.reserve(64 + 32 * (state.assets.size() + state.markets.size() + state.funds.size()) + 200);
  ByteWriter w(bytes);
  w.bytes(kGlobalsTag);
  w.u32(static_cast<uint32_t>(state.assets.size()));
  for (const auto& [id, asset] : state.assets) {
    const Hash h = asset_hash(id, asset);
    bytes.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  w.u32(static_cast<uint32_t>(state.markets.size()));
  for (const auto& [id, market] : state.markets) {
    const Hash h = market_hash(id, market);
    bytes.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  uint32_t funds_count = 0;
  for (const auto& entry : state.funds) funds_count += entry.second.is_zero() ? 0 : 1;
  w.u32(funds_count);
  for (const auto& [asset, funds] : state.funds) {
    if (funds.is_zero()) continue;
    const Hash h = record_hash([&](std::string& out) { encode_funds_record(asset, funds, out); });
    bytes.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  encode_protocol_record(state.protocol, bytes);
  return hash_of(bytes);
}

Hash asset_record_hash(AssetId id, const Asset& asset) {
  return record_hash([&](std::string& out) { encode_asset_record(id, asset, out); });
}

Hash market_record_hash(MarketId id, const Market& market) {
  return record_hash([&](std::string& out) { encode_market_record(id, market, out); });
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

Hash globals_hash(const State& state) { return globals_from(state, asset_record_hash, market_record_hash); }

Hash commitment_hash(uint64_t seq, uint64_t ts, const Hash& globals, uint64_t count, const TreeNode& root) {
  std::string bytes;
  ByteWriter w(bytes);
  w.bytes(kStateTag);
  w.u64(seq);
  w.u64(ts);
  append_hash(bytes, globals);
  w.u64(count);
  append_hash(bytes, root.hash);
  encode_sums(root.sums, bytes);
  return hash_of(bytes);
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

TreeNode Commitment::complete(const State& state, unsigned level, uint64_t index) const {
  if (level >= kStoredLevel) return levels_[level - kStoredLevel][index];
  if (level == 0) {
    const AccountId id = state.order[index];
    return leaf_node(id, state.accounts.at(id));
  }
  return inner_node(complete(state, level - 1, 2 * index), complete(state, level - 1, 2 * index + 1));
}

TreeNode Commitment::range(const State& state, uint64_t begin, uint64_t end) const {
  const uint64_t size = end - begin;
  if (std::has_single_bit(size)) {  // a complete subtree; RFC 6962 only forms aligned ones
    const unsigned level = static_cast<unsigned>(std::countr_zero(size));
    return complete(state, level, begin >> level);
  }
  const uint64_t k = split_point(size);
  return inner_node(range(state, begin, begin + k), range(state, begin + k, end));
}

void Commitment::update(const State& state) {
  const uint64_t n = state.order.size();
  if (!built_) {
    levels_.clear();
    count_ = 0;
    dirty_ids_.clear();
    built_ = true;
    root_valid_ = false;
  }
  std::vector<uint64_t> dirty;
  dirty.reserve(dirty_ids_.size());
  for (AccountId id : dirty_ids_) {
    const Account* account = state.account(id);
    if (account != nullptr && account->index < count_) dirty.push_back(account->index);
  }
  dirty_ids_.clear();
  if (dirty.empty() && n == count_) return;
  root_valid_ = false;
  std::sort(dirty.begin(), dirty.end());
  dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());

  for (unsigned j = 0;; ++j) {
    const unsigned level = kStoredLevel + j;
    const uint64_t size = level < 64 ? n >> level : 0;
    if (size == 0) {
      levels_.resize(j);
      break;
    }
    if (levels_.size() <= j) levels_.emplace_back();
    std::vector<TreeNode>& nodes = levels_[j];
    const uint64_t old_size = count_ >> level;  // complete before; the rest is new
    nodes.resize(size);
    auto recompute = [&](uint64_t i) {
      nodes[i] = inner_node(complete(state, level - 1, 2 * i), complete(state, level - 1, 2 * i + 1));
    };
    uint64_t last = UINT64_MAX;
    for (uint64_t leaf : dirty) {
      const uint64_t i = leaf >> level;
      if (i == last || i >= old_size) continue;
      recompute(i);
      last = i;
    }
    for (uint64_t i = old_size; i < size; ++i) recompute(i);
  }
  count_ = n;
}

const TreeNode& Commitment::root(const State& state) {
  update(state);
  if (!root_valid_) {
    root_ = count_ == 0 ? TreeNode{} : range(state, 0, count_);
    root_valid_ = true;
  }
  return root_;
}

Hash Commitment::hash(const State& state) {
  const TreeNode& tree = root(state);
  auto asset_hash = [&](AssetId id, const Asset& asset) {
    auto it = asset_hashes_.find(id);
    if (it == asset_hashes_.end() || !(it->second.asset == asset)) {
      it = asset_hashes_.insert_or_assign(id, CachedAsset{asset, asset_record_hash(id, asset)}).first;
    }
    return it->second.hash;
  };
  auto market_hash = [&](MarketId id, const Market& market) {
    auto it = market_hashes_.find(id);
    if (it == market_hashes_.end() || !(it->second.market == market)) {
      it = market_hashes_.insert_or_assign(id, CachedMarket{market, market_record_hash(id, market)}).first;
    }
    return it->second.hash;
  };
  return commitment_hash(state.seq, state.ts, globals_from(state, asset_hash, market_hash), count_, tree);
}

void Commitment::path(const State& state, uint64_t index, uint64_t begin, uint64_t end,
                      std::vector<TreeNode>& out) const {
  if (end - begin <= 1) return;
  const uint64_t k = split_point(end - begin);
  if (index < begin + k) {
    path(state, index, begin, begin + k, out);
    out.push_back(range(state, begin + k, end));
  } else {
    path(state, index, begin + k, end, out);
    out.push_back(range(state, begin, begin + k));
  }
}

std::optional<InclusionProof> Commitment::prove(const State& state, AccountId id) {
  const Account* account = state.account(id);
  if (account == nullptr) return std::nullopt;
  InclusionProof proof;
  proof.state_hash = hash(state);
  proof.seq = state.seq;
  proof.ts = state.ts;
  proof.globals_hash = globals_hash(state);
  proof.account_count = count_;
  proof.index = account->index;
  proof.id = id;
  proof.account = *account;
  path(state, account->index, 0, count_, proof.path);
  proof.totals = root_.sums;
  return proof;
}

size_t Commitment::memory_bytes() const {
  size_t bytes = levels_.capacity() * sizeof(std::vector<TreeNode>);
  for (const auto& nodes : levels_) {
    bytes += nodes.capacity() * sizeof(TreeNode);
    for (const TreeNode& node : nodes) bytes += node.sums.capacity() * sizeof(Sums::value_type);
  }
  return bytes;
}

}  // namespace liql
