#include "ledger/ledger.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "schemas/bytes.h"
#include "schemas/event_check.h"
#include "schemas/formats.h"

namespace liql {
namespace {

constexpr uint64_t kPrefetchFrom = 4096;  // records; shorter reads run on the caller's thread

Status from_rocksdb(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return Status::ok();
  if (status.IsCorruption()) return Status::corruption(what + ": " + status.ToString());
  if (status.IsNotFound()) return Status::not_found(what + ": " + status.ToString());
  return Status::io_error(what + ": " + status.ToString());
}

void encode_record(flatbuffers::FlatBufferBuilder& builder, uint64_t seq, std::string_view event,
                   const Hash& chain) {
  builder.Clear();
  builder.ForceVectorAlignment(event.size(), 1, 8);  // the nested Event starts 8-aligned
  auto event_offset = builder.CreateVector(reinterpret_cast<const uint8_t*>(event.data()), event.size());
  auto chain_offset = builder.CreateVector(chain.data(), chain.size());
  fb::FinishRecordBuffer(builder, fb::CreateRecord(builder, seq, event_offset, chain_offset));
}

class Reader final : public LogReader {
 public:
  Reader(std::unique_ptr<rocksdb::Iterator> iterator, uint64_t from_seq, uint64_t to_seq, const Hash& previous)
      : iterator_(std::move(iterator)), next_seq_(from_seq), to_seq_(to_seq), previous_(previous) {
    if (next_seq_ <= to_seq_) iterator_->Seek(seq_key(next_seq_));
  }
  Reader(Status failure) : status_(std::move(failure)) {}

  bool next(LogRecord* record) override {
    if (!status_.is_ok() || iterator_ == nullptr || next_seq_ > to_seq_) return false;
    if (!iterator_->Valid()) {
      if (!iterator_->status().ok()) return fail(from_rocksdb(iterator_->status(), "reading seq " + std::to_string(next_seq_)));
      return fail(Status::corruption("record seq " + std::to_string(next_seq_) + " missing (log truncated)"));
    }
    const rocksdb::Slice key = iterator_->key();
    if (key.ToStringView() != seq_key(next_seq_)) {
      return fail(Status::corruption("record seq " + std::to_string(next_seq_) + " missing"));
    }
    if (Status s = decode_record_value(next_seq_, iterator_->value().ToStringView(), &scratch_, record); !s.is_ok()) {
      return fail(s);
    }
    if (chain_next(previous_, record->event_bytes) != record->chain) {
      return fail(Status::corruption("record seq " + std::to_string(next_seq_) + ": chain hash mismatch"));
    }
    previous_ = record->chain;
    ++next_seq_;
    iterator_->Next();
    return true;
  }

  const Status& status() const override { return status_; }

 private:
  bool fail(Status status) {
    status_ = std::move(status);
    return false;
  }

  std::unique_ptr<rocksdb::Iterator> iterator_;
  uint64_t next_seq_ = 1;
  uint64_t to_seq_ = 0;
  Hash previous_{};
  AlignedScratch scratch_;
  Status status_;
};

// A reader that runs `inner` (RocksDB iteration, record decoding, the chain)
// on its own thread, a batch of records ahead of the consumer, which meanwhile
// applies the previous batch: a replay then costs about the larger of reading
// and applying instead of their sum. Records come out in the same order with
// the same bytes and the same first error; only the work overlaps.
class PrefetchReader final : public LogReader {
 public:
  explicit PrefetchReader(std::unique_ptr<LogReader> inner) : inner_(std::move(inner)) {
    producer_ = std::thread([this] { produce(); });
  }
  ~PrefetchReader() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    producer_.join();
  }

  bool next(LogRecord* record) override {
    while (current_ == nullptr || position_ == current_->records.size()) {
      if (current_ != nullptr && current_->last) {
        status_ = current_->status;
        return false;
      }
      std::unique_lock lock(mutex_);
      if (current_ != nullptr) free_.push_back(std::move(current_));
      changed_.notify_all();
      changed_.wait(lock, [this] { return !ready_.empty(); });
      current_ = std::move(ready_.front());
      ready_.pop_front();
      position_ = 0;
    }
    const Batch::Entry& entry = current_->records[position_++];
    const uint8_t* data = reinterpret_cast<const uint8_t*>(current_->words.data()) + entry.offset;
    record->seq = entry.seq;
    record->event_bytes = std::span<const uint8_t>(data, entry.size);
    record->event = flatbuffers::GetRoot<fb::Event>(data);  // verified by `inner`, same bytes, same alignment
    record->chain = entry.chain;
    return true;
  }

