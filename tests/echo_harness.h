// EchoServer: a Watcher plus a thread that echoes every byte read on the fds
// handed to it. Used by the tests that carry over gaio's echo suite.
#ifndef GAIO_TESTS_ECHO_HARNESS_H_
#define GAIO_TESTS_ECHO_HARNESS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "watcher/watcher.h"

namespace gaio::testing {

enum class ReadMode {
  kSwap,      // read(ctx, fd, nullptr)
  kOwnBuffer, // read into a 16 KiB buffer of the connection's own
  kMixed,     // even fds swap, odd fds own buffer
  kOneByte,   // read into a 1-byte buffer (gaio's tiny-buffer echo)
};

class EchoServer {
 public:
  static absl::StatusOr<std::unique_ptr<EchoServer>> Start(const WatcherOptions& options,
                                                           ReadMode mode);
  ~EchoServer();  // Stop()

  // Hands a connected fd to the server, which owns it from now on.
  absl::Status Add(int fd);
  // Stops the loop and closes the watcher (and so every fd).
  void Stop();

  uint64_t bytes_echoed() const { return bytes_echoed_.load(); }
  // Waits (bounded) until bytes_echoed() reaches `bytes`: a peer can hold the
  // echo before the server loop has seen its write complete. Returns the
  // count reached.
  uint64_t WaitEchoed(uint64_t bytes, absl::Duration patience = absl::Seconds(20)) const;
  // Completions that were neither OK nor EOF, and failed submissions.
  uint64_t errors() const { return errors_.load(); }
  uint64_t eofs() const { return eofs_.load(); }

 private:
  struct Conn {
    int fd;
    bool swap;
    std::string in;   // own read buffer (empty for swap reads)
    std::string out;  // bytes being written back
  };
  EchoServer(Watcher w, ReadMode mode) : watcher_(std::move(w)), mode_(mode) {}
  void Loop();
  absl::Status Read(Conn* c);

  Watcher watcher_;
  const ReadMode mode_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> bytes_echoed_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> eofs_{0};
  std::mutex conns_mu_;
  std::vector<std::unique_ptr<Conn>> conns_;  // guarded by conns_mu_
  std::thread thread_;
};

// A loopback TCP listener (127.0.0.1, ephemeral port).
struct Listener {
  int fd = -1;
  int port = 0;
};
absl::StatusOr<Listener> Listen(int backlog = 4096);
// Blocking connect to 127.0.0.1:port with TCP_NODELAY.
absl::StatusOr<int> Connect(int port);

}  // namespace gaio::testing

#endif  // GAIO_TESTS_ECHO_HARNESS_H_
