// The bookkeeping of the UDP echo workload (RunUdpEcho), shared by its two
// drivers: S senders with `window` slots each; a slot holds the datagram in
// flight (sender, slot, sequence number, send time, then a pattern), checks
// its echo byte for byte, gives up on it after the timeout, and then sends
// the next one. How the bytes move is the driver's business.
#ifndef GAIO_BENCHMARKS_UDP_BOOK_H_
#define GAIO_BENCHMARKS_UDP_BOOK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "benchmarks/histogram.h"
#include "benchmarks/load_client.h"

namespace gaio_bench::udp {

inline constexpr size_t kHeader = 24;  // sender, slot (u32 each), sequence (u64), send time

uint64_t NowNs();

struct Sender;

struct Slot {
  Sender* sender;
  uint32_t index;
  uint64_t seq = 0;
  uint64_t sent_ns = 0;
  bool writing = false;   // its send has not completed yet (Watcher driver)
  bool awaiting = false;  // no echo yet, nor given up on
  std::vector<char> out;  // the datagram; stays put while it is being sent
};

struct Sender {
  uint32_t id;
  int fd = -1;  // a UDP socket connected to the server
  std::vector<Slot> slots;
};

class Book {
 public:
  // The senders numbered first .. first + count - 1.
  Book(const LoadOptions& o, int first, int count) : o_(o), first_(first), count_(count) {}
  ~Book();  // closes the sockets still marked as the book's (see Release)

  // Opens the senders' sockets (blocking, connected to 127.0.0.1:port).
  absl::Status Open();
  std::vector<std::unique_ptr<Sender>>& senders() { return senders_; }
  // The sockets now belong to someone else (a Watcher): not closed here.
  void Release() { owns_fds_ = false; }

  // Fills the slot's next datagram (new sequence number, sent now) and marks
  // it awaited.
  void Prepare(Slot& slot);
  // An echo arrived on `sender`: the slot it answers, if that slot is still
  // waiting for it (else nullptr: late, or not ours, or wrong: counted).
  Slot* OnEcho(Sender& sender, const char* data, size_t size, uint64_t now, bool counting);
  // Slots waiting longer than the timeout: given up (counted lost) and
  // passed to `resend` when not still being sent.
  template <typename F>
  void Expire(uint64_t now, bool counting, F&& resend) {
    const uint64_t timeout = static_cast<uint64_t>(absl::ToInt64Nanoseconds(o_.udp_timeout));
    for (auto& s : senders_) {
      for (Slot& slot : s->slots) {
        // (sent_ns may be after `now`: a slot sent while a batch was handled.)
        if (!slot.awaiting || slot.sent_ns + timeout > now) continue;
        slot.awaiting = false;
        if (counting) ++lost_;
        if (!slot.writing) resend(slot);
      }
    }
  }
  void Error() { ++result_.errors; }

  // Adds another book's counts and latencies to this one's.
  void Merge(const Book& other);
  // The figures, once the run is over.
  LoadResult Result() const;

 private:
  const LoadOptions& o_;
  const int first_, count_;
  std::vector<std::unique_ptr<Sender>> senders_;
  bool owns_fds_ = true;
  LoadResult result_;
  LatencyHistogram histogram_;
  uint64_t bytes_ = 0, lost_ = 0, late_ = 0;
};

// The two drivers, each in the calling thread over one book. Watcher: one
// caller-driven gaio::Watcher, a write per datagram and `window` own-buffer
// reads per sender (recvmmsg for queued ones). Batched: plain epoll; per
// ready socket one recvmmsg for its echoes and one sendmmsg for the
// datagrams they free, so that under load the client's cost per datagram
// falls (RunUdpEcho runs it in udp_client_threads threads, a book each).
absl::Status DriveWithWatcher(Book& book, const LoadOptions& o);
absl::Status DriveBatched(Book& book, const LoadOptions& o);

}  // namespace gaio_bench::udp

#endif  // GAIO_BENCHMARKS_UDP_BOOK_H_
