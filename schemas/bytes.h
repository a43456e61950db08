// Big-endian unsigned integers in byte strings: the one place every layer
// (the log's keys and meta, the state encoding, the stream's message headers,
// the replay cache) writes and reads them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "schemas/assert.h"

namespace liql {

// Appends the low `width` bytes of value, most significant first.
// REQUIRES width ≤ 8 (LIQL_ASSERT).
inline void append_be(std::string& out, uint64_t value, size_t width) {
  LIQL_ASSERT(width <= 8, "a big-endian field is at most 8 bytes");
  char bytes[8];
  for (size_t i = 0; i < width; ++i) bytes[i] = static_cast<char>(value >> (8 * (width - 1 - i)));
  out.append(bytes, width);
}

inline std::string be_bytes(uint64_t value, size_t width) {
  std::string out;
  out.reserve(width);
  append_be(out, value, width);
  return out;
}

// The first `width` bytes of in as a big-endian number. REQUIRES in.size() ≥ width (and for
// load_be32 ≥ 4, load_be64 ≥ 8; LIQL_ASSERT): callers check the length first.
inline uint64_t load_be(std::string_view in, size_t width) {
  LIQL_ASSERT(in.size() >= width, "a big-endian field is read only after its length was checked");
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}

inline uint32_t load_be32(std::string_view in) { return static_cast<uint32_t>(load_be(in, 4)); }
inline uint64_t load_be64(std::string_view in) { return load_be(in, 8); }

// Exactly `width` bytes: false (and *value untouched) when the size differs.
inline bool parse_be(std::string_view bytes, size_t width, uint64_t* value) {
  if (bytes.size() != width) return false;
  *value = load_be(bytes, width);
  return true;
}

}  // namespace liql
