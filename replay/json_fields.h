#pragma once
// Reading one SPEC §8 JSON line, for the JSON Lines importer and the price-line
// reader: the line parsed as an object, and its integer fields checked. A
// field reader refuses by throwing a Refusal that names the field; the caller
// catches it where it makes the line's InputError.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "replay/jsonl_import.h"

namespace liql {

struct Refusal {
  std::string field;
  std::string message;
};

[[noreturn]] void refuse(std::string field, std::string message);

// An integer in [0, max]; any other JSON value is refused, naming `name`.
uint64_t unsigned_value(const nlohmann::json& value, const std::string& name, uint64_t max);

// The line as a JSON object; false with *error (the line, no field) when it is
// malformed JSON or not an object.
bool parse_json_object(std::string_view line, size_t line_number, nlohmann::json* object, InputError* error);

}  // namespace liql
