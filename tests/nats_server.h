#pragma once
// A local NATS server with JetStream for the cluster tests: 127.0.0.1, a free
// port, a store directory of its own; stopped (SIGKILL) and removed when the
// object goes. Nothing outside the machine is contacted. Without a
// nats-server binary (scripts/setup installs it) the test fails: it is never
// skipped.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace liql::testing {

// Runs `command` through /bin/sh in the background ("exec" so that the pid is the command's).
inline pid_t spawn(const std::string& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string find_nats_server() {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"}) {
    const std::string path = std::string(dir) + "/nats-server";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

inline bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return open;
}

class NatsServer {
 public:
  // `store`: the JetStream store directory (created).
  explicit NatsServer(const std::string& store) : store_(store) { start(); }
  ~NatsServer() { stop(); }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  bool running() const { return pid_ > 0; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  // Starts the server (again, after stop(): the same store, a new port).
  void start() {
    const std::string binary = find_nats_server();
    if (binary.empty()) {
      ADD_FAILURE() << "nats-server is not installed (Debian package nats-server; scripts/setup installs it)";
      return;
    }
    std::filesystem::create_directories(store_);
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = free_port();
      pid_ = spawn(binary + " -js -a 127.0.0.1 -p " + std::to_string(port_) + " -sd " + store_ + " >>" + store_ +
                   "/server.log 2>&1");
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!port_open(port_) && std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken meanwhile
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (pid_ <= 0 || !port_open(port_)) ADD_FAILURE() << "nats-server did not start (see " << store_ << "/server.log)";
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string store_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace liql::testing
