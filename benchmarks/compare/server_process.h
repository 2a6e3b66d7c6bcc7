// ServerProcess: an echo server binary started for one workload and stopped
// after it.
#ifndef GAIO_BENCHMARKS_COMPARE_SERVER_PROCESS_H_
#define GAIO_BENCHMARKS_COMPARE_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace gaio_bench {

class ServerProcess {
 public:
  // Runs `binary` (a runfiles-relative path, found next to `argv0`) with
  // `args` plus --port=0, and waits (at most 10 s) for the line that names
  // its port ("... 127.0.0.1:PORT"). A `binary` ending in ".js" is run as
  // `node SCRIPT ...`.
  static absl::StatusOr<ServerProcess> Start(const char* argv0, const std::string& binary,
                                             const std::vector<std::string>& args);
  ServerProcess(ServerProcess&& o) noexcept : pid_(o.pid_), port_(o.port_), out_fd_(o.out_fd_) {
    o.pid_ = -1;
    o.out_fd_ = -1;
  }
  ~ServerProcess() { Stop(); }

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // SIGTERM, then SIGKILL after 2 s; reaps the process.
  void Stop();

 private:
  ServerProcess(pid_t pid, int port, int out_fd) : pid_(pid), port_(port), out_fd_(out_fd) {}
  pid_t pid_;
  int port_;
  int out_fd_;
};

// Whether the runfile `relative` exists (a server not built here is skipped).
bool BinaryPresent(const char* argv0, const std::string& relative);

// A self-signed P-256 certificate for 127.0.0.1 and its key, made once per
// process with the openssl CLI in a temporary directory (removed at exit):
// {cert, key} paths.
absl::StatusOr<std::pair<std::string, std::string>> TestCertificate();

// Where runfiles live for a binary started as `argv0`.
std::string RunfilesPath(const char* argv0, const std::string& relative);

}  // namespace gaio_bench

#endif  // GAIO_BENCHMARKS_COMPARE_SERVER_PROCESS_H_
