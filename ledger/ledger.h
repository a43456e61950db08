#pragma once
// The append-only event log in RocksDB (SPEC §6, docs/LOG_FORMAT.md).
//
//   column family `events`:    key = seq (8-byte big-endian), value = Record
//                              {seq, Event buffer, chain}, chain(seq) =
//                              SHA-256(chain(seq − 1) || Event bytes)
//   column family `snapshots`: key = seq, value = canonical state + its hash
//   column family `meta`:      format version, head seq, head chain, head ts
//
// The ledger knows the record format and the log's own rules (seq from 1,
// genesis first and only first, ts never decreasing, the chain); it knows
// nothing of health or of what events mean.
//
// Thread safety: one Ledger may be used from one thread at a time. RocksDB's
// lock file keeps a second writer process out; readers open it read-only.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/formats.h"
#include "schemas/status.h"
#include "liqledger_generated.h"
#include "schemas/sha256.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace liql {

struct LedgerOptions {
  bool create_if_missing = true;
  bool sync = false;       // fsync the WAL before an append is acknowledged
  bool read_only = false;  // a reader: never writes; sees the log as of open()
  // The RocksDB environment (its file system); null: the default one. Tests
  // pass one whose file system simulates a power loss (tests/power_loss_test.cc).
  rocksdb::Env* env = nullptr;
};

struct Head {
  uint64_t seq = 0;  // 0: empty log
  Hash chain{};      // chain(seq); 32 zero bytes for an empty log
  uint64_t ts = 0;   // ts of the event at seq
};

// One record read back and verified (FlatBuffers verifier, seq, chain).
// The pointers stay valid until the reader moves on.
struct LogRecord {
  uint64_t seq = 0;
  std::span<const uint8_t> event_bytes;
  const fb::Event* event = nullptr;
  Hash chain{};
};

class LogReader {
 public:
  virtual ~LogReader() = default;
  // The next record in seq order, or false at the end of the range or on
  // error; status() tells which.
  virtual bool next(LogRecord* record) = 0;
  virtual const Status& status() const = 0;
  // The event next() returns next, when it is already read and verified
  // (a read-ahead reader's buffered record), else nullptr: a hint to warm the
  // memory it will touch, valid until the next call to next().
  virtual const fb::Event* peek() const { return nullptr; }
};

class Ledger {
 public:
  // NotFound: a reader on a directory with no ledger; IOError: RocksDB or the
  // file system failed (its message named); Corruption: the meta column
  // family is malformed or of another format version.
  static Status open(const std::string& path, const LedgerOptions& options, std::unique_ptr<Ledger>* ledger);
  virtual ~Ledger() = default;

  virtual Head head() const = 0;

  // Appends Event buffers (each a finished FlatBuffer of root type Event) as
  // seq head+1, head+2, …, in one atomic write together with the new head.
  // Refuses the whole batch, writing nothing, when an event is malformed
  // (check_event: a missing field, a number not canonical, a price published
  // after its ts, …), ts decreases, or genesis is missing, repeated or not
  // first: InvalidArgument naming the field, *failed_index the offending event
  // of the batch. InvalidArgument too on a read-only ledger; IOError when
  // RocksDB fails to write.
  virtual Status append(std::span<const std::string> events, Head* new_head, size_t* failed_index) = 0;

  // Reads seq in [from_seq, to_seq] (to_seq clamped to the head), verifying
  // each record and the chain from chain(from_seq − 1), which it reads from
  // record from_seq − 1. A range of more than 4,096 records is read and
  // verified a batch ahead on a thread of the reader's own (same records, same
  // first error); the reader must not outlive the ledger.
  virtual std::unique_ptr<LogReader> read(uint64_t from_seq, uint64_t to_seq) = 0;

  // Snapshots (canonical state bytes + state hash), keyed by seq. IOError when
  // RocksDB fails; Corruption for a malformed key or a value without its hash.
  virtual Status put_snapshot(uint64_t seq, std::string_view state_bytes, const Hash& state_hash) = 0;
  // The newest snapshot with seq ≤ at_seq, or NotFound.
  virtual Status newest_snapshot(uint64_t at_seq, uint64_t* seq, std::string* state_bytes, Hash* state_hash) = 0;
  virtual Status list_snapshots(std::vector<uint64_t>* seqs) = 0;
};

// `inner` run on a thread of its own, a batch of records ahead of the
// consumer, as read() does for a long range: the same records, the same first
// error. For `count` ≤ 4,096 records, `inner` itself. For readers of other
// sources (cluster/'s StreamReader); `inner` is used by that thread only.
std::unique_ptr<LogReader> read_ahead(std::unique_ptr<LogReader> inner, uint64_t count);

// Encodes seq as the 8-byte big-endian key.
std::string seq_key(uint64_t seq);

// Bytes at an 8-byte aligned address. RocksDB gives values no alignment
// guarantee and FlatBuffers reads scalars in place: hold() returns `data`
// itself when it is aligned, otherwise an aligned copy, valid until the next
// hold() or the scratch's end.
class AlignedScratch {
 public:
  const uint8_t* hold(const char* data, size_t size);

 private:
  std::vector<uint64_t> words_;
};

// The record decoder: verifies one value of the `events` column family as the
// record of `seq` (docs/LOG_FORMAT.md, "Reading and verifying records", steps
// 2-7): the alignment copy into *scratch when needed, the FlatBuffers verifier
// (Record and the nested Event), Record.seq == seq, event and a 32-byte chain
// present, the event 8-aligned, check_event, genesis at seq 1 and only there.
// The chain hash itself (step 8) needs the previous record: LogReader checks it. On success *record points
// into `value` or *scratch and stays valid while both do. Whatever the bytes,
// a failure is a Corruption status naming seq, never a crash.
Status decode_record_value(uint64_t seq, std::string_view value, AlignedScratch* scratch, LogRecord* record);

}  // namespace liql
