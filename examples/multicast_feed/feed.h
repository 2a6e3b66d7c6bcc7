// The pieces of the multicast_feed example: the message format, what a
// subscriber counts (gaps, duplicates, reordering, one-way latency), the
// publisher and the two kinds of subscribers (gaio::Watcher, and a blocking
// recvfrom loop per subscriber as the baseline).
#ifndef GAIO_EXAMPLES_MULTICAST_FEED_FEED_H_
#define GAIO_EXAMPLES_MULTICAST_FEED_FEED_H_

#include <atomic>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/address.h"
#include "watcher/watcher.h"

namespace feed {

// CLOCK_MONOTONIC in nanoseconds: publisher and subscribers share the host's
// clock, so a message's age is now - its send time.
int64_t NowNanos();

// A message: sequence number and send time (little-endian, 16 bytes), then
// padding up to the message size.
inline constexpr size_t kHeader = 16;
void Encode(uint64_t seq, int64_t sent_ns, char* out);
void Decode(const char* in, uint64_t* seq, int64_t* sent_ns);

// Latency histogram: 32 sub-buckets per power of two (<= 3% error), from
// 1 ns to ~1 hour, constant memory.
class Histogram {
 public:
  void Record(int64_t ns);
  void Merge(const Histogram& other);
  int64_t Percentile(double p) const;  // upper edge of the bucket; 0 when empty
  int64_t max() const { return max_; }
  uint64_t count() const { return count_; }

 private:
  static constexpr int kSub = 5;
  static constexpr size_t kBuckets = 43 << kSub;
  std::vector<uint64_t> buckets_ = std::vector<uint64_t>(kBuckets);
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

// One subscriber's view of the feed. Written by one thread; the counters
// are atomics so that a progress line may read them from another.
class FeedStats {
 public:
  // A message arrived `latency_ns` after it was sent.
  void OnMessage(uint64_t seq, int64_t latency_ns);
  void OnMalformed() { malformed_.fetch_add(1, std::memory_order_relaxed); }
  void OnTruncated() { truncated_.fetch_add(1, std::memory_order_relaxed); }
  void OnError() { errors_.fetch_add(1, std::memory_order_relaxed); }

  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  // Sequence numbers skipped at once (gap events) and still missing.
  uint64_t gaps() const { return gaps_.load(std::memory_order_relaxed); }
  uint64_t missing() const { return missing_.load(std::memory_order_relaxed); }
  uint64_t duplicates() const { return duplicates_.load(std::memory_order_relaxed); }
  uint64_t reordered() const { return reordered_.load(std::memory_order_relaxed); }
  uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }
  uint64_t truncated() const { return truncated_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  // The next sequence number expected in order (all before it seen or missing).
  uint64_t next() const { return next_.load(std::memory_order_relaxed); }
  const Histogram& latency() const { return latency_; }  // after the run

 private:
  static constexpr uint64_t kWindow = 4096;  // how far back a duplicate is told apart
  std::bitset<kWindow> seen_;
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> received_{0}, gaps_{0}, missing_{0}, duplicates_{0}, reordered_{0},
      malformed_{0}, truncated_{0}, errors_{0};
  Histogram latency_;
};

// Hands a received datagram to `stats`.
void Consume(const char* data, size_t size, FeedStats* stats);

// The publisher: sends sequenced messages of `size` bytes to `group` on
// socket `fd` (its watcher owns fd from the first send), `rate` per second
// (0: as fast as its window of 1024 sends in flight allows), for
// `duration`, from the calling thread with a caller-driven Watcher and an
// after() tick every millisecond. `published` follows result.published, for
// the other threads.
struct PublisherResult {
  uint64_t published = 0;  // the sequence number after the last one sent
  uint64_t sent = 0;       // sends that completed OK
  uint64_t cancelled = 0;  // sends still queued when the time was up
  uint64_t send_errors = 0;
  uint64_t stalls = 0;         // ticks that found all 1024 buffers still in flight
  gaio::WatcherStats watcher;  // the publisher watcher's counters
  absl::Status status;         // the watcher's failure, if any
};
PublisherResult RunPublisher(int fd, const gaio::net::SocketAddress& group, size_t size,
                             double rate, absl::Duration duration,
                             std::atomic<uint64_t>* published);

// Called by a subscriber loop: `finished` after each batch (true ends the
// run), `progress` once a second.
struct Hooks {
  std::function<bool()> finished;
  std::function<void()> progress;
};

// One gaio::Watcher (built with `options`) in the calling thread serves every
// subscriber socket in `fds` (joined receivers; the watcher owns them),
// `inflight` recv_from requests each with `buffer` bytes of their own, and
// records into stats[i] for fds[i], and the watcher's counters into
// *watcher_stats. Returns the watcher's failure, if any.
absl::Status RunGaioSubscribers(const std::vector<int>& fds, size_t buffer, int inflight,
                                const gaio::WatcherOptions& options, std::vector<FeedStats>& stats,
                                const Hooks& hooks, gaio::WatcherStats* watcher_stats);

// The baseline: a thread per socket in a blocking recvfrom loop (fds are
// closed at the end); the calling thread runs the hooks.
absl::Status RunBlockingSubscribers(const std::vector<int>& fds, size_t buffer,
                                    std::vector<FeedStats>& stats, const Hooks& hooks);

}  // namespace feed

#endif  // GAIO_EXAMPLES_MULTICAST_FEED_FEED_H_
