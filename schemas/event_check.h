#pragma once
// Structural check of one Event read back from the log or built at the input
// boundary: a known body type, every required field present, every number in
// canonical decimal form, every symbol well-formed UTF-8, a price's
// publish_ts not after the event's ts (SPEC §3). What the numbers mean is the
// engine's business.

#include <string>
#include <string_view>

#include "liqledger_generated.h"

namespace liql {

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). Symbols must be: export and the views write them into JSON.
bool is_utf8(std::string_view text);

// Returns true when well formed; otherwise sets *field and *error.
bool check_event(const fb::Event& event, std::string* field, std::string* error);

// Verifies `size` bytes as an Event buffer (FlatBuffers verifier) and checks it.
// REQUIRES data is 8-byte aligned.
const fb::Event* verify_event_buffer(const uint8_t* data, size_t size, std::string* field, std::string* error);

}  // namespace liql
