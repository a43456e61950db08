#pragma once
// SHA-256 through OpenSSL's libcrypto (uses SHA-NI where the CPU has it).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace liql {

using Hash = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();  // LIQL_ASSERTs that OpenSSL gives a SHA-256 context; nothing here fails otherwise
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // Returns the digest and resets the context for the next message.
  Hash finish();

 private:
  void* context_;  // EVP_MD_CTX
};

Hash sha256(std::string_view bytes);
// chain(seq) = SHA-256(chain(seq - 1) || event_bytes).
Hash chain_next(const Hash& previous, std::span<const uint8_t> event_bytes);
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace liql
