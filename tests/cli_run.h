#pragma once
// Runs the liqledger binary (LIQL_CLI_PATH, set by tests/CMakeLists.txt)
// through the shell, for the tests that check command lines end to end
// (cli_test, whatif_test, risk_test).

#include <string>
#include <vector>

#include "tests/shell.h"
#include "tests/test_dirs.h"

namespace liql::testing {

using CliRun = ShellRun;

// Runs `liqledger ARGUMENTS`; stderr goes to `err_path` when given, else nowhere.
inline CliRun cli(const std::string& arguments, const std::string& err_path = "") {
  return run_shell(std::string(LIQL_CLI_PATH) + " " + arguments +
                   (err_path.empty() ? " 2>/dev/null" : " 2>" + err_path));
}

}  // namespace liql::testing
