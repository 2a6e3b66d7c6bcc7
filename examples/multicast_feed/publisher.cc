// The publisher: a caller-driven Watcher in the publisher's own thread, an
// after() tick every millisecond, send_to of sequenced messages from a ring
// of buffers (a buffer is reused once its send has completed).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

#include "examples/multicast_feed/feed.h"

namespace feed {

PublisherResult RunPublisher(int fd, const gaio::net::SocketAddress& group, size_t size,
                             double rate, absl::Duration duration,
                             std::atomic<uint64_t>* published) {
  constexpr size_t kWindow = 1024;  // sends in flight at most
  PublisherResult result;
  // Declared before the watcher: the buffers outlive every send.
  std::vector<std::vector<char>> buffers(kWindow, std::vector<char>(size));
  std::vector<size_t> free_buffers;
  free_buffers.reserve(kWindow);
  for (size_t i = 0; i < kWindow; ++i) free_buffers.push_back(kWindow - 1 - i);
  gaio::WatcherOptions options;
  options.num_pollers = 0;  // this thread does the I/O itself
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create(options);
  if (!w.ok()) {
    close(fd);
    result.status = w.status();
    return result;
  }
  char tick = 0;  // ctx of the tick timer
  uint64_t seq = 0;
  const int64_t start = NowNanos();
  const int64_t end = start + absl::ToInt64Nanoseconds(duration);
  bool refused = false;
  // Sends what is due by now: rate * elapsed, or all it can when rate is 0.
  auto send_due = [&] {
    const int64_t now = NowNanos();
    const uint64_t due = rate > 0 ? static_cast<uint64_t>((now - start) * rate / 1e9) + 1
                                  : std::numeric_limits<uint64_t>::max();
    if (seq < due && free_buffers.empty() && rate > 0) ++result.stalls;
    while (seq < due && !free_buffers.empty() && !refused) {
      const size_t b = free_buffers.back();
      Encode(seq, NowNanos(), buffers[b].data());
      if (!w->send_to(&buffers[b], fd, absl::MakeConstSpan(buffers[b]), group.get(), group.size())
               .ok()) {
        refused = true;  // only after close(); nothing was queued
        break;
      }
      free_buffers.pop_back();
      ++seq;
    }
  };
  // Every completion, whatever its status.
  auto handle = [&](const gaio::OpResult& r) {
    if (r.ctx == &tick) {
      if (r.status.ok() && !w->after(&tick, absl::Milliseconds(1)).ok()) refused = true;
      return;
    }
    const auto* buffer = static_cast<std::vector<char>*>(r.ctx);
    free_buffers.push_back(static_cast<size_t>(buffer - buffers.data()));
    if (r.status.ok()) {
      uint64_t sent_seq;
      int64_t sent_ns;
      Decode(buffer->data(), &sent_seq, &sent_ns);
      ++result.sent;
      // Sends complete in order: the subscribers should get up to here.
      result.published = sent_seq + 1;
      published->store(result.published, std::memory_order_relaxed);
    } else if (absl::IsCancelled(r.status)) {
      ++result.cancelled;  // still queued at the end: never sent
    } else if (result.send_errors++ < 5) {
      std::fprintf(stderr, "multicast_feed: send_to: %s\n", r.status.ToString().c_str());
    }
  };
  if (!w->after(&tick, absl::Milliseconds(1)).ok()) refused = true;
  send_due();               // the first send registers fd: the watcher owns it from here on
  if (seq == 0) close(fd);  // never registered
  while (!refused && NowNanos() < end) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch =
        w->wait_io(absl::Nanoseconds(end - NowNanos()));
    if (!batch.ok()) {
      result.status = batch.status();
      break;
    }
    for (const gaio::OpResult& r : *batch) handle(r);
    send_due();
  }
  result.watcher = w->stats();
  w->close().IgnoreError();  // closes fd; the sends still queued come back Cancelled
  for (;;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) handle(r);
  }
  return result;
}

}  // namespace feed
