#include "cluster/mirror.h"

#include <fmt/format.h>
#include <flatbuffers/flatbuffers.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <set>

#include "engine/state.h"
#include "replay/replay.h"
#include "schemas/bytes.h"
#include "schemas/sha256.h"

namespace liql::cluster {

Status decode_batch(std::string_view data, uint64_t stream_seq, RecordBatch* batch) {
  const std::string where = fmt::format("record message {}", stream_seq);
  if (data.size() < 12) return Status::corruption(where + ": truncated header");
  batch->first = load_be64(data);
  const uint32_t count = load_be32(data.substr(8));
  batch->values.clear();
  size_t at = 12;
  for (uint32_t i = 0; i < count; ++i) {
    if (data.size() - at < 4) return Status::corruption(fmt::format("{}: record seq {} truncated", where, batch->first + i));
    const uint32_t length = load_be32(data.substr(at));
    at += 4;
    if (data.size() - at < length) {
      return Status::corruption(fmt::format("{}: record seq {} truncated", where, batch->first + i));
    }
    batch->values.push_back(data.substr(at, length));
    at += length;
  }
  if (count == 0 || batch->first == 0) return Status::corruption(where + ": holds no records");
  if (at != data.size()) return Status::corruption(where + ": trailing bytes");
  return Status::ok();
}

void encode_record_value(uint64_t seq, std::span<const uint8_t> event, const Hash& chain, std::string* value) {
  // As the ledger writes it (docs/LOG_FORMAT.md): the nested Event 8-aligned.
  thread_local flatbuffers::FlatBufferBuilder builder(1024);
  builder.Clear();
  builder.ForceVectorAlignment(event.size(), 1, 8);
  auto event_offset = builder.CreateVector(event.data(), event.size());
  auto chain_offset = builder.CreateVector(chain.data(), chain.size());
  fb::FinishRecordBuffer(builder, fb::CreateRecord(builder, seq, event_offset, chain_offset));
  value->assign(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
}

void append_to_batch(std::string* batch, uint64_t seq, std::string_view value) {
  if (batch->empty()) {
    append_be(*batch, seq, 8);
    append_be(*batch, 0, 4);
  }
  append_be(*batch, value.size(), 4);
  batch->append(value);
}

void finish_batch(std::string* batch) {
  // The count is the number of records appended: walk the lengths.
  uint32_t count = 0;
  for (size_t at = 12; at < batch->size(); ++count) at += 4 + load_be32(std::string_view(*batch).substr(at));
  batch->replace(8, 4, be_bytes(count, 4));
}

Status stream_head(JetStream& js, const StreamNames& names, Head* head) {
  *head = Head{};
  uint64_t last = 0;
  if (Status s = js.last_seq(names.records, &last); !s.is_ok()) return s;
  if (last == 0) return Status::ok();
  StoredMsg msg;
  if (Status s = js.get(names.records, last, &msg); !s.is_ok()) return s;
  RecordBatch batch;
  if (Status s = decode_batch(msg.data, last, &batch); !s.is_ok()) return s;
  AlignedScratch scratch;
  LogRecord record;
  if (Status s = decode_record_value(batch.last(), batch.values.back(), &scratch, &record); !s.is_ok()) return s;
  head->seq = record.seq;
  head->chain = record.chain;
  head->ts = record.event->ts();
  return Status::ok();
}

Status find_record(JetStream& js, const StreamNames& names, uint64_t seq, uint64_t* stream_seq) {
  uint64_t hi = 0;
  if (Status s = js.last_seq(names.records, &hi); !s.is_ok()) return s;
  uint64_t lo = 1;
  // Invariant: the answer is in [lo, hi]; first(lo) ≤ seq is checked at the end.
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo + 1) / 2;
    StoredMsg msg;
    if (Status s = js.get(names.records, mid, &msg); !s.is_ok()) return s;
    RecordBatch batch;
    if (Status s = decode_batch(msg.data, mid, &batch); !s.is_ok()) return s;
    if (batch.first <= seq) lo = mid; else hi = mid - 1;
  }
  StoredMsg msg;
  if (Status s = js.get(names.records, lo, &msg); !s.is_ok()) return s;
  RecordBatch batch;
  if (Status s = decode_batch(msg.data, lo, &batch); !s.is_ok()) return s;
  if (batch.first > seq || batch.last() < seq) {
    return Status::corruption(fmt::format("stream {}: record seq {} is in no message (a gap: message {} holds {}..{})",
                                          names.records, seq, lo, batch.first, batch.last()));
  }
  *stream_seq = lo;
  return Status::ok();
}