  const Status& status() const override { return status_; }

  const fb::Event* peek() const override {
    if (current_ == nullptr || position_ == current_->records.size()) return nullptr;
    const Batch::Entry& entry = current_->records[position_];
    return flatbuffers::GetRoot<fb::Event>(reinterpret_cast<const uint8_t*>(current_->words.data()) + entry.offset);
  }

 private:
  static constexpr size_t kBatchRecords = 1024;
  static constexpr size_t kBatches = 4;

  struct Batch {
    struct Entry {
      uint64_t seq;
      size_t offset;  // into words, 8-aligned like the event in its record
      size_t size;
      Hash chain;
    };
    std::vector<uint64_t> words;
    std::vector<Entry> records;
    bool last = false;  // no batch follows; status tells why
    Status status;
  };

  void produce() {
    for (bool last = false; !last;) {
      std::unique_ptr<Batch> batch;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return stop_ || !free_.empty() || allocated_ < kBatches; });
        if (stop_) return;
        if (free_.empty()) {
          batch = std::make_unique<Batch>();
          ++allocated_;
        } else {
          batch = std::move(free_.back());
          free_.pop_back();
        }
      }
      batch->words.clear();
      batch->records.clear();
      LogRecord record;
      while (batch->records.size() < kBatchRecords && (last = !inner_->next(&record)) == false) {
        const size_t offset = batch->words.size() * 8;
        batch->words.resize(batch->words.size() + (record.event_bytes.size() + 7) / 8);
        std::memcpy(reinterpret_cast<uint8_t*>(batch->words.data()) + offset, record.event_bytes.data(),
                    record.event_bytes.size());
        batch->records.push_back({record.seq, offset, record.event_bytes.size(), record.chain});
      }
      batch->last = last;
      if (last) batch->status = inner_->status();
      {
        std::lock_guard lock(mutex_);
        ready_.push_back(std::move(batch));
      }
      changed_.notify_all();
    }
  }

  std::unique_ptr<LogReader> inner_;  // used by the producer thread only
  std::thread producer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Batch>> ready_;
  std::vector<std::unique_ptr<Batch>> free_;
  size_t allocated_ = 0;
  bool stop_ = false;
  // The consumer's side.
  std::unique_ptr<Batch> current_;
  size_t position_ = 0;
  Status status_;
};

class RocksLedger final : public Ledger {
 public:
  RocksLedger(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
              const LedgerOptions& options)
      : db_(std::move(db)), handles_(std::move(handles)), options_(options) {}

  ~RocksLedger() override {
    // A writer that appended leaves its records in SST files, not only in the
    // WAL: every later reader (a secondary instance) would otherwise rebuild
    // them from the WAL into memory on open, work in proportion to the
    // unflushed part of the log, for every command.
    // Nothing depends on it succeeding: the WAL holds every acknowledged append.
    if (dirty_) (void)db_->Flush(rocksdb::FlushOptions(), handles_);
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    db_.reset();
    if (!secondary_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(secondary_dir_, ignored);
    }
  }

  // A reader is a RocksDB secondary instance: it may open beside a live
  // writer process, and keeps its own info log in this scratch directory.
  void own_secondary_dir(std::string dir) { secondary_dir_ = std::move(dir); }

