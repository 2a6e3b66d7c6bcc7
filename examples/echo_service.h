// EchoService: a loopback TCP echo server on one gaio::Watcher and one
// thread, shared by the echo_server and echo_demo examples.
//
// The thread calling Run() does everything through wait_io(): it accepts
// (several accept requests in flight, so a burst of connections is taken in
// a few batches), reads each connection into the swap buffer, writes those
// bytes straight back (the watcher copies only what the socket does not take
// at once), and reads again: no connection has a buffer of its own. Depends
// only on //watcher.
#ifndef GAIO_EXAMPLES_ECHO_SERVICE_H_
#define GAIO_EXAMPLES_ECHO_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "watcher/signal_set.h"
#include "watcher/watcher.h"

namespace gaio_examples {

class EchoService {
 public:
  // Listens on 127.0.0.1:port (0 picks a free port) and queues the accepts.
  static absl::StatusOr<std::unique_ptr<EchoService>> Start(int port,
                                                            const gaio::WatcherOptions& options);
  ~EchoService();

  int port() const { return port_; }
  // Serves until Stop() is called, one of the signals given to
  // StopOnSignals() arrives, or `until` passes, then shuts down: closes the
  // watcher, every connection, the listener and the signal pipe, and frees
  // their state. Returns OK, or the error that ended the loop. Call it once.
  absl::Status Run(absl::Time until = absl::InfiniteFuture());
  // Makes Run() stop at the first of `signals` (each one a byte on the set's
  // pipe, which the watcher reads). Call it before Run(), at most once; the
  // service keeps the set (and so the handlers) until it is destroyed. The
  // watcher's error when it refuses the pipe.
  absl::Status StopOnSignals(std::unique_ptr<gaio::SignalSet> signals);
  // Makes Run() stop (watcher post()), from any thread but not from a
  // signal handler: StopOnSignals() is for those.
  void Stop() {
    stop_.store(true);
    watcher_.post(&stop_tag_).IgnoreError();  // after close(): stopped already
  }

  uint64_t connections() const { return connections_.load(); }
  gaio::WatcherStats watcher_stats() const { return watcher_.stats(); }
  uint64_t bytes_echoed() const { return bytes_echoed_.load(); }

 private:
  // Owned by the request in flight for it (exactly one at any time).
  struct Conn {
    int fd;
  };
  // Accept requests kept in flight.
  static constexpr int kAccepts = 16;

  EchoService(gaio::Watcher watcher, int listen_fd, int port)
      : watcher_(std::move(watcher)), listen_fd_(listen_fd), port_(port) {}
  void Handle(const gaio::OpResult& r);  // every OpResult, whatever its status
  void HandleListener(const gaio::OpResult& r);
  void Drop(Conn* conn);
  void Shutdown();

  gaio::Watcher watcher_;
  const int listen_fd_;  // owned by watcher_ once the first accept is queued
  const int port_;
  // The ctx of the listener's requests: accepts, and the timers that re-arm
  // an accept after a failure (so that EMFILE cannot make it spin).
  char listener_tag_ = 0;
  // The ctx of the stop's requests: Stop()'s post, Run()'s `until` timer,
  // the read of the signal pipe (into signal_bytes_).
  char stop_tag_ = 0;
  char signal_bytes_[16];
  std::unique_ptr<gaio::SignalSet> signals_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> bytes_echoed_{0};
};

}  // namespace gaio_examples

#endif  // GAIO_EXAMPLES_ECHO_SERVICE_H_
