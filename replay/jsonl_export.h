#pragma once
// Event → one JSON Lines object (SPEC §8), the inverse of the importer:
// importing what this writes gives the same Event bytes, so the same chain.

#include <string>

#include "liqledger_generated.h"

namespace liql {

// One line, without the trailing newline. Keys: type, ts, then the event's
// fields in schema order; absent optional fields are left out. REQUIRES the
// event passed check_event (every event of a log did): its symbols are UTF-8.
std::string event_to_json(const fb::Event& event);

}  // namespace liql
