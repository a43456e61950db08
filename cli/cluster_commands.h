#pragma once
// The cluster subcommands (publish, follow, audit-plan, audit-worker,
// audit-join: docs/SCALE.md), registered on the liqledger command line and
// run over cluster/. Kept apart from main.cc's own commands.

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>

namespace liql {

class ClusterCommands {
 public:
  explicit ClusterCommands(CLI::App& app);
  ~ClusterCommands();
  // After the parse: the exit code of the cluster subcommand that was given, or nothing.
  std::optional<int> run();

  struct Flags;  // the flags of all five (cluster_commands.cc)

 private:
  std::unique_ptr<Flags> flags_;
};

}  // namespace liql
