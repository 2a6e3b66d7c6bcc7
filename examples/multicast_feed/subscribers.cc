// The subscribers: every socket served by one gaio::Watcher in the calling
// thread, or (the baseline) a thread per socket blocked in recvfrom.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "examples/multicast_feed/feed.h"

namespace feed {
namespace {

// A receive buffer of one subscriber and the one request it has in flight.
struct Slot {
  int fd;
  FeedStats* stats;
  std::vector<char> buf;
};

}  // namespace

absl::Status RunGaioSubscribers(const std::vector<int>& fds, size_t buffer, int inflight,
                                const gaio::WatcherOptions& options, std::vector<FeedStats>& stats,
                                const Hooks& hooks, gaio::WatcherStats* watcher_stats) {
  // Declared before the watcher: the buffers outlive every receive.
  std::vector<Slot> slots;
  for (size_t i = 0; i < fds.size(); ++i) {
    for (int k = 0; k < inflight; ++k)
      slots.push_back({fds[i], &stats[i], std::vector<char>(buffer)});
  }
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create(options);
  if (!w.ok()) {
    for (int fd : fds) close(fd);
    return w.status();
  }
  // Receives with their own buffers, several queued per socket: the watcher
  // serves them with one recvmmsg. The first makes it the owner of the fd.
  for (size_t i = 0; i < slots.size(); ++i) {
    Slot& s = slots[i];
    if (absl::Status st = w->recv_from(&s, s.fd, absl::MakeSpan(s.buf)); !st.ok()) {
      // The watcher owns (and close() closes) the fds before this one's.
      const size_t owned = i / static_cast<size_t>(inflight) + (i % inflight != 0);
      w->close().IgnoreError();
      for (size_t f = owned; f < fds.size(); ++f) close(fds[f]);
      return st;
    }
  }
  char tick = 0;  // ctx of the progress timer
  w->after(&tick, absl::Seconds(1)).IgnoreError();
  // Every completion, whatever its status; re-arms while the run goes on.
  auto handle = [&](const gaio::OpResult& r) {
    if (absl::IsCancelled(r.status)) return;  // close(): the run is over
    if (r.ctx == &tick) {
      hooks.progress();
      w->after(&tick, absl::Seconds(1)).IgnoreError();
      return;
    }
    auto* s = static_cast<Slot*>(r.ctx);
    if (r.op == gaio::OpType::kRead) {
      if (r.status.ok()) {
        Consume(r.buffer.data(), r.size, s->stats);
      } else if (absl::IsDataLoss(r.status)) {
        s->stats->OnTruncated();  // larger than the buffer: not ours
      } else {
        // Anything else: count it and receive again a little later, so that
        // an error that lasts cannot spin.
        s->stats->OnError();
        w->after(s, absl::Milliseconds(10)).IgnoreError();
        return;
      }
    }
    // A receive done, or the pause after an error over: receive again.
    // (Refused only after close(): then nothing is owed.)
    w->recv_from(s, s->fd, absl::MakeSpan(s->buf)).IgnoreError();
  };
  absl::Status status;
  while (!hooks.finished()) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(absl::Milliseconds(100));
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    for (const gaio::OpResult& r : *batch) handle(r);
  }
  *watcher_stats = w->stats();
  w->close().IgnoreError();  // closes the sockets
  for (;;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) handle(r);
  }
  return status;
}

absl::Status RunBlockingSubscribers(const std::vector<int>& fds, size_t buffer,
                                    std::vector<FeedStats>& stats, const Hooks& hooks) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  threads.reserve(fds.size());
  for (size_t i = 0; i < fds.size(); ++i) {
    threads.emplace_back([&, i] {
      // A short receive timeout, so that the thread sees `stop`.
      timeval tv{0, 50'000};
      setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      std::vector<char> buf(buffer);
      while (!stop.load(std::memory_order_relaxed)) {
        // MSG_TRUNC: the datagram's real length, to tell truncation.
        const ssize_t n = recv(fds[i], buf.data(), buf.size(), MSG_TRUNC);
        if (n >= 0 && static_cast<size_t>(n) > buf.size()) {
          stats[i].OnTruncated();
        } else if (n >= 0) {
          Consume(buf.data(), static_cast<size_t>(n), &stats[i]);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          stats[i].OnError();
          absl::SleepFor(absl::Milliseconds(10));
        }
      }
    });
  }
  absl::Time next_progress = absl::Now() + absl::Seconds(1);
  while (!hooks.finished()) {
    absl::SleepFor(absl::Milliseconds(10));
    if (absl::Now() >= next_progress) {
      hooks.progress();
      next_progress += absl::Seconds(1);
    }
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  for (int fd : fds) close(fd);
  return absl::OkStatus();
}

}  // namespace feed
