// Real TLS peers for the tests: child processes (the openssl CLI, Debian's
// python3) and a driver that runs a Session over a loopback socket with
// blocking writes and poll()-bounded reads. Every wait has a deadline; a
// child is killed when its Child object goes away.
#ifndef GAIO_TESTS_TLS_PEER_UTIL_H_
#define GAIO_TESTS_TLS_PEER_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tls/session.h"

namespace gaio::tls::testing {

// Debian's python3 (a pyenv python3 earlier on PATH may lack modules).
inline constexpr char kPython[] = "/usr/bin/python3";

class Child {
 public:
  // Starts argv[0] (searched on PATH) with a pipe on its stdin and one on its
  // stdout and stderr together.
  static absl::StatusOr<Child> Start(const std::vector<std::string>& argv);
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  ~Child();  // SIGKILL and reap, if still running

  absl::Status WriteStdin(const std::string& bytes);
  void CloseStdin();
  // Output until it contains `needle` (then OK) or the deadline passes.
  absl::Status WaitForOutput(const std::string& needle, absl::Duration timeout);
  const std::string& output() const { return output_; }
  // Exit status once it exits (-signal when killed), or DeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  void Kill();

 private:
  Child() = default;
  bool ReadSome(int timeout_ms);  // false at EOF
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string output_;
};

// A listening TCP socket on 127.0.0.1 and a free port; the fd or -1.
int ListenLoopback(int* port);
// accept() within `timeout`, or -1.
int AcceptWithin(int listen_fd, absl::Duration timeout);
// A connected socket to 127.0.0.1:port, retrying until `timeout`, or -1.
int ConnectLoopback(int port, absl::Duration timeout);

// Runs a Session over a connected socket (closes it on destruction).
class SocketDriver {
 public:
  // read_size: bytes per recv() (1 feeds the session one byte at a time).
  SocketDriver(Session& session, int fd, size_t read_size = 16384);
  ~SocketDriver();
  SocketDriver(const SocketDriver&) = delete;
  SocketDriver& operator=(const SocketDriver&) = delete;

  absl::Status Flush();  // sends all pending ciphertext
  absl::Status Handshake(absl::Duration timeout);
  // Plaintext until it holds at least n bytes; a failure or close first is
  // the status (what came before it is in *got).
  absl::Status ReadAtLeast(size_t n, std::string* got, absl::Duration timeout);
  // Plaintext until the stream ends; returns how it ended (kClosed, ...).
  absl::Status ReadToEnd(std::string* got, absl::Duration timeout);
  absl::Status Write(const std::string& plaintext);  // write + Flush
  void CloseSocket();

 private:
  // One poll+recv+feed step; OK when bytes were fed (or none came in time:
  // *timed_out), else the session's status.
  absl::Status Step(absl::Time deadline, bool* timed_out);
  Session& session_;
  int fd_;
  size_t read_size_;
};

}  // namespace gaio::tls::testing

#endif  // GAIO_TESTS_TLS_PEER_UTIL_H_
