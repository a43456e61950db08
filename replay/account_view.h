#pragma once
// One account at a point of the log: balances, positions, and its health at
// every level with the prices in force (SPEC §3).

#include <string>

#include "engine/state.h"

namespace liql {

// REQUIRES state.account(id) != nullptr.
std::string account_json(const State& state, AccountId id);
std::string account_text(const State& state, AccountId id);

}  // namespace liql
