// Power loss, not only a killed process (SPEC §6.2: with --sync an
// acknowledged append survives power loss).
//
// SyncTrackingFs wraps RocksDB's file system and remembers, for every file,
// how many of its bytes were synced (Sync/Fsync). A power loss at any moment
// is then the ledger directory with every file cut back to its synced bytes:
// what a disk that keeps only synced data would hold (file creations,
// renames and deletions are taken as durable; RocksDB syncs its directory
// after each). The image is opened with the real file system, verified
// (records, chain, snapshots, a full re-replay) and compared with what was
// acknowledged.

#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "replay/replay.h"
#include "tests/test_dirs.h"
#include "tools/generate.h"

namespace liql {
namespace {

using rocksdb::IOStatus;

class SyncTrackingFs : public rocksdb::FileSystemWrapper {
 public:
  explicit SyncTrackingFs(std::shared_ptr<rocksdb::FileSystem> base) : FileSystemWrapper(std::move(base)) {}
  static const char* kClassName() { return "SyncTrackingFs"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                           std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* debug) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    IOStatus s = target()->NewWritableFile(name, options, &file, debug);
    if (!s.ok()) return s;
    set_synced(name, 0);
    *result = std::make_unique<File>(std::move(file), this, name);
    return s;
  }
  IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions&,
                              std::unique_ptr<rocksdb::FSWritableFile>*, rocksdb::IODebugContext*) override {
    return IOStatus::NotSupported("SyncTrackingFs: reopening " + name);  // not used by the ledger's options
  }
  IOStatus RenameFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& options,
                      rocksdb::IODebugContext* debug) override {
    IOStatus s = target()->RenameFile(from, to, options, debug);
    std::lock_guard lock(mutex_);
    if (s.ok() && synced_.count(from) != 0) {
      synced_[to] = synced_[from];
      synced_.erase(from);
    }
    return s;
  }
  IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                      rocksdb::IODebugContext* debug) override {
    IOStatus s = target()->DeleteFile(name, options, debug);
    std::lock_guard lock(mutex_);
    if (s.ok()) synced_.erase(name);
    return s;
  }

  // The directory as a power loss now would leave it, written to `out`.
  void image(const std::string& dir, const std::string& out) {
    std::lock_guard lock(mutex_);
    std::filesystem::create_directories(out);
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string path = entry.path().string();
      const auto tracked = synced_.find(path);
      const uint64_t keep = tracked == synced_.end() ? entry.file_size() : tracked->second;
      std::ifstream in(path, std::ios::binary);
      std::string bytes(keep, '\0');
      in.read(bytes.data(), static_cast<std::streamsize>(keep));
      std::ofstream(out + "/" + entry.path().filename().string(), std::ios::binary) << bytes;
    }
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, SyncTrackingFs* fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), name_(std::move(name)) {}
    IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                    rocksdb::IODebugContext* debug) override {
      IOStatus s = target()->Append(data, options, debug);
      if (s.ok()) written_ += data.size();
      return s;
    }
    IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                    const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* debug) override {
      IOStatus s = target()->Append(data, options, info, debug);
      if (s.ok()) written_ += data.size();
      return s;
    }
    IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) override {
      IOStatus s = target()->Truncate(size, options, debug);
      if (s.ok()) written_ = size;
      return s;
    }
    IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) override {
      return synced(target()->Sync(options, debug));
    }
    IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) override {
      return synced(target()->Fsync(options, debug));
    }

   private:
    IOStatus synced(IOStatus s) {
      if (s.ok()) fs_->set_synced(name_, written_);
      return s;
    }
    SyncTrackingFs* fs_;
    std::string name_;
    uint64_t written_ = 0;
  };

  void set_synced(const std::string& name, uint64_t size) {
    std::lock_guard lock(mutex_);
    synced_[name] = size;
  }

  std::mutex mutex_;
  std::map<std::string, uint64_t> synced_;  // path → bytes synced
};

constexpr size_t kBatch = 25;

// The synthetic market's first lines, in batches of kBatch lines.
std::vector<std::string> batches(size_t count) {
  GenerateOptions options;
  options.seed = 5;
  options.accounts = 40;
  options.events = count * kBatch;
  std::vector<std::string> out(count);
  size_t n = 0;
  EXPECT_TRUE(generate_market(options, [&](std::string_view line) {
    out[n++ / kBatch] += std::string(line) + "\n";
  }).is_ok());
  return out;
}

// The power-loss image opened with the real file system: it must open and
// verify; its head seq is returned.
uint64_t recovered_head(const std::string& image) {
  std::unique_ptr<Ledger> ledger;
  LedgerOptions options;
  options.create_if_missing = false;
  const Status opened = Ledger::open(image, options, &ledger);
  EXPECT_TRUE(opened.is_ok()) << opened.to_string();
  if (!opened.is_ok()) return UINT64_MAX;
  VerifyReport report;
  const Status verified = verify(*ledger, &report);
  EXPECT_TRUE(verified.is_ok()) << verified.to_string();
  return ledger->head().seq;
}

struct Crashable {
  testing::ScratchDir dir;
  std::shared_ptr<SyncTrackingFs> fs = std::make_shared<SyncTrackingFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::unique_ptr<Ledger> ledger;

  void open(bool sync) {
    ledger.reset();  // a clean close first, when one is open
    LedgerOptions options;
    options.sync = sync;
    options.env = env.get();
    const Status s = Ledger::open(dir.path("db"), options, &ledger);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  uint64_t append(const std::string& text) {
    AppendResult result;
    InputError error;
    const Status s = append_jsonl(*ledger, text, &result, &error, 0);
    EXPECT_TRUE(s.is_ok()) << s.to_string() << " " << error.to_string();
    return result.head.seq;  // acknowledged
  }
  // A power loss now: the image of the directory, opened and verified.
  uint64_t power_loss(const std::string& name) {
    fs->image(dir.path("db"), dir.path(name));
    return recovered_head(dir.path(name));
  }
};

TEST(PowerLoss, EveryAcknowledgedSyncedAppendSurvives) {
  const std::vector<std::string> text = batches(6);
  Crashable run;
  run.open(/*sync=*/true);
  for (size_t i = 0; i < text.size(); ++i) {
    const uint64_t acknowledged = run.append(text[i]);
    ASSERT_EQ(acknowledged, (i + 1) * kBatch);
    // Power lost right after the acknowledgement: every acknowledged event is there.
    EXPECT_EQ(run.power_loss("image-" + std::to_string(i)), acknowledged) << "after batch " << i;
  }
}

TEST(PowerLoss, WithoutSyncOnlyASuffixOfWholeBatchesIsLost) {
  const std::vector<std::string> text = batches(6);
  Crashable run;
  run.open(/*sync=*/false);
  for (size_t i = 0; i < 3; ++i) run.append(text[i]);
  // Nothing was synced yet: a power loss loses every batch, and the ledger
  // still opens (empty) and verifies.
  EXPECT_EQ(run.power_loss("image-unsynced"), 0u);
  // A clean close writes the memtable out and syncs it; then three more
  // batches without sync.
  run.open(/*sync=*/false);
  for (size_t i = 3; i < 6; ++i) run.append(text[i]);
  EXPECT_EQ(run.ledger->head().seq, 6 * kBatch);
  const uint64_t head = run.power_loss("image-after-close");
  // What the close made durable (the first three batches) survives; what
  // came after may be lost, but only as whole batches from the end.
  EXPECT_GE(head, 3 * kBatch);
  EXPECT_LE(head, 6 * kBatch);
  EXPECT_EQ(head % kBatch, 0u);
}

}  // namespace
}  // namespace liql
