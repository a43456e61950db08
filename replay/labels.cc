#include "replay/labels.h"

#include "replay/replay.h"

namespace liql {

bool AccountLabels::parse(std::string_view csv, AccountLabels* labels, std::string* error) {
  labels->map_.clear();
  bool ok = true;
  for_each_line(csv, [&](std::string_view line, size_t number) {
    if (line.empty() || (number == 1 && line == "account,address")) return true;
    const size_t comma = line.find(',');
    uint64_t id = 0;
    bool digits = comma != std::string_view::npos && comma > 0 && comma <= 20;
    for (size_t i = 0; digits && i < comma; ++i) {
      const uint64_t digit = static_cast<uint64_t>(line[i] - '0');
      digits = line[i] >= '0' && line[i] <= '9' && id <= (UINT64_MAX - digit) / 10;
      id = id * 10 + digit;
    }
    const std::string_view label = digits ? line.substr(comma + 1) : std::string_view();
    if (!digits || label.empty() || label.find_first_of(",\"\\") != std::string_view::npos) {
      *error = "line " + std::to_string(number) + ": expected account,address";
      return ok = false;
    }
    labels->map_[id] = std::string(label);
    return true;
  });
  return ok;
}

const std::string* AccountLabels::find(AccountId id) const {
  const auto it = map_.find(id);
  return it == map_.end() ? nullptr : &it->second;
}

std::string AccountLabels::name(AccountId id) const {
  const std::string* label = find(id);
  return label ? *label : std::to_string(id);
}

std::string accounts_csv(const std::vector<std::string>& addresses) {
  std::string out = "account,address\n";
  for (size_t i = 0; i < addresses.size(); ++i) out += std::to_string(i + 1) + "," + addresses[i] + "\n";
  return out;
}

}  // namespace liql
