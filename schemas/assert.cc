#include "schemas/assert.h"

#include <cstdio>
#include <cstdlib>

namespace liql {

void assertion_failed(const char* condition, const char* what, const char* file, int line) {
  std::fprintf(stderr, "liqledger: broken invariant at %s:%d: %s (%s)\n", file, line, condition, what);
  std::fflush(stderr);
  std::abort();
}

}  // namespace liql
