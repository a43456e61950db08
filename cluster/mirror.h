#pragma once
// The log mirrored to JetStream and back (docs/SCALE.md).
//
// A record message (subject NAME.rec) carries consecutive records:
//   u64 BE first seq ‖ u32 BE count ‖ count × (u32 BE length ‖ Record value)
// where each Record value is the FlatBuffer of docs/LOG_FORMAT.md (seq, the
// Event bytes, chain(seq)), so a reader verifies it exactly as it verifies the
// ledger's own values. Its Nats-Msg-Id is the first seq: the stream drops a
// batch published twice. A snapshot is the blob NAME_SNAP.<seq> holding
// state hash ‖ payload (the ledger's snapshot value).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/jetstream.h"
#include "ledger/ledger.h"

namespace liql::cluster {

inline constexpr size_t kBatchRecords = 1000;
inline constexpr size_t kBatchBytes = 256 * 1024;

// The records of one message, undecoded.
struct RecordBatch {
  uint64_t first = 0;
  std::vector<std::string_view> values;  // point into the message's data
  uint64_t last() const { return first + values.size() - 1; }
};
Status decode_batch(std::string_view data, uint64_t stream_seq, RecordBatch* batch);
void encode_record_value(uint64_t seq, std::span<const uint8_t> event, const Hash& chain, std::string* value);
void append_to_batch(std::string* batch, uint64_t seq, std::string_view value);  // starts the header when empty
void finish_batch(std::string* batch);  // writes the count

// The last record in the stream (seq 0 and a zero chain when it is empty).
Status stream_head(JetStream& js, const StreamNames& names, Head* head);
// The stream seq of the message holding record `seq` (a binary search).
Status find_record(JetStream& js, const StreamNames& names, uint64_t seq, uint64_t* stream_seq);

// Records from..to read back from the stream, each verified (decode_record_value)
// and chained from chain(from − 1), which is read (and decoded) from the stream.
class StreamReader final : public LogReader {
 public:
  StreamReader(JetStream& js, const StreamNames& names, uint64_t from, uint64_t to);
  bool next(LogRecord* record) override;
  const Status& status() const override { return status_; }
  const Hash& start_chain() const { return start_chain_; }  // chain(from − 1)

 private:
  bool fail(Status status);
  bool load(uint64_t stream_seq);

  JetStream& js_;
  StreamNames names_;
  uint64_t next_ = 0, to_ = 0, stream_seq_ = 0;
  StoredMsg msg_;
  RecordBatch batch_;
  AlignedScratch scratch_;
  Hash previous_{}, start_chain_{};
  Status status_;
};

// The seqs of the complete snapshots in NAME_SNAP (the index blob); empty when none.
Status snapshot_index(JetStream& js, const StreamNames& names, std::vector<uint64_t>* seqs);
// Reads and decodes snapshot blob `seq`: *hash and *payload as the ledger stores them.
Status read_snapshot(JetStream& js, const StreamNames& names, uint64_t seq, Hash* hash, std::string* payload);

struct PublishReport {
  uint64_t already = 0;    // records the stream held before
  uint64_t published = 0;  // records published now
  uint64_t messages = 0;
  uint64_t snapshots = 0;  // snapshots published now
  Head head;               // the stream's last record now
};
// Mirrors the ledger's records after the stream's last one, then its
// snapshots that the stream lacks. Resumable: a stream holding another
// history (its last record's chain is not the ledger's) is refused.
Status publish_ledger(Ledger& ledger, JetStream& js, const StreamNames& names, PublishReport* report, uint64_t progress);

struct FollowReport {
  uint64_t already = 0, appended = 0, snapshots = 0;
  Head head;
};
// Appends the stream's records after the replica's head to `replica` (a
// writer), verifying every record and the chain from the replica's head, and
// copies the snapshots it lacks. A replica that is not a prefix of the
// stream is refused.
Status follow_stream(JetStream& js, const StreamNames& names, Ledger& replica, FollowReport* report, uint64_t progress);

}  // namespace liql::cluster
