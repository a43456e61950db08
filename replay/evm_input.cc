#include "replay/evm_input.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "replay/replay.h"

namespace liql {
namespace {

using Json = nlohmann::json;

bool refuse(ImportError* error, const std::vector<ImportInput>& inputs, uint32_t file, size_t line,
            std::string field, std::string message) {
  error->file = inputs[file].name;
  error->error = InputError{line, std::move(field), std::move(message)};
  return false;
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Unix seconds, or "YYYY-MM-DD[ T]HH:MM:SS[.fraction][ UTC|Z|+00:00]" (UTC).
std::optional<uint64_t> parse_block_time(std::string_view text) {
  if (auto seconds = parse_u64(text)) return seconds;
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || (text[10] != ' ' && text[10] != 'T') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  auto field = [&](size_t at, size_t n) { return parse_u64(text.substr(at, n)); };
  const auto y = field(0, 4), mo = field(5, 2), d = field(8, 2), h = field(11, 2), mi = field(14, 2),
             s = field(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *y < 1970 || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 ||
      *mi > 59 || *s > 59) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    rest.remove_prefix(n);
  }
  if (!(rest.empty() || rest == " UTC" || rest == "Z" || rest == "+00:00" || rest == " +00:00")) return std::nullopt;
  const int64_t days = days_from_civil(static_cast<int64_t>(*y), static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return static_cast<uint64_t>(days) * 86400 + *h * 3600 + *mi * 60 + *s;
}

// ---- JSON Lines ------------------------------------------------------------------

// The fast reading: the common line scanned in place, every text a view into
// the input, no JSON tree and no allocation per argument. It accepts a JSON
// object of block, log_index, timestamp (unsigned integers), address, event
// (strings), args (an object of strings, integers, booleans and nulls) and
// other scalar keys, with no escapes in any string and no name twice. Anything
// else returns false and the line is read again as a tree (below), which
// names what is wrong; both readings give the same EvmLog for a line both accept.
class LineScanner {
 public:
  LineScanner(std::string_view text, EvmLog* log) : p_(text.data()), end_(text.data() + text.size()), log_(log) {}

  bool scan(std::string_view* address) {
    unsigned seen = 0;
    if (!take('{')) return false;
    if (take('}')) return false;  // an empty object: the tree reading says what is missing
    do {
      std::string_view key;
      if (!string(&key) || !take(':')) return false;
      if (key == "args") {
        if ((seen & kArgs) || !args()) return false;
        seen |= kArgs;
      } else if (key == "block" || key == "log_index" || key == "timestamp") {
        const unsigned bit = key[0] == 'b' ? kBlock : key[0] == 'l' ? kIndex : kTime;
        uint64_t* field = key[0] == 'b' ? &log_->block : key[0] == 'l' ? &log_->log_index : &log_->timestamp;
        if ((seen & bit) || !unsigned_number(field)) return false;
        seen |= bit;
      } else if (key == "address" || key == "event") {
        const unsigned bit = key[0] == 'a' ? kAddress : kEvent;
        if ((seen & bit) || !string(key[0] == 'a' ? address : &log_->event)) return false;
        seen |= bit;
      } else {
        EvmLog::Arg ignored;
        if (!scalar(&ignored)) return false;  // another key, ignored as by the tree reading
      }
    } while (take(','));
    if (!take('}')) return false;
    skip_space();
    return p_ == end_ && seen == kAll;
  }

 private:
  enum : unsigned { kBlock = 1, kIndex = 2, kTime = 4, kAddress = 8, kEvent = 16, kArgs = 32, kAll = 63 };

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) ++p_;
  }
  bool take(char c) {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  // A string without escapes or control characters.
  bool string(std::string_view* out) {
    if (!take('"')) return false;
    const char* start = p_;
    while (p_ != end_ && *p_ != '"') {
      if (*p_ == '\\' || static_cast<unsigned char>(*p_) < 0x20) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    *out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }
  // A JSON integer (-?(0|[1-9][0-9]*)); a fraction or an exponent gives up.
  bool integer(std::string_view* out) {
    skip_space();
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    const char* digits = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ == digits || (*digits == '0' && p_ - digits > 1)) return false;
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    *out = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }
  bool unsigned_number(uint64_t* out) {
    std::string_view digits;
    if (!integer(&digits) || digits[0] == '-') return false;
    const auto value = parse_u64(digits);
    if (!value) return false;
    *out = *value;
    return true;
  }
  bool scalar(EvmLog::Arg* arg) {
    skip_space();
    if (p_ == end_) return false;
    switch (*p_) {
      case '"':
        arg->kind = EvmLog::Kind::String;
        return string(&arg->text);
      case 't':
        arg->kind = EvmLog::Kind::Bool;
        arg->text = "true";
        return literal("true");
      case 'f':
        arg->kind = EvmLog::Kind::Bool;
        arg->text = "false";
        return literal("false");
      case 'n':
        arg->kind = EvmLog::Kind::Other;
        arg->text = "";
        return literal("null");
      default:
        arg->kind = EvmLog::Kind::Number;
        // "-0" reads as the number 0 in a tree: leave it to the tree reading.
        return integer(&arg->text) && arg->text != "-0";
    }
  }
  bool args() {
    if (!take('{')) return false;
    if (take('}')) return true;
    do {
      EvmLog::Arg arg;
      if (!string(&arg.name) || !take(':') || !scalar(&arg)) return false;
      for (const EvmLog::Arg& other : log_->args) {
        if (other.name == arg.name) return false;  // a name twice: the tree reading decides
      }
      log_->args.push_back(arg);
    } while (take(','));
    return take('}');
  }

  const char* p_;
  const char* end_;
  EvmLog* log_;
};

EvmLog::Arg json_arg(std::string_view name, const Json& value, EvmLogs* store) {
  EvmLog::Arg arg{name, "", EvmLog::Kind::Other};
  if (value.is_string()) {
    arg.text = store->keep(value.get<std::string>());
    arg.kind = EvmLog::Kind::String;
  } else if (value.is_boolean()) {
    arg.text = value.get<bool>() ? "true" : "false";
    arg.kind = EvmLog::Kind::Bool;
  } else if (value.is_number_integer()) {
    arg.text = store->keep(value.dump());
    arg.kind = EvmLog::Kind::Number;
  }
  return arg;
}

bool read_jsonl(const std::vector<ImportInput>& inputs, uint32_t file, std::vector<EvmLog>* logs, EvmLogs* store,
                ImportError* error) {
  bool ok = true;
  for_each_line(inputs[file].text, [&](std::string_view text, size_t line) {
    if (text.find_first_not_of(" \t") == std::string_view::npos) return true;
    EvmLog fast;
    fast.file = file;
    fast.line = line;
    std::string_view raw_address;
    if (LineScanner(text, &fast).scan(&raw_address)) {
      if (auto address = normalize_address(raw_address)) {
        fast.address = std::move(*address);
        logs->push_back(std::move(fast));
        return true;
      }
    }
    auto no = [&](std::string field, std::string message) {
      ok = refuse(error, inputs, file, line, std::move(field), std::move(message));
      return false;
    };
    const Json json = Json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return no("", "not a JSON object");
    EvmLog log;
    log.file = file;
    log.line = line;
    const auto address = json.find("address");
    if (address == json.end() || !address->is_string()) return no("address", "missing, or not a string");
    const auto normalized = normalize_address(address->get<std::string>());
    if (!normalized) return no("address", "not an address (0x and 40 hex digits)");
    log.address = *normalized;
    const auto event = json.find("event");
    if (event == json.end()) {
      // A getRoundData dump: the round's fields at the top level, beside the feed's address.
      if (!json.contains("answeredInRound")) return no("event", "missing (and not a getRoundData row)");
      log.event = "getRoundData";
      for (const auto& [key, value] : json.items()) {
        if (key != "address") log.args.push_back(json_arg(store->keep(key), value, store));
      }
      logs->push_back(std::move(log));
      return true;
    }
    if (!event->is_string()) return no("event", "not a string");
    log.event = store->keep(event->get<std::string>());
    for (const char* key : {"block", "log_index", "timestamp"}) {
      const auto value = json.find(key);
      if (value == json.end() || !value->is_number_unsigned()) return no(key, "missing, or not a non-negative integer");
      const uint64_t number = value->get<uint64_t>();
      (key[0] == 'b' ? log.block : key[0] == 'l' ? log.log_index : log.timestamp) = number;
    }
    const auto args = json.find("args");
    if (args == json.end() || !args->is_object()) return no("args", "missing, or not an object");
    for (const auto& [key, value] : args->items()) log.args.push_back(json_arg(store->keep(key), value, store));
    logs->push_back(std::move(log));
    return true;
  });
  return ok;
}

// ---- CSV -------------------------------------------------------------------------

// RFC 4180 records: fields split by ',', "quoted" fields with "" inside may
// hold commas and line breaks. Each record keeps the line it starts on.
struct CsvRecord {
  size_t line = 0;
  std::vector<std::string> cells;
};

bool split_csv(std::string_view text, std::vector<CsvRecord>* records, size_t* bad_line) {
  size_t line = 1;
  size_t i = 0;
  while (i < text.size()) {
    CsvRecord record{line, {}};
    std::string cell;
    bool quoted = false, in_quotes = false, done = false;
    while (!done) {
      if (i == text.size()) {
        if (in_quotes) {
          *bad_line = record.line;
          return false;
        }
        done = true;
        break;
      }
      const char c = text[i++];
      if (in_quotes) {
        if (c == '"') {
          if (i < text.size() && text[i] == '"') {
            cell += '"';
            ++i;
          } else {
            in_quotes = false;
          }
        } else {
          if (c == '\n') ++line;
          cell += c;
        }
      } else if (c == '"' && cell.empty() && !quoted) {
        in_quotes = quoted = true;
      } else if (c == ',') {
        record.cells.push_back(std::move(cell));
        cell.clear();
        quoted = false;
      } else if (c == '\n') {
        ++line;
        done = true;
      } else if (c != '\r') {
        cell += c;
      }
    }
    record.cells.push_back(std::move(cell));
    const bool blank = record.cells.size() == 1 && record.cells[0].empty();
    if (!blank) records->push_back(std::move(record));
  }
  return true;
}

// The event of a CSV table from its file name: the part after the last
// "_evt_", else the stem ("Pool_evt_Supply.csv" and "Supply.csv" → "Supply").
std::string event_from_file_name(const std::string& path) {
  const std::string stem = std::filesystem::path(path).stem().string();
  const size_t evt = stem.rfind("_evt_");
  return evt == std::string::npos ? stem : stem.substr(evt + 5);
}

bool read_csv(const std::vector<ImportInput>& inputs, uint32_t file, std::vector<EvmLog>* logs, EvmLogs* store,
              ImportError* error) {
  std::vector<CsvRecord> records;
  size_t bad_line = 0;
  if (!split_csv(inputs[file].text, &records, &bad_line)) {
    return refuse(error, inputs, file, bad_line, "", "a quoted CSV field is not closed");
  }
  if (records.empty()) return true;
  const std::vector<std::string>& header = records.front().cells;
  auto column = [&](std::string_view name) -> int {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  const bool rounds = column("answeredInRound") >= 0;
  const int event_column = column("event");
  const int address_column = column(rounds ? "address" : "contract_address");
  const char* address_name = rounds ? "address" : "contract_address";
  if (address_column < 0) return refuse(error, inputs, file, records.front().line, address_name, "missing column");
  const int block = column("evt_block_number"), index = column("evt_index"), time = column("evt_block_time");
  if (!rounds) {
    for (auto [c, name] : {std::pair{block, "evt_block_number"}, {index, "evt_index"}, {time, "evt_block_time"}}) {
      if (c < 0) return refuse(error, inputs, file, records.front().line, name, "missing column");
    }
  }
  const std::string_view file_event = store->keep(rounds ? "getRoundData" : event_from_file_name(inputs[file].name));
  std::vector<std::string_view> names;  // the header's cells, kept
  for (const std::string& name : header) names.push_back(store->keep(name));
  for (size_t r = 1; r < records.size(); ++r) {
    CsvRecord& record = records[r];
    auto no = [&](std::string field, std::string message) {
      return refuse(error, inputs, file, record.line, std::move(field), std::move(message));
    };
    if (record.cells.size() != header.size()) {
      return no("", "has " + std::to_string(record.cells.size()) + " fields, the header " +
                        std::to_string(header.size()));
    }
    EvmLog log;
    log.file = file;
    log.line = record.line;
    log.event = event_column >= 0 ? store->keep(record.cells[event_column]) : file_event;
    const auto normalized = normalize_address(record.cells[address_column]);
    if (!normalized) return no(address_name, "not an address (0x and 40 hex digits)");
    log.address = *normalized;
    if (!rounds) {
      const auto b = parse_u64(record.cells[block]), k = parse_u64(record.cells[index]);
      const auto t = parse_block_time(record.cells[time]);
      if (!b) return no("evt_block_number", "not a non-negative integer");
      if (!k) return no("evt_index", "not a non-negative integer");
      if (!t) return no("evt_block_time", "not unix seconds or YYYY-MM-DD HH:MM:SS (UTC)");
      log.block = *b;
      log.log_index = *k;
      log.timestamp = *t;
    }
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string& name = header[c];
      if (static_cast<int>(c) == event_column || static_cast<int>(c) == address_column || name.rfind("evt_", 0) == 0) {
        continue;
      }
      log.args.push_back({names[c], store->keep(std::move(record.cells[c])), EvmLog::Kind::Csv});
    }
    logs->push_back(std::move(log));
  }
  return true;
}

bool before(const EvmLog& a, const EvmLog& b) {
  return a.block != b.block ? a.block < b.block : a.log_index < b.log_index;
}

// 'text', for a message.
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.append(1, '\'').append(text).append(1, '\'');
  return out;
}

}  // namespace

