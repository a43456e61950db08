#pragma once
// Every format identifier liqledger writes or reads, in one place: the log's
// on-disk layout (SPEC §6.1, docs/LOG_FORMAT.md), the state commitment's
// domain tags (SPEC §7.2, docs/STATE_ENCODING.md), the snapshot encoding and
// the proof file (SPEC §7.3). Changing one is a format change: bump its
// version and say what happens to data written under the old one.

#include <cstdint>
#include <string_view>

namespace liql {

// ---- the log (RocksDB) ----
// meta["format_version"]; a ledger of another version is refused at open.
inline constexpr uint32_t kLogFormatVersion = 1;
// Column families: events (seq → Record), snapshots (seq → state), meta.
inline constexpr char kEventsFamily[] = "events";
inline constexpr char kSnapshotsFamily[] = "snapshots";
inline constexpr char kMetaFamily[] = "meta";
// The meta keys.
inline constexpr char kMetaFormatVersion[] = "format_version";
inline constexpr char kMetaHeadSeq[] = "head_seq";
inline constexpr char kMetaHeadChain[] = "head_chain";
inline constexpr char kMetaHeadTs[] = "head_ts";

// ---- the state commitment (LIQL-STATE-2) ----
inline constexpr std::string_view kGlobalsTag = "LIQL-GLOBALS-2";
inline constexpr std::string_view kStateTag = "LIQL-STATE-2";

// ---- snapshots: the whole state, accounts in creation order ----
inline constexpr std::string_view kSnapshotTag = "LIQL-SNAPSHOT-2";
// What the snapshots of v1 started with: derived data v2 cannot use.
inline constexpr std::string_view kPreV2SnapshotTag = "LIQL-STATE-1";

// ---- inclusion proofs (liqledger prove / verify-proof) ----
inline constexpr std::string_view kProofFormat = "liqledger-proof-2";

}  // namespace liql
