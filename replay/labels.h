#pragma once
// Account labels: the addresses an importer mapped to account ids
// (`import aave --accounts MAP.csv`), printed by `audit`, `account` and
// `risk --labels MAP.csv` beside or instead of the ids.
//
// The file is CSV, "account,address" then one line per account, ids ascending.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/state.h"

namespace liql {

class AccountLabels {
 public:
  // False with a message naming the line on a malformed file.
  static bool parse(std::string_view csv, AccountLabels* labels, std::string* error);
  bool empty() const { return map_.empty(); }
  const std::string* find(AccountId id) const;
  // The label, or the id in decimal when the account has none.
  std::string name(AccountId id) const;

 private:
  std::map<AccountId, std::string> map_;
};

// The file for ids 1…n, addresses[i] being the label of account i + 1.
std::string accounts_csv(const std::vector<std::string>& addresses);

}  // namespace liql