StreamReader::StreamReader(JetStream& js, const StreamNames& names, uint64_t from, uint64_t to)
    : js_(js), names_(names), next_(from), to_(to) {
  if (from == 0 || from > to) return;
  // chain(from − 1): zeros at genesis, else the stored chain of record from − 1.
  const uint64_t start = from == 1 ? 1 : from - 1;
  if (Status s = find_record(js_, names_, start, &stream_seq_); !s.is_ok()) {
    fail(s);
    return;
  }
  if (!load(stream_seq_)) return;
  if (from > 1) {
    LogRecord record;
    const uint64_t seq = from - 1;
    if (Status s = decode_record_value(seq, batch_.values[seq - batch_.first], &scratch_, &record); !s.is_ok()) {
      fail(s);
      return;
    }
    previous_ = record.chain;
  }
  start_chain_ = previous_;
}

bool StreamReader::fail(Status status) {
  status_ = std::move(status);
  return false;
}

bool StreamReader::load(uint64_t stream_seq) {
  if (Status s = js_.get(names_.records, stream_seq, &msg_); !s.is_ok()) {
    if (s.code() == Status::Code::NotFound) {
      return fail(Status::corruption(fmt::format("stream {}: record seq {} missing (message {} not found)",
                                                 names_.records, next_, stream_seq)));
    }
    return fail(s);
  }
  if (Status s = decode_batch(msg_.data, stream_seq, &batch_); !s.is_ok()) return fail(s);
  stream_seq_ = stream_seq;
  return true;
}

bool StreamReader::next(LogRecord* record) {
  if (!status_.is_ok() || next_ > to_) return false;
  if (next_ > batch_.last()) {
    if (!load(stream_seq_ + 1)) return false;
    if (batch_.first != next_) {
      return fail(Status::corruption(fmt::format(
          "stream {}: record seq {} {} (message {} starts at seq {})", names_.records, next_,
          batch_.first > next_ ? "missing (a gap)" : "duplicated", stream_seq_, batch_.first)));
    }
  }
  if (next_ < batch_.first) return fail(Status::corruption(fmt::format("record seq {} missing", next_)));
  if (Status s = decode_record_value(next_, batch_.values[next_ - batch_.first], &scratch_, record); !s.is_ok()) {
    return fail(s);
  }
  if (chain_next(previous_, record->event_bytes) != record->chain) {
    return fail(Status::corruption(fmt::format("record seq {}: chain hash mismatch", next_)));
  }
  previous_ = record->chain;
  ++next_;
  return true;
}

Status snapshot_index(JetStream& js, const StreamNames& names, std::vector<uint64_t>* seqs) {
  seqs->clear();
  std::string text;
  Status s = js.read_blob(names.snapshots, names.snapshot_index(), &text);
  if (s.code() == Status::Code::NotFound && s.message().find("no such message") != std::string::npos) {
    return Status::ok();
  }
  if (!s.is_ok()) return s;
  try {
    *seqs = nlohmann::json::parse(text).get<std::vector<uint64_t>>();
  } catch (const std::exception& e) {
    return Status::corruption(names.snapshot_index() + ": " + e.what());
  }
  return Status::ok();
}

Status read_snapshot(JetStream& js, const StreamNames& names, uint64_t seq, Hash* hash, std::string* payload) {
  std::string blob;
  if (Status s = js.read_blob(names.snapshots, names.snapshot_prefix(seq), &blob); !s.is_ok()) return s;
  if (blob.size() < 32 + 16) return Status::corruption(fmt::format("snapshot at seq {} (stream): truncated", seq));
  std::copy(blob.begin(), blob.begin() + 32, hash->begin());
  payload->assign(blob, 32);
  return Status::ok();
}

