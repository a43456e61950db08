#pragma once
// Numbers for the benchmarks' hand-built states, from decimal text through the
// engine's own parser (a benchmark measures the engine; it does not check it).

#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/int.h"
#include "engine/state.h"

namespace liql::bench {

inline Int units(std::string_view text, unsigned decimals) {
  auto value = parse_units(text, decimals);
  if (!value) throw std::invalid_argument("bench: bad number " + std::string(text));
  return *value;
}
inline Int ratio(std::string_view text) { return units(text, 18); }  // WAD-scaled
inline Levels levels(std::string_view init, std::string_view target, std::string_view maint) {
  return Levels{ratio(init), ratio(target), ratio(maint)};
}

}  // namespace liql::bench