  Status load_head() {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta(), kMetaFormatVersion, &value);
    if (s.IsNotFound()) {
      if (options_.read_only) return Status::ok();  // a log nobody wrote yet
      rocksdb::WriteBatch batch;
      batch.Put(meta(), kMetaFormatVersion, be_bytes(kLogFormatVersion, 4));
      return from_rocksdb(db_->Write(write_options(), &batch), "writing meta");
    }
    if (!s.ok()) return from_rocksdb(s, "reading meta");
    uint64_t version = 0;
    if (!parse_be(value, 4, &version)) return Status::corruption("meta format_version malformed");
    if (version != kLogFormatVersion) {
      return Status::corruption("log format version " + std::to_string(version) + " is not supported");
    }
    s = db_->Get(rocksdb::ReadOptions(), meta(), kMetaHeadSeq, &value);
    if (s.IsNotFound()) return Status::ok();  // empty log
    if (!s.ok() || !parse_be(value, 8, &head_.seq)) return Status::corruption("meta head_seq malformed");
    s = db_->Get(rocksdb::ReadOptions(), meta(), kMetaHeadChain, &value);
    if (!s.ok() || value.size() != 32) return Status::corruption("meta head_chain malformed");
    std::memcpy(head_.chain.data(), value.data(), 32);
    s = db_->Get(rocksdb::ReadOptions(), meta(), kMetaHeadTs, &value);
    if (!s.ok() || !parse_be(value, 8, &head_.ts)) return Status::corruption("meta head_ts malformed");
    return Status::ok();
  }

  Head head() const override { return head_; }

  Status append(std::span<const std::string> events, Head* new_head, size_t* failed_index) override {
    if (options_.read_only) return Status::invalid_argument("ledger opened read-only");
    Head head = head_;
    rocksdb::WriteBatch batch;
    AlignedScratch scratch;
    for (size_t i = 0; i < events.size(); ++i) {
      const std::string& bytes = events[i];
      auto refuse = [&](const std::string& message) {
        if (failed_index != nullptr) *failed_index = i;
        return Status::invalid_argument(message);
      };
      std::string field, error;
      const uint8_t* data = scratch.hold(bytes.data(), bytes.size());
      const fb::Event* event = verify_event_buffer(data, bytes.size(), &field, &error);
      if (event == nullptr) return refuse("field " + field + ": " + error);
      const bool is_genesis = event->body_type() == fb::Body::Genesis;
      if (head.seq == 0 && !is_genesis) return refuse("field type: the first event must be genesis");
      if (head.seq > 0 && is_genesis) return refuse("field type: genesis must be the only first event");
      if (head.seq > 0 && event->ts() < head.ts) {
        return refuse("field ts: " + std::to_string(event->ts()) + " is before the previous event's " +
                      std::to_string(head.ts) + " (ts never decreases)");
      }
      head.chain = chain_next(head.chain, std::span<const uint8_t>(data, bytes.size()));
      head.seq += 1;
      head.ts = event->ts();
      encode_record(builder_, head.seq, bytes, head.chain);
      batch.Put(events_family(), seq_key(head.seq),
                rocksdb::Slice(reinterpret_cast<const char*>(builder_.GetBufferPointer()), builder_.GetSize()));
    }
    if (events.empty()) {
      if (new_head != nullptr) *new_head = head_;
      return Status::ok();
    }
    batch.Put(meta(), kMetaHeadSeq, seq_key(head.seq));
    batch.Put(meta(), kMetaHeadChain, rocksdb::Slice(reinterpret_cast<const char*>(head.chain.data()), 32));
    batch.Put(meta(), kMetaHeadTs, seq_key(head.ts));
    if (Status s = from_rocksdb(db_->Write(write_options(), &batch), "appending"); !s.is_ok()) return s;
    head_ = head;
    dirty_ = true;
    if (new_head != nullptr) *new_head = head;
    return Status::ok();
  }

  std::unique_ptr<LogReader> read(uint64_t from_seq, uint64_t to_seq) override {
    if (from_seq == 0) from_seq = 1;
    if (to_seq > head_.seq) to_seq = head_.seq;
    Hash previous{};
    if (from_seq > 1 && from_seq <= to_seq) {
      std::string value;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), events_family(), seq_key(from_seq - 1), &value);
      if (!s.ok()) {
        return std::make_unique<Reader>(
            s.IsNotFound() ? Status::corruption("record seq " + std::to_string(from_seq - 1) + " missing")
                           : from_rocksdb(s, "reading seq " + std::to_string(from_seq - 1)));
      }
      AlignedScratch scratch;
      LogRecord record;
      Status decoded = decode_record_value(from_seq - 1, value, &scratch, &record);
      if (!decoded.is_ok()) return std::make_unique<Reader>(decoded);
      previous = record.chain;
    }
    rocksdb::ReadOptions read_options;
    read_options.verify_checksums = true;
    std::unique_ptr<rocksdb::Iterator> iterator(db_->NewIterator(read_options, events_family()));
    return read_ahead(std::make_unique<Reader>(std::move(iterator), from_seq, to_seq, previous),
                      to_seq < from_seq ? 0 : to_seq - from_seq + 1);
  }

  Status put_snapshot(uint64_t seq, std::string_view state_bytes, const Hash& state_hash) override {
    if (options_.read_only) return Status::invalid_argument("ledger opened read-only");
    std::string value(reinterpret_cast<const char*>(state_hash.data()), state_hash.size());
    value.append(state_bytes);
    return from_rocksdb(db_->Put(write_options(), snapshots_family(), seq_key(seq), value), "writing snapshot");
  }

  Status newest_snapshot(uint64_t at_seq, uint64_t* seq, std::string* state_bytes, Hash* state_hash) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), snapshots_family()));
    it->SeekForPrev(seq_key(at_seq));
    if (!it->Valid()) {
      if (!it->status().ok()) return from_rocksdb(it->status(), "reading snapshots");
      return Status::not_found("no snapshot at or before seq " + std::to_string(at_seq));
    }
    return decode_snapshot(it->key().ToStringView(), it->value().ToStringView(), seq, state_bytes, state_hash);
  }

  Status list_snapshots(std::vector<uint64_t>* seqs) override {
    seqs->clear();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), snapshots_family()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      uint64_t seq = 0;
      if (!parse_be(it->key().ToStringView(), 8, &seq)) return Status::corruption("snapshot key malformed");
      seqs->push_back(seq);
    }
    return from_rocksdb(it->status(), "listing snapshots");
  }

 private:
  static Status decode_snapshot(std::string_view key, std::string_view value, uint64_t* seq, std::string* state_bytes,
                                Hash* state_hash) {
    if (!parse_be(key, 8, seq)) return Status::corruption("snapshot key malformed");
    if (value.size() < 32) return Status::corruption("snapshot at seq " + std::to_string(*seq) + " truncated");
    std::memcpy(state_hash->data(), value.data(), 32);
    state_bytes->assign(value.substr(32));
    return Status::ok();
  }

  rocksdb::WriteOptions write_options() const {
    rocksdb::WriteOptions options;
    options.sync = options_.sync;
    return options;
  }
  rocksdb::ColumnFamilyHandle* events_family() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* snapshots_family() const { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* meta() const { return handles_[3]; }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  LedgerOptions options_;
  Head head_;
  flatbuffers::FlatBufferBuilder builder_{1024};
  std::string secondary_dir_;
  bool dirty_ = false;  // appended since open: flushed on close
};

