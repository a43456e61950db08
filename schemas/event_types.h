#pragma once
// The JSON names of the event types (SPEC §4, §8) and the FlatBuffers union.

#include <optional>
#include <string_view>

#include "liqledger_generated.h"

namespace liql {

std::string_view event_type_name(fb::Body body);
std::optional<fb::Body> event_type_from_name(std::string_view name);

}  // namespace liql
