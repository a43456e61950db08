#include "replay/json_fields.h"

namespace liql {

void refuse(std::string field, std::string message) { throw Refusal{std::move(field), std::move(message)}; }

uint64_t unsigned_value(const nlohmann::json& value, const std::string& name, uint64_t max) {
  if (!value.is_number_integer()) {
    refuse(name, value.is_number() ? "out of range (an integer from 0 to " + std::to_string(max) + ")"
                                   : "expected an integer");
  }
  if (value.is_number_unsigned()) {
    const uint64_t number = value.get<uint64_t>();
    if (number <= max) return number;
  }
  refuse(name, "out of range (an integer from 0 to " + std::to_string(max) + ")");
}

bool parse_json_object(std::string_view line, size_t line_number, nlohmann::json* object, InputError* error) {
  try {
    *object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number beyond a double ("1e999").
    *error = InputError{line_number, "", std::string("malformed JSON: ") + e.what()};
    return false;
  }
  if (!object->is_object()) {
    *error = InputError{line_number, "", "expected a JSON object"};
    return false;
  }
  return true;
}

}  // namespace liql
