#pragma once
// A ledger directory opened with plain RocksDB, past the Ledger's checks:
// what tests use to tamper with, forge or flip the bytes on disk. The
// Ledger must be closed while one is open (one writer per directory).

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

namespace liql::testing {

class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    const std::vector<rocksdb::ColumnFamilyDescriptor> families{
        {rocksdb::kDefaultColumnFamilyName, {}}, {"events", {}}, {"snapshots", {}}, {"meta", {}}};
    rocksdb::DB* db = nullptr;
    status_ = rocksdb::DB::Open(rocksdb::Options(), path, families, &handles_, &db);
    db_.reset(db);
  }
  ~RawDb() {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  const rocksdb::Status& status() const { return status_; }
  rocksdb::DB* operator->() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* events() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* snapshots() const { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* meta() const { return handles_[3]; }

 private:
  rocksdb::Status status_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace liql::testing
