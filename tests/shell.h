#pragma once
// Runs a command line through the shell and collects its stdout.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace liql::testing {

struct ShellRun {
  int exit_code = -1;  // -1: not started, or ended by a signal
  std::string out;     // stdout (redirect stderr in the command to keep it)
};

inline ShellRun run_shell(const std::string& command) {
  ShellRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace liql::testing