namespace {

Status ensure_mirror_streams(JetStream& js, const StreamNames& names) {
  if (Status s = js.ensure_stream(names.records, {names.records_subject()}, false); !s.is_ok()) return s;
  return js.ensure_stream(names.snapshots, {names.snapshots + ".>"}, false);
}

std::string index_json(const std::set<uint64_t>& seqs) { return nlohmann::json(std::vector<uint64_t>(seqs.begin(), seqs.end())).dump(); }

// Where the stream stands against the ledger: a prefix of this ledger's
// history (its head record's chain equal to the ledger's at that seq), or an
// error naming what does not match.
Status check_resumable(Ledger& ledger, const StreamNames& names, const Head& stream) {
  const Head local = ledger.head();
  if (stream.seq > local.seq) {
    return Status::invalid_argument(fmt::format("stream {} holds {} records, the ledger only {}: not this ledger's stream",
                                                names.records, stream.seq, local.seq));
  }
  if (stream.seq == 0) return Status::ok();
  std::unique_ptr<LogReader> reader = ledger.read(stream.seq, stream.seq);
  LogRecord record;
  if (!reader->next(&record)) return reader->status();
  if (record.chain != stream.chain) {
    return Status::invalid_argument(fmt::format("stream {} holds another history: its record seq {} has chain {}, the ledger's is {}",
                                                names.records, stream.seq, to_hex(stream.chain), to_hex(record.chain)));
  }
  return Status::ok();
}

// The records after the stream's head, in batches that end at every snapshot
// seq (so a segment starts a message), each published expecting the stream's
// last seq: a failed or foreign message makes every later one fail, never a gap.
Status publish_records(Ledger& ledger, JetStream& js, const StreamNames& names, uint64_t from_seq,
                       const std::set<uint64_t>& snapshot_set, PublishReport* report, uint64_t progress) {
  uint64_t stream_last = 0;
  if (Status s = js.last_seq(names.records, &stream_last); !s.is_ok()) return s;
  const uint64_t head = ledger.head().seq;
  std::string batch, value;
  size_t in_batch = 0;
  auto flush = [&]() -> Status {
    if (in_batch == 0) return Status::ok();
    finish_batch(&batch);
    const uint64_t first = load_be64(batch);
    Status s = js.publish_async(names.records_subject(), batch, std::to_string(first), stream_last);
    ++stream_last;
    ++report->messages;
    batch.clear();
    in_batch = 0;
    return s;
  };
  if (head < from_seq) return Status::ok();
  std::unique_ptr<LogReader> reader = ledger.read(from_seq, head);
  LogRecord record;
  while (reader->next(&record)) {
    encode_record_value(record.seq, record.event_bytes, record.chain, &value);
    append_to_batch(&batch, record.seq, value);
    ++in_batch;
    ++report->published;
    if (in_batch >= kBatchRecords || batch.size() >= kBatchBytes || snapshot_set.count(record.seq) != 0) {
      if (Status s = flush(); !s.is_ok()) return s;
    }
    if (progress != 0 && record.seq % progress == 0) {
      std::fprintf(stderr, "publish: seq %llu of %llu\n", static_cast<unsigned long long>(record.seq),
                   static_cast<unsigned long long>(head));
    }
  }
  if (!reader->status().is_ok()) return reader->status();
  return flush();
}

// Snapshots (derived data) after the records they follow: those the stream's
// index lacks, then the index itself.
Status publish_snapshots(Ledger& ledger, JetStream& js, const StreamNames& names,
                         const std::vector<uint64_t>& snapshot_seqs, PublishReport* report) {
  const uint64_t head = ledger.head().seq;
  std::vector<uint64_t> have;
  if (Status s = snapshot_index(js, names, &have); !s.is_ok()) return s;
  std::set<uint64_t> index(have.begin(), have.end());
  bool changed = false;
  for (uint64_t seq : snapshot_seqs) {
    if (seq > head || index.count(seq) != 0) continue;
    uint64_t found = 0;
    std::string payload;
    Hash hash{};
    if (Status s = ledger.newest_snapshot(seq, &found, &payload, &hash); !s.is_ok()) return s;
    if (is_pre_v2_snapshot(payload)) {
      std::fprintf(stderr, "publish: snapshot at seq %llu has the pre-v2 format: not published\n",
                   static_cast<unsigned long long>(seq));
      continue;
    }
    std::string blob(reinterpret_cast<const char*>(hash.data()), hash.size());
    blob += payload;
    if (Status s = js.put_blob(names.snapshots, names.snapshot_prefix(seq), blob, true); !s.is_ok()) return s;
    if (Status s = js.publish_complete(); !s.is_ok()) return s;
    index.insert(seq);
    changed = true;
    ++report->snapshots;
  }
  if (changed || have.empty()) {
    if (Status s = js.put_blob(names.snapshots, names.snapshot_index(), index_json(index)); !s.is_ok()) return s;
  }
  return Status::ok();
}

}  // namespace

