#pragma once
// The audit split by time (docs/SCALE.md). A plan cuts seq 1..head of the
// streamed log at snapshots into segments; a worker audits a segment from its
// start snapshot (segment 0 from genesis) and publishes its result: the audit
// lines, the partial summary, the event counts, chain(from − 1) and chain(to)
// as it verified them, and the state hash it started from and ended at. The
// join checks that every segment starts where the previous one ended (chain,
// state hash, counts) and that the last ends at the plan's head, then prints
// what `liqledger audit DB` prints.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/jetstream.h"
#include "schemas/sha256.h"

namespace liql::cluster {

struct Segment {
  uint32_t index = 0;
  uint64_t from = 0, to = 0;  // from − 1 is a snapshot seq, or 0 (genesis)
};

struct Plan {
  std::string id;  // the plan's results are NAME_RESULTS.<id>.<segment>
  uint64_t head_seq = 0;
  Hash head_chain{};
  std::vector<Segment> segments;
  std::vector<std::string> formats;  // what the workers make: jsonl, csv, summary
  bool has_format(const std::string& format) const {
    for (const std::string& f : formats) if (f == format) return true;
    return false;
  }
};

// Cuts at the stream's snapshots so that each segment has at least
// segment_events events (the last one what remains; fewer, longer segments
// where snapshots are sparse), then recreates NAME_WORK (ack wait
// ack_wait_ms) and NAME_RESULTS and publishes the plan and one work item per
// segment. `formats`: the outputs the workers make (jsonl, csv: their lines;
// summary: the partial summaries and the final state), those audit-join can print.
Status make_plan(JetStream& js, const StreamNames& names, uint64_t segment_events, int64_t ack_wait_ms,
                 const std::vector<std::string>& formats, Plan* plan);
Status read_plan(JetStream& js, const StreamNames& names, Plan* plan);

struct WorkerOptions {
  uint64_t max_segments = 0;  // 0: until the queue is empty and nothing is pending
  uint64_t progress = 100'000;
  uint64_t stall_at = 0;  // tests: stop (SIGSTOP) on reaching this seq, to be killed or continued mid-segment
};
struct WorkerReport {
  uint64_t segments = 0, events = 0;
};
// Takes segments from the work queue until it is empty and no segment is
// held by another worker, audits each, publishes its result, then acks it.
Status run_worker(JetStream& js, const StreamNames& names, const WorkerOptions& options, WorkerReport* report);

// Receives what audit-join prints, piece by piece, in order; false when it
// cannot write.
using JoinWriter = std::function<bool(std::string_view)>;
// Two passes, so that memory holds one segment's result, not the whole audit.
// The first reads every result and checks that they join (the chain, the
// state hashes, the counts, the records); nothing is written unless all hold.
// The second reads them again and writes each one's text (JSON Lines or CSV),
// checking that it is the text the first pass checked (its SHA-256); the
// summary needs no second pass. OK with *problem empty: the whole audit was
// written, *segments joined. OK with *problem set (it names the segment and
// the seq): a check failed in the first pass and nothing was written, or in
// the second (a result that changed between the passes, a write that failed)
// and what was written is not the audit. Otherwise the connection's failure.
Status join_audit(JetStream& js, const StreamNames& names, const std::string& format, const JoinWriter& write,
                  size_t* segments, std::string* problem);

}  // namespace liql::cluster
