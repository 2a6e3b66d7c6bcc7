// EchoService: a loopback TCP echo server on a gaio::Watcher, shared by the
// echo_server and echo_demo examples.
//
// An accept thread hands each new connection to the watcher with a swap-buffer
// read (no read buffer per connection); the thread calling Run() loops on
// wait_io(), copies what was read into the connection's write buffer, writes
// it back, and reads again. Depends only on //watcher.
#ifndef GAIO_EXAMPLES_ECHO_SERVICE_H_
#define GAIO_EXAMPLES_ECHO_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "watcher/watcher.h"

namespace gaio_examples {

class EchoService {
 public:
  // Listens on 127.0.0.1:port (0 picks a free port) and starts accepting.
  static absl::StatusOr<std::unique_ptr<EchoService>> Start(int port,
                                                            const gaio::WatcherOptions& options);
  ~EchoService();

  int port() const { return port_; }
  // Serves until Stop() is called (from any thread) or `until` passes, then
  // shuts down: closes the watcher and every connection and frees their state.
  // Returns OK, or the error that ended the loop. Call it once.
  absl::Status Run(absl::Time until = absl::InfiniteFuture());
  void Stop() { stop_.store(true); }

  uint64_t connections() const { return connections_.load(); }
  gaio::WatcherStats watcher_stats() const { return watcher_.stats(); }
  uint64_t bytes_echoed() const { return bytes_echoed_.load(); }

 private:
  // Owned by the request in flight for it (exactly one at any time).
  struct Conn {
    int fd;
    std::string out;  // bytes being written back
  };
  EchoService(gaio::Watcher watcher, int listen_fd, int port)
      : watcher_(std::move(watcher)), listen_fd_(listen_fd), port_(port) {}
  void AcceptLoop();
  void Handle(const gaio::OpResult& r);  // every OpResult, whatever its status
  void Drop(Conn* conn);
  void Shutdown();

  gaio::Watcher watcher_;
  const int listen_fd_;
  const int port_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> bytes_echoed_{0};
  std::thread acceptor_;
};

}  // namespace gaio_examples

#endif  // GAIO_EXAMPLES_ECHO_SERVICE_H_