// A fresh directory for a secondary instance's own files.
Status make_secondary_dir(std::string* dir) {
  std::error_code ec;
  const std::filesystem::path temp = std::filesystem::temp_directory_path(ec);
  if (ec) return Status::io_error("no temporary directory for a reader's scratch files: " + ec.message());
  std::string pattern = (temp / "liqledger-reader-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return Status::io_error("cannot create a reader's scratch directory");
  *dir = pattern;
  return Status::ok();
}

}  // namespace

std::string seq_key(uint64_t seq) { return be_bytes(seq, 8); }

std::unique_ptr<LogReader> read_ahead(std::unique_ptr<LogReader> inner, uint64_t count) {
  if (count <= kPrefetchFrom) return inner;  // a thread pays off over a long range only
  return std::make_unique<PrefetchReader>(std::move(inner));
}

const uint8_t* AlignedScratch::hold(const char* data, size_t size) {
  if ((reinterpret_cast<uintptr_t>(data) & 7) == 0) return reinterpret_cast<const uint8_t*>(data);
  words_.resize(size / 8 + 1);
  std::memcpy(words_.data(), data, size);
  return reinterpret_cast<const uint8_t*>(words_.data());
}

Status decode_record_value(uint64_t seq, std::string_view value, AlignedScratch* scratch, LogRecord* record) {
  // Built only on failure: this runs for every record of every replay.
  const auto where = [seq] { return "record seq " + std::to_string(seq); };
  // The verifier asserts on a buffer of 2 GiB or more (FlatBuffers' limit).
  if (value.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) return Status::corruption(where() + ": value too large");
  const uint8_t* data = scratch->hold(value.data(), value.size());
  flatbuffers::Verifier verifier(data, value.size());
  if (!fb::VerifyRecordBuffer(verifier)) return Status::corruption(where() + ": FlatBuffers verification failed");
  const fb::Record* stored = fb::GetRecord(data);
  if (stored->seq() != seq) {
    return Status::corruption(where() + ": holds seq " + std::to_string(stored->seq()) + " (reordered log)");
  }
  if (stored->event() == nullptr || stored->chain() == nullptr || stored->chain()->size() != 32) {
    return Status::corruption(where() + ": missing event or chain");
  }
  const uint8_t* event_data = stored->event()->data();
  if ((reinterpret_cast<uintptr_t>(event_data) & 7) != 0) return Status::corruption(where() + ": misaligned event");
  std::string field, error;
  const fb::Event* event = verify_event_buffer(event_data, stored->event()->size(), &field, &error);
  if (event == nullptr) return Status::corruption(where() + ": event field " + field + ": " + error);
  // The engine relies on this log rule (Machine::apply): genesis at seq 1, and only there.
  const bool genesis = event->body_type() == fb::Body::Genesis;
  if (seq == 1 && !genesis) return Status::corruption(where() + ": the first record is not genesis");
  if (seq != 1 && genesis) return Status::corruption(where() + ": genesis after seq 1");
  record->seq = seq;
  record->event_bytes = std::span<const uint8_t>(event_data, stored->event()->size());
  record->event = event;
  std::memcpy(record->chain.data(), stored->chain()->data(), 32);
  return Status::ok();
}

