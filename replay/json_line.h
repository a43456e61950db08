#pragma once
// One SPEC §8 JSON line, written field by field: ids as integers, amounts as
// exact decimal strings in whole units (never through a double). Used by the
// generator and the importers, whose output `liqledger append` reads back.

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/int.h"

namespace liql {

class JsonLine {
 public:
  JsonLine(std::string_view type, uint64_t ts) {
    text_ = "{\"type\":\"";
    text_ += type;
    text_ += "\",\"ts\":" + std::to_string(ts);
  }
  JsonLine& id(std::string_view key, uint64_t value) {
    add_key(key);
    text_ += std::to_string(value);
    return *this;
  }
  // A decimal string in whole units (SPEC §8).
  JsonLine& amount(std::string_view key, const Int& units, unsigned decimals) {
    add_key(key);
    text_ += '"' + format_units(units, decimals) + '"';
    return *this;
  }
  // A string that needs no escaping (a symbol, a policy name, a mode).
  JsonLine& text(std::string_view key, std::string_view value) {
    add_key(key);
    text_ += '"';
    text_ += value;
    text_ += '"';
    return *this;
  }
  JsonLine& flag(std::string_view key, bool value) {
    add_key(key);
    text_ += value ? "true" : "false";
    return *this;
  }
  // A nested object written by the caller ({"init":"0.8",...}).
  JsonLine& raw(std::string_view key, std::string_view json) {
    add_key(key);
    text_ += json;
    return *this;
  }
  std::string done() { return text_ + "}"; }

 private:
  void add_key(std::string_view key) {
    text_ += ",\"";
    text_ += key;
    text_ += "\":";
  }
  std::string text_;
};

}  // namespace liql
