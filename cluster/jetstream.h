#pragma once
// The NATS JetStream side of the cluster layer (docs/SCALE.md): one
// connection and its JetStream context, the streams a ledger is mirrored
// into, and "blobs" (byte strings of any size cut into parts under one
// subject prefix). Every failure is a Status: IOError for a connection or a
// server that fails, NotFound for a missing stream or message, Corruption for
// bytes that do not decode.
//
// Streams for the name NAME given on the command line:
//   NAME          subject NAME.rec: the records, in batches (cluster/mirror.h);
//                 stream seq order is record seq order
//   NAME_SNAP     NAME_SNAP.<seq>.*: the ledger's snapshots as blobs;
//                 NAME_SNAP.index: the seqs of the complete ones
//   NAME_WORK     NAME_WORK.seg: one message per segment to audit (work-queue
//                 retention, durable pull consumer "workers")
//   NAME_RESULTS  NAME_RESULTS.plan.* and NAME_RESULTS.<plan>.<k>.*: the plan
//                 and each segment's result, as blobs

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/status.h"

struct __natsConnection;
struct __jsCtx;
struct __natsMsg;

namespace liql::cluster {

struct StreamNames {
  std::string records, snapshots, work, results;
  static StreamNames of(const std::string& name);
  std::string records_subject() const { return records + ".rec"; }
  std::string snapshot_prefix(uint64_t seq) const { return snapshots + "." + std::to_string(seq); }
  std::string snapshot_index() const { return snapshots + ".index"; }
  std::string work_subject() const { return work + ".seg"; }
};

// A stream name as NATS accepts it (letters, digits, '-', '_'); InvalidArgument otherwise.
Status check_stream_name(const std::string& name);

// One message read back from a stream.
struct StoredMsg {
  std::string data;
  uint64_t stream_seq = 0;
};

class JetStream {
 public:
  // Connects to `url` (nats://host:port); IOError naming the URL when no
  // server answers. `wait_ms` bounds every request to the server.
  static Status connect(const std::string& url, std::unique_ptr<JetStream>* out, int64_t wait_ms = 10'000);
  ~JetStream();
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  const std::string& url() const { return url_; }
  __natsConnection* connection() { return nc_; }
  __jsCtx* context() { return js_; }

  // Creates the stream when it does not exist (file storage, limits or
  // work-queue retention); an existing one is kept as it is.
  Status ensure_stream(const std::string& name, const std::vector<std::string>& subjects, bool work_queue);
  Status delete_stream(const std::string& name);  // a missing one is not an error
  // NotFound ("stream NAME does not exist on URL") when it is missing.
  Status last_seq(const std::string& stream, uint64_t* seq);
  Status get(const std::string& stream, uint64_t stream_seq, StoredMsg* msg);
  // The newest message on `subject`; NotFound when there is none.
  Status get_last(const std::string& stream, const std::string& subject, StoredMsg* msg);

  // Asynchronous publish (acknowledgements collected by publish_complete);
  // msg_id, when not empty, is the Nats-Msg-Id the stream deduplicates on.
  // expect_last_seq, when not 0, is the stream seq the stream must be at before
  // this message (JetStream refuses it otherwise): a publish that failed
  // makes every later one fail too, so a stream never gets a gap.
  Status publish_async(const std::string& subject, std::string_view data, const std::string& msg_id,
                       uint64_t expect_last_seq = 0);
  // Waits for every outstanding acknowledgement; IOError if one failed.
  Status publish_complete(int64_t timeout_ms = 60'000);
  Status publish(const std::string& subject, std::string_view data, const std::string& msg_id);

  // Blobs: `data` cut into parts of at most kBlobPart bytes, published as
  // PREFIX.p0, PREFIX.p1, …; part 0 starts with the part count, the size and
  // the SHA-256 of the whole, so read_blob returns only a complete, intact
  // blob (NotFound when part 0 is missing, Corruption when a part is missing
  // or the digest differs).
  static constexpr size_t kBlobPart = 512 * 1024;
  Status put_blob(const std::string& stream, const std::string& prefix, std::string_view data, bool async = false);
  Status read_blob(const std::string& stream, const std::string& prefix, std::string* data);

 private:
  JetStream() = default;
  Status check(int status, const std::string& what, int js_error = 0) const;
  Status fetch(const std::string& stream, uint64_t stream_seq, const std::string& last_subject, StoredMsg* msg);

  std::string url_;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
  int64_t wait_ms_ = 10'000;
  std::map<std::string, bool> direct_;  // stream → allows direct gets (cluster/jetstream.cc fetch)
};

}  // namespace liql::cluster
