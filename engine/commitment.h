#pragma once
// The state commitment `LIQL-STATE-2` (SPEC §7.2) and inclusion proofs (§7.3).
//
//   globals_hash = SHA-256("LIQL-GLOBALS-2" ‖ u32 #assets ‖ H(AssetRecord)… ‖ u32 #markets
//                  ‖ H(MarketRecord)… ‖ u32 #funds ‖ H(FundsRecord)… ‖ ProtocolRecord)
//   leaf(a)      = SHA-256(0x00 ‖ AccountRecord(a)), sums = a's sums
//   node(L, R)   = SHA-256(0x01 ‖ L.hash ‖ Sums(L) ‖ R.hash ‖ Sums(R)), sums = L.sums + R.sums
//   state_hash   = SHA-256("LIQL-STATE-2" ‖ u64 seq ‖ u64 ts ‖ globals_hash ‖ u64 n ‖ root.hash ‖ Sums(root))
// over the accounts in creation order, in the shape of RFC 6962 §2.1.

#include <boost/container/small_vector.hpp>

#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/state.h"

namespace liql {

struct TreeNode {
  Hash hash{};
  Sums sums;
  bool operator==(const TreeNode&) const = default;
};

TreeNode leaf_node(AccountId id, const Account& account);
TreeNode inner_node(const TreeNode& left, const TreeNode& right);
Hash globals_hash(const State& state);
Hash commitment_hash(uint64_t seq, uint64_t ts, const Hash& globals, uint64_t count, const TreeNode& root);

// The full computation, O(state): what Commitment keeps incrementally.
Hash state_hash(const State& state);

// SPEC §7.3. `path` is the RFC 6962 audit path, leaf level first.
struct InclusionProof {
  uint64_t seq = 0, ts = 0;
  Hash state_hash{}, globals_hash{};
  uint64_t account_count = 0, index = 0;
  AccountId id = 0;
  Account account;  // balances and positions (index unused)
  std::vector<TreeNode> path;
  Sums totals;
};

// Rebuilds the leaf, folds the path (sibling sides from index and count,
// never from the proof) and checks the root sums against `totals` and the
// result against `state_hash`. On failure *why names what does not hold.
bool verify_inclusion(const InclusionProof& proof, std::string* why);

// The commitment kept in memory for replay: an event that touches t accounts
// costs O(t · log n) node hashes, computed lazily when a hash is asked for.
// Every complete subtree (RFC 6962 forms only aligned ones) of two leaves or
// more keeps its hash, those of 2^kSummedLevel leaves or more their sums too;
// leaves and the sums of smaller subtrees come from the accounts when needed.
// That bounds the memory to about 32 bytes per account for the hashes plus
// the sums of n/2^(kSummedLevel − 1) nodes.
// REQUIRES every account change since the last hash() was passed to touch()
// (Outcome::touched); accounts are only ever appended to State::order.
class Commitment {
 public:
  static constexpr unsigned kSummedLevel = 5;

  void touch(std::span<const AccountId> ids) { dirty_ids_.insert(dirty_ids_.end(), ids.begin(), ids.end()); }
  Hash hash(const State& state);
  const TreeNode& root(const State& state);
  // The proof for the account with this id, at the state's seq. nullopt when unknown.
  std::optional<InclusionProof> prove(const State& state, AccountId id);
  // Bytes held by the tree (for the benchmarks).
  size_t memory_bytes() const;

 private:
  // Sums in the form the tree adds them: per asset, ascending, the credit and
  // debit as 256-bit magnitudes in 64-bit limbs (least significant first).
  struct SumEntry {
    uint32_t asset;
    uint64_t credit[4], debit[4];
  };
  // Inline up to three assets: no allocation per node for most markets.
  static constexpr size_t kInlineAssets = 3;
  using PackedSums = boost::container::small_vector<SumEntry, kInlineAssets>;
  struct Node {
    Hash hash{};
    PackedSums sums;
  };
  // Deques: they grow without the slack of a vector's doubling.
  struct Level {
    std::deque<Hash> hashes;      // complete node i covers leaves [i·2^h, (i+1)·2^h)
    std::deque<PackedSums> sums;  // only at h ≥ kSummedLevel
  };
  void update(const State& state);
  void refresh(const State& state);  // update, then the root
  Node node(const State& state, unsigned level, uint64_t index) const;
  Node range(const State& state, uint64_t begin, uint64_t end) const;
  void path(const State& state, uint64_t index, uint64_t begin, uint64_t end, std::vector<TreeNode>& out) const;
  static Node leaf(AccountId id, const Account& account);
  static Node inner(const Node& left, const Node& right);
  static void add(PackedSums& into, const PackedSums& other);
  static void add_account(PackedSums& into, const Account& account);
  static TreeNode unpack(const Node& node);
  static void append_sums(std::string& out, const PackedSums& sums);  // Sums(node) of SPEC §7.1

  std::vector<Level> levels_;  // levels_[h − 1] for h ≥ 1
  std::vector<AccountId> dirty_ids_;
  uint64_t count_ = 0;  // accounts the stored levels cover
  // The root's right spine: the complete subtrees of n's binary decomposition,
  // each with the fold of it and everything to its right.
  struct SpineEntry {
    uint64_t begin = 0, size = 0;
    Node fold;
  };
  std::vector<SpineEntry> spine_;
  uint64_t spine_stale_ = 0;  // folds that begin below this leaf are out of date
  Node root_;
  std::string root_sums_;  // Sums(root), encoded
  bool root_valid_ = false;
  TreeNode root_unpacked_;
  bool root_unpacked_valid_ = false;
  // Globals: each record's hash, redone only when the record changed, and the
  // globals hash, redone only when one of them changed.
  template <typename Value>
  class RecordCache {
   public:
    template <typename Compute>
    Hash get(uint32_t id, const Value& value, Compute compute) {
      auto it = entries_.find(id);
      if (it == entries_.end() || !(it->second.first == value)) {
        it = entries_.insert_or_assign(id, std::pair<Value, Hash>{value, compute(id, value)}).first;
      }
      return it->second.second;
    }

   private:
    FlatMap<uint32_t, std::pair<Value, Hash>> entries_;
  };
  RecordCache<Asset> asset_hashes_;
  RecordCache<Market> market_hashes_;
  RecordCache<Funds> funds_hashes_;
  std::string globals_input_;
  Hash globals_hash_{};
};

}  // namespace liql
