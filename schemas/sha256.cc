#include "schemas/sha256.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 but are the direct
// path to the block function: for the short messages of the state
// commitment (one node is under 512 bytes) EVP's dispatch costs as much as
// the hashing itself.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "schemas/assert.h"

namespace liql {
namespace {

const EVP_MD* sha256_md() {
  // Fetched once: EVP_MD_fetch per message would dominate the cost of hashing
  // a 200-byte record.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  // Without SHA-256 nothing can be checked or hashed: a broken environment,
  // not an error any caller could handle.
  LIQL_ASSERT(context_ != nullptr, "OpenSSL allocates a digest context");
  LIQL_ASSERT(EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_), sha256_md(), nullptr) == 1,
              "OpenSSL provides SHA-256");
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void Sha256::update(const void* data, size_t size) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), data, size);
}

Hash Sha256::finish() {
  Hash digest{};
  unsigned int length = 0;
  auto* context = static_cast<EVP_MD_CTX*>(context_);
  EVP_DigestFinal_ex(context, digest.data(), &length);
  EVP_DigestInit_ex(context, sha256_md(), nullptr);
  return digest;
}

Hash sha256(std::string_view bytes) {
  Hash digest{};
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, bytes.data(), bytes.size());
  SHA256_Final(digest.data(), &context);
  return digest;
}

Hash chain_next(const Hash& previous, std::span<const uint8_t> event_bytes) {
  thread_local Sha256 hasher;
  hasher.update(previous.data(), previous.size());
  hasher.update(event_bytes.data(), event_bytes.size());
  return hasher.finish();
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xf]);
  }
  return out;
}

}  // namespace liql
