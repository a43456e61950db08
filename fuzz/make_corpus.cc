// Writes the seed corpora of record_fuzz and snapshot_fuzz from JSON Lines
// files (scripts/fuzz does not run it; the corpora are in the repo):
//
//   make_corpus record OUT_DIR FILE.jsonl...     appends each file to a fresh
//       ledger in a scratch directory and dumps the raw value of every record
//       of column family `events` (exactly what Ledger::read decodes) to
//       OUT_DIR/<file stem>-<seq>.rec
//   make_corpus snapshot OUT_DIR FILE.jsonl...   the canonical state (what a
//       snapshot holds after its hash and counts) after every 4th event and
//       after the last, to OUT_DIR/<file stem>-<seq>.state, and the state
//       before genesis to OUT_DIR/empty-0.state

#include <rocksdb/db.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "replay/replay.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "make_corpus: %s\n", message.c_str());
  return 1;
}

uint64_t read_seq(std::string_view key) {
  uint64_t seq = 0;
  for (char c : key) seq = (seq << 8) | static_cast<uint8_t>(c);
  return seq;
}

std::string read_file(const std::filesystem::path& path, bool* ok) {
  std::ifstream file(path, std::ios::binary);
  *ok = static_cast<bool>(file);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

int snapshots(const std::filesystem::path& out_dir, const std::filesystem::path& input, const std::string& text,
              int* written) {
  liql::MemoryRun run;
  liql::InputError error;
  bool ok = liql::for_each_line(text, [&](std::string_view line, size_t number) {
    if (!run.add_line(line, number, &error)) return false;
    const liql::State& state = run.machine().state();
    if (state.seq % 4 == 0) {
      write_file(out_dir / (input.stem().string() + "-" + std::to_string(state.seq) + ".state"),
                 liql::encode_state(state));
      ++*written;
    }
    return true;
  });
  if (!ok) return fail(input.string() + ": " + error.to_string());
  const liql::State& state = run.machine().state();
  write_file(out_dir / (input.stem().string() + "-" + std::to_string(state.seq) + ".state"), liql::encode_state(state));
  ++*written;
  return 0;
}

int records(const std::filesystem::path& out_dir, const std::filesystem::path& input, const std::string& text,
            const std::filesystem::path& scratch, int* written) {
  std::filesystem::remove_all(scratch);
  {
    std::unique_ptr<liql::Ledger> ledger;
    if (liql::Status s = liql::Ledger::open(scratch.string(), liql::LedgerOptions{}, &ledger); !s.is_ok()) {
      return fail(s.to_string());
    }
    liql::AppendResult result;
    liql::InputError error;
    if (liql::Status s = liql::append_jsonl(*ledger, text, &result, &error, 0); !s.is_ok()) {
      return fail(input.string() + ": " + s.to_string() + " " + error.to_string());
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> families{
      {rocksdb::kDefaultColumnFamilyName, {}}, {"events", {}}, {"snapshots", {}}, {"meta", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), scratch.string(), families, &handles, &raw);
  if (!s.ok()) return fail(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      write_file(out_dir / (input.stem().string() + "-" + std::to_string(read_seq(it->key().ToStringView())) + ".rec"),
                 it->value().ToStringView());
      ++*written;
    }
    if (!it->status().ok()) return fail(it->status().ToString());
  }
  for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
  db.reset();
  std::filesystem::remove_all(scratch);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (argc < 4 || (mode != "record" && mode != "snapshot")) {
    return fail("usage: make_corpus record|snapshot OUT_DIR FILE.jsonl...");
  }
  const std::filesystem::path out_dir = argv[2];
  std::filesystem::create_directories(out_dir);
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / ("liql-corpus-" + std::to_string(::getpid()));
  int written = 0;
  if (mode == "snapshot") {  // the state before genesis
    write_file(out_dir / "empty-0.state", liql::encode_state(liql::State{}));
    ++written;
  }
  for (int i = 3; i < argc; ++i) {
    const std::filesystem::path input = argv[i];
    bool ok = false;
    const std::string text = read_file(input, &ok);
    if (!ok) return fail("cannot read " + input.string());
    const int status = mode == "record" ? records(out_dir, input, text, scratch, &written)
                                        : snapshots(out_dir, input, text, &written);
    if (status != 0) return status;
  }
  std::fprintf(stderr, "make_corpus: wrote %d %s inputs to %s\n", written, mode.c_str(), out_dir.c_str());
  return 0;
}
