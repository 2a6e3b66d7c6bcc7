#include "benchmarks/compare/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gaio_bench {

std::string RunfilesPath(const char* argv0, const std::string& relative) {
  struct stat st;
  std::vector<std::string> candidates;
  if (const char* dir = std::getenv("RUNFILES_DIR")) {
    candidates.push_back(absl::StrCat(dir, "/gaio_cpp/", relative));
  }
  candidates.push_back(absl::StrCat(argv0, ".runfiles/gaio_cpp/", relative));
  candidates.push_back(relative);  // `bazel run` starts us in the runfiles tree
  for (const std::string& c : candidates) {
    if (stat(c.c_str(), &st) == 0) return c;
  }
  return relative;
}

bool BinaryPresent(const char* argv0, const std::string& relative) {
  struct stat st;
  return stat(RunfilesPath(argv0, relative).c_str(), &st) == 0;
}

absl::StatusOr<std::pair<std::string, std::string>> TestCertificate() {
  static const auto* made = [] {
    char dir[] = "/tmp/gaio_compare_certXXXXXX";
    auto* r = new absl::StatusOr<std::pair<std::string, std::string>>(
        absl::InternalError("mkdtemp failed"));
    if (mkdtemp(dir) == nullptr) return r;
    static char made_dir[sizeof(dir)];
    std::memcpy(made_dir, dir, sizeof(dir));
    std::atexit([] {
      if (std::system(absl::StrCat("rm -rf ", made_dir).c_str()) != 0) return;
    });
    const std::string cert = absl::StrCat(dir, "/cert.pem"), key = absl::StrCat(dir, "/key.pem");
    const std::string cmd = absl::StrCat(
        "timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout ",
        key, " -out ", cert, " >/dev/null 2>&1");
    if (std::system(cmd.c_str()) != 0) {
      *r = absl::InternalError(absl::StrCat("failed: ", cmd));
    } else {
      *r = std::make_pair(cert, key);
    }
    return r;
  }();
  return *made;
}

absl::StatusOr<ServerProcess> ServerProcess::Start(const char* argv0, const std::string& binary,
                                                   const std::vector<std::string>& args) {
  const std::string path = RunfilesPath(argv0, binary);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  // A script (the Node peer) runs under its interpreter, found on PATH.
  const bool node = absl::EndsWith(path, ".js");
  std::vector<std::string> argv_storage = {path, "--port=0"};
  if (node) argv_storage.insert(argv_storage.begin(), "node");
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> child_argv;
  for (std::string& a : argv_storage) child_argv.push_back(a.data());
  child_argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (node) {
      execvp("node", child_argv.data());
    } else {
      execv(path.c_str(), child_argv.data());
    }
    _exit(127);
  }
  close(out[1]);
  ServerProcess server(pid, 0, out[0]);
  std::string seen;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
    size_t at = seen.find("127.0.0.1:");
    if (at != std::string::npos && seen.find('\n', at) != std::string::npos) {
      server.port_ = std::atoi(seen.c_str() + at + 10);
      return server;
    }
  }
  return absl::UnavailableError(absl::StrCat(path, " did not report its port; output: ", seen));
}

void ServerProcess::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    const absl::Time give_up = absl::Now() + absl::Seconds(2);
    int status;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (absl::Now() > give_up) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    pid_ = -1;
  }
  if (out_fd_ >= 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
}

}  // namespace gaio_bench