const EvmLog::Arg* EvmLog::find(std::string_view name) const {
  for (const Arg& arg : args) {
    if (arg.name == name) return &arg;
  }
  return nullptr;
}

std::optional<std::string> normalize_address(std::string_view text) {
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return std::nullopt;
  std::string out = "0x";
  for (char c : text.substr(2)) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    out += c;
  }
  return out;
}

std::optional<Int> parse_uint256(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  while (text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  // 2^256 − 1 has 78 digits: compare the text itself, then build the value
  // from 19-digit chunks (no division per digit; half the import's input is
  // 27-digit ray indices).
  static constexpr std::string_view kMax =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  if (text.size() > kMax.size() || (text.size() == kMax.size() && text > kMax)) return std::nullopt;
  auto chunk = [](std::string_view digits) {
    uint64_t value = 0;
    for (char c : digits) value = value * 10 + static_cast<uint64_t>(c - '0');
    return value;
  };
  static const Int kChunk = Int(10'000'000'000'000'000'000ULL);  // 10^19
  size_t head = text.size() % 19;
  if (head == 0) head = 19;
  Int value = chunk(text.substr(0, head));
  for (size_t at = head; at < text.size(); at += 19) value = value * kChunk + chunk(text.substr(at, 19));
  return value;
}

bool ArgReader::fail(std::string_view field, const std::string& message) {
  if (ok_) {
    error_->file = inputs_[log_.file].name;
    error_->error = InputError{log_.line, std::string(field), std::string(log_.event) + ": " + message};
  }
  ok_ = false;
  return false;
}

const EvmLog::Arg* ArgReader::need(std::string_view name) {
  const EvmLog::Arg* arg = log_.find(name);
  if (arg == nullptr) fail(name, "missing argument");
  return ok_ ? arg : nullptr;
}

// An integer argument is decimal text: a JSON string or a CSV cell.
const EvmLog::Arg* ArgReader::decimal_text(std::string_view name, std::string_view type) {
  const EvmLog::Arg* arg = need(name);
  if (arg == nullptr) return nullptr;
  if (arg->kind != EvmLog::Kind::String && arg->kind != EvmLog::Kind::Csv) {
    fail(name, "expected " + std::string(type) + " as a decimal string");
    return nullptr;
  }
  return arg;
}

Int ArgReader::uint256(std::string_view name) {
  const EvmLog::Arg* arg = decimal_text(name, "a uint256");
  if (arg == nullptr) return 0;
  const auto value = parse_uint256(arg->text);
  if (!value) fail(name, quoted(arg->text) + " is not a uint256 (decimal digits, below 2^256)");
  return value.value_or(0);
}

Int ArgReader::int256(std::string_view name) {
  const EvmLog::Arg* arg = decimal_text(name, "an int256");
  if (arg == nullptr) return 0;
  const bool negative = !arg->text.empty() && arg->text[0] == '-';
  const auto magnitude = parse_uint256(std::string_view(arg->text).substr(negative ? 1 : 0));
  if (!magnitude || *magnitude > (negative ? Int(1) << 255 : (Int(1) << 255) - 1)) {
    fail(name, quoted(arg->text) + " is not an int256");
    return 0;
  }
  return negative ? Int(-*magnitude) : *magnitude;
}

std::string ArgReader::address(std::string_view name) {
  const EvmLog::Arg* arg = need(name);
  if (arg == nullptr) return {};
  const auto value = arg->kind == EvmLog::Kind::String || arg->kind == EvmLog::Kind::Csv
                         ? normalize_address(arg->text)
                         : std::nullopt;
  if (!value) fail(name, "expected an address (0x and 40 hex digits)");
  return value.value_or("");
}

bool ArgReader::boolean(std::string_view name, bool fallback) {
  const EvmLog::Arg* arg = log_.find(name);
  if (arg == nullptr) return fallback;
  const bool typed = arg->kind == EvmLog::Kind::Bool || arg->kind == EvmLog::Kind::Csv;
  if (typed && (arg->text == "true" || arg->text == "1")) return true;
  if (typed && (arg->text == "false" || arg->text == "0")) return false;
  fail(name, "expected a boolean");
  return false;
}

bool read_evm_logs(const std::vector<ImportInput>& inputs, EvmLogs* out, ImportError* error) {
  out->logs.clear();
  std::vector<EvmLog>* logs = &out->logs;
  std::vector<std::vector<EvmLog>> files(inputs.size());
  for (uint32_t f = 0; f < inputs.size(); ++f) {
    const std::string& text = inputs[f].text;
    const size_t first = text.find_first_not_of(" \t\r\n");
    const bool json = first != std::string::npos && text[first] == '{';
    if (!(json ? read_jsonl(inputs, f, &files[f], out, error) : read_csv(inputs, f, &files[f], out, error))) {
      return false;
    }
    const std::vector<EvmLog>& read = files[f];
    for (size_t i = 1; i < read.size(); ++i) {
      if (read[i].rounds() || read[i - 1].rounds() || before(read[i - 1], read[i])) continue;
      return refuse(error, inputs, f, read[i].line, "log_index",
                    "out of order: block " + std::to_string(read[i].block) + " log " +
                        std::to_string(read[i].log_index) + " after block " + std::to_string(read[i - 1].block) +
                        " log " + std::to_string(read[i - 1].log_index) +
                        " (lines must be ordered by block, then log_index)");
    }
  }
  if (files.size() == 1) {  // nothing to merge
    *logs = std::move(files.front());
    return true;
  }
  // k-way merge by (block, log_index); a key seen in two files is a duplicate.
  std::vector<size_t> next(inputs.size(), 0);
  while (true) {
    int pick = -1;
    for (size_t f = 0; f < files.size(); ++f) {
      if (next[f] == files[f].size()) continue;
      if (pick < 0 || before(files[f][next[f]], files[pick][next[pick]])) pick = static_cast<int>(f);
    }
    if (pick < 0) break;
    EvmLog& log = files[pick][next[pick]++];
    const EvmLog* last = logs->empty() ? nullptr : &logs->back();
    if (last != nullptr && !log.rounds() && !last->rounds() && !before(*last, log)) {
      return refuse(error, inputs, log.file, log.line, "log_index",
                    "block " + std::to_string(log.block) + " log " + std::to_string(log.log_index) +
                        " appears twice (also " + inputs[last->file].name + " line " + std::to_string(last->line) +
                        ")");
    }
    logs->push_back(std::move(log));
  }
  return true;
}

}  // namespace liql
