#pragma once
// Runs the liqledger binary (LIQL_CLI_PATH, set by tests/CMakeLists.txt)
// through the shell, for the tests that check command lines end to end
// (cli_test, whatif_test, risk_test).

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace liql::testing {

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout
};

// Runs `liqledger ARGUMENTS`; stderr goes to `err_path` when given, else nowhere.
inline CliRun cli(const std::string& arguments, const std::string& err_path = "") {
  const std::string command =
      std::string(LIQL_CLI_PATH) + " " + arguments + (err_path.empty() ? " 2>/dev/null" : " 2>" + err_path);
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace liql::testing
