#pragma once
// One account at a point of the log: balances, positions, and its health at
// every level with the prices in force (SPEC §3).

#include <string>

#include "engine/state.h"
#include "replay/labels.h"

namespace liql {

// REQUIRES state.account(id) != nullptr. With a label for the account, the
// JSON gains "address" and the text names it. Nothing fails: health beyond
// Int (a huge balance at a huge price) is shown as not computable.
std::string account_json(const State& state, AccountId id, const AccountLabels& labels = {});
std::string account_text(const State& state, AccountId id, const AccountLabels& labels = {});

}  // namespace liql