Status publish_ledger(Ledger& ledger, JetStream& js, const StreamNames& names, PublishReport* report, uint64_t progress) {
  *report = PublishReport{};
  if (Status s = ensure_mirror_streams(js, names); !s.is_ok()) return s;
  Head stream;
  if (Status s = stream_head(js, names, &stream); !s.is_ok()) return s;
  if (Status s = check_resumable(ledger, names, stream); !s.is_ok()) return s;
  report->already = stream.seq;
  std::vector<uint64_t> snapshot_seqs;
  if (Status s = ledger.list_snapshots(&snapshot_seqs); !s.is_ok()) return s;
  const std::set<uint64_t> snapshot_set(snapshot_seqs.begin(), snapshot_seqs.end());
  if (Status s = publish_records(ledger, js, names, stream.seq + 1, snapshot_set, report, progress); !s.is_ok()) {
    return s;
  }
  if (Status s = js.publish_complete(); !s.is_ok()) return s;
  if (Status s = stream_head(js, names, &report->head); !s.is_ok()) return s;
  const Head local = ledger.head();
  if (report->head.seq != local.seq || report->head.chain != local.chain) {
    return Status::io_error(fmt::format("stream {} ends at seq {} after the publish, the ledger at {}", names.records,
                                        report->head.seq, local.seq));
  }
  return publish_snapshots(ledger, js, names, snapshot_seqs, report);
}

Status follow_stream(JetStream& js, const StreamNames& names, Ledger& replica, FollowReport* report, uint64_t progress) {
  *report = FollowReport{};
  Head stream;
  if (Status s = stream_head(js, names, &stream); !s.is_ok()) return s;
  const Head local = replica.head();
  report->already = local.seq;
  if (local.seq > stream.seq) {
    return Status::invalid_argument(fmt::format("the replica holds {} records, stream {} only {}: not this stream's replica",
                                                local.seq, names.records, stream.seq));
  }
  if (local.seq < stream.seq) {
    auto stream_reader = std::make_unique<StreamReader>(js, names, local.seq + 1, stream.seq);
    if (!stream_reader->status().is_ok()) return stream_reader->status();
    if (stream_reader->start_chain() != local.chain) {
      return Status::invalid_argument(fmt::format(
          "the replica and stream {} diverge: the replica's record seq {} has chain {}, the stream's {}", names.records,
          local.seq, to_hex(local.chain), to_hex(stream_reader->start_chain())));
    }
    // Fetched and verified on a thread of its own while this one appends.
    std::unique_ptr<LogReader> reader = read_ahead(std::move(stream_reader), stream.seq - local.seq);
    std::vector<std::string> events;
    Hash last_chain{};
    auto flush = [&]() -> Status {
      if (events.empty()) return Status::ok();
      Head new_head;
      size_t failed = 0;
      if (Status s = replica.append(events, &new_head, &failed); !s.is_ok()) {
        return Status::corruption(fmt::format("record seq {}: refused by the replica: {}", new_head.seq + failed + 1, s.message()));
      }
      if (new_head.chain != last_chain) {
        return Status::corruption(fmt::format("record seq {}: the replica's chain differs from the stream's", new_head.seq));
      }
      report->appended += events.size();
      events.clear();
      return Status::ok();
    };
    LogRecord record;
    while (reader->next(&record)) {
      events.emplace_back(reinterpret_cast<const char*>(record.event_bytes.data()), record.event_bytes.size());
      last_chain = record.chain;
      if (events.size() >= kBatchRecords) {
        if (Status s = flush(); !s.is_ok()) return s;
      }
      if (progress != 0 && record.seq % progress == 0) {
        std::fprintf(stderr, "follow: seq %llu of %llu\n", static_cast<unsigned long long>(record.seq),
                     static_cast<unsigned long long>(stream.seq));
      }
    }
    if (!reader->status().is_ok()) {
      if (Status s = flush(); !s.is_ok()) return s;  // keep the verified prefix
      return reader->status();
    }
    if (Status s = flush(); !s.is_ok()) return s;
  }
  report->head = replica.head();
  // Snapshots: derived data, copied as they are (replay checks one's hash
  // before using it; verify compares each with a full replay).
  std::vector<uint64_t> seqs, have;
  if (Status s = snapshot_index(js, names, &seqs); !s.is_ok()) return s;
  if (Status s = replica.list_snapshots(&have); !s.is_ok()) return s;
  const std::set<uint64_t> present(have.begin(), have.end());
  for (uint64_t seq : seqs) {
    if (seq > report->head.seq || present.count(seq) != 0) continue;
    Hash hash{};
    std::string payload;
    if (Status s = read_snapshot(js, names, seq, &hash, &payload); !s.is_ok()) return s;
    if (Status s = replica.put_snapshot(seq, payload, hash); !s.is_ok()) return s;
    ++report->snapshots;
  }
  return Status::ok();
}

}  // namespace liql::cluster