Status Ledger::open(const std::string& path, const LedgerOptions& options, std::unique_ptr<Ledger>* ledger) {
  rocksdb::Options db_options;
  if (options.env != nullptr) db_options.env = options.env;
  db_options.create_if_missing = options.create_if_missing && !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  // The head in `meta` and the records in `events` are written in one batch;
  // flushing all column families atomically keeps them consistent on disk too,
  // so a reader (secondary instance) never sees a head without its records.
  db_options.atomic_flush = true;
  // Recovery replays the WAL into memory without flushing: a writer that opens
  // does not rewrite the files a concurrent reader is opening.
  db_options.avoid_flush_during_recovery = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families{
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kEventsFamily, rocksdb::ColumnFamilyOptions()},
      {kSnapshotsFamily, rocksdb::ColumnFamilyOptions()},
      {kMetaFamily, rocksdb::ColumnFamilyOptions()},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  std::string secondary_dir;
  rocksdb::Status s;
  if (options.read_only) {
    // Readers never write and never lock: a secondary instance sees the log as
    // of open() even while another process appends.
    std::error_code ec;
    const bool exists = std::filesystem::exists(path + "/CURRENT", ec);
    if (ec) return Status::io_error("cannot look for a ledger at " + path + ": " + ec.message());
    if (!exists) return Status::not_found("no ledger at " + path);
    if (Status made = make_secondary_dir(&secondary_dir); !made.is_ok()) return made;
    db_options.max_open_files = -1;  // required by secondary instances
    // A writer process that opens or closes meanwhile replaces its MANIFEST;
    // an open that raced with that fails with IOError and is retried (bounded).
    for (int attempt = 0; attempt < 10; ++attempt) {
      s = rocksdb::DB::OpenAsSecondary(db_options, path, secondary_dir, families, &handles, &raw);
      if (s.ok() || !s.IsIOError()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << std::min(attempt, 4)));
    }
  } else {
    s = rocksdb::DB::Open(db_options, path, families, &handles, &raw);
  }
  if (!s.ok()) {
    if (!secondary_dir.empty()) {
      std::error_code ignored;  // the scratch directory of a reader that did not open: best effort
      std::filesystem::remove_all(secondary_dir, ignored);
    }
    return from_rocksdb(s, "opening " + path);
  }
  auto opened = std::make_unique<RocksLedger>(std::unique_ptr<rocksdb::DB>(raw), std::move(handles), options);
  opened->own_secondary_dir(std::move(secondary_dir));
  if (Status loaded = opened->load_head(); !loaded.is_ok()) return loaded;
  *ledger = std::move(opened);
  return Status::ok();
}

}  // namespace liql
