// BufferedWriter: fire-and-forget writes on a Socket, with back-pressure
// (asyncio's transport.write() + drain()).
//
//   BufferedWriter out(socket);                    // bound to `socket`
//   absl::Status s = out.send(reply);              // copies, returns at once
//   absl::Status d = co_await out.drain();         // wait for the low-water mark
//
// send(bytes) COPIES the bytes into the writer's queue and returns at once;
// the writer keeps exactly one write request in flight on the socket, made
// just before the loop next looks for I/O (EventLoop::defer): every byte
// sent until then, and every byte queued while a request is in flight, goes
// out with the next request, as one contiguous buffer (one Watcher::write,
// i.e. one syscall per batch unless the socket buffer is full). Many small
// sends coalesce. Order is kept. buffered_bytes() (O(1)) counts what is queued or in flight.
//
// Back-pressure. drain() waits until buffered_bytes() <= the low-water mark
// (drain(0): until everything was written). The high-water mark is a cap: a
// send() that would take buffered_bytes() above it fails the writer instead
// of growing (ResourceExhausted; the connection is shut down both ways with
// shutdown(2), so the peer sees the stream end and the connection's own
// reads see EOF, telling the task that reads it).
//
// Errors are sticky: after a write error (peer reset: the errno status, with
// BytesWritten, socket.h), a cap overflow or a failed submission, every
// send() and drain() returns that first error and what was queued is
// discarded. drain() also returns Cancelled when its task is cancelled (the
// queue is untouched), and FailedPrecondition if the writer is destroyed
// meanwhile. A cancelled task's drain() returns Cancelled at once.
//
// close() FLUSHES: no send() is accepted afterwards (FailedPrecondition),
// what is queued is still written, and after the last byte the socket is
// shut down for writing (the peer reads EOF); co_await drain(0) to know when
// (or get the error). Destroying the writer DISCARDS: the queue is dropped
// and a write in flight is cancelled (Watcher::cancel; the peer may have
// received part of it).
//
// Destruction while busy is safe: while a write is in flight the writer has
// a heap block (made when a burst of sends begins, freed when the queue
// empties) that is the request's Operation (its ctx) and owns the bytes in
// flight. The destructor detaches it; the block frees itself when the
// request's one completion arrives (no task or frame per connection). If
// the loop is destroyed before that completion is delivered, the block (and
// its buffer) is leaked rather than freed under the Watcher.
//
// The marks are clamped to 4 GiB - 1.
//
// Memory. An idle writer (nothing queued or in flight) holds nothing but
// itself: sizeof(BufferedWriter), 40 bytes on x86-64, no heap block and no
// byte buffer (memory_bytes(); writer_test's IdleWriterHoldsNothingButItself).
// Each burst of sends after idleness allocates the block and its buffer
// again (from the frame pool, sized at once for the largest request of the
// previous burst, up to 64 KiB; growing geometrically beyond).
//
// Lifetimes and threads: the Socket must outlive the writer and must not be
// moved while it is bound; no other write may be made on the socket while
// the writer is in use (reads are fine). Loop thread only, inside run().
#ifndef GAIO_CORO_WRITER_H_
#define GAIO_CORO_WRITER_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "coro/internal/wait_queue.h"
#include "coro/socket.h"

namespace gaio::coro {

struct BufferedWriterOptions {
  size_t low_water = 64 * 1024;  // drain() returns at or below this
  size_t high_water = 1 << 20;   // send() beyond this fails the writer
};

class BufferedWriter {
 public:
  explicit BufferedWriter(Socket& socket, const BufferedWriterOptions& options = {});
  BufferedWriter(const BufferedWriter&) = delete;
  BufferedWriter& operator=(const BufferedWriter&) = delete;
  ~BufferedWriter();

  // Queues a copy of `bytes` (see above). OK; the sticky error; FailedPrecondition
  // after close() or without a loop; ResourceExhausted when the cap is hit
  // (the writer is then failed). An empty `bytes` is OK and does nothing.
  absl::Status send(absl::string_view bytes);
  size_t buffered_bytes() const;
  // The first error, or OK.
  absl::Status status() const;
  // Flushes then half-closes (see above). Idempotent.
  void close();
  // Write requests made so far (each carries every byte queued before it),
  // modulo 2^32.
  uint32_t write_requests() const;
  // Bytes held now: sizeof(*this), the heap block and the buffers' capacity.
  size_t memory_bytes() const;
  // Heap blocks of busy writers alive in the process, detached ones
  // included (for tests: a destroyed busy writer's block is freed at its
  // completion).
  static size_t live_blocks();

  class Flight;
  class [[nodiscard]] DrainAwaiter : public internal::QueueAwaiter<DrainAwaiter> {
   public:
    DrainAwaiter(BufferedWriter* w, size_t mark) : w_(w), mark_(mark) {}
    absl::Status await_resume() {
      if (finish() == Outcome::kCancelled) return absl::CancelledError("drain: task cancelled");
      return result_;
    }

   private:
    friend class BufferedWriter;
    friend class internal::QueueAwaiter<DrainAwaiter>;
    Outcome try_now() { return ready_now() ? Outcome::kGranted : Outcome::kNone; }
    bool ready_now();  // sets result_ when the wait is over
    internal::WaitQueue* queue();
    BufferedWriter* w_;
    size_t mark_;
    absl::Status result_;
  };
  // Waits until buffered_bytes() <= the low-water mark, or `mark`.
  DrainAwaiter drain() { return DrainAwaiter(this, low_water_); }
  DrainAwaiter drain(size_t mark) { return DrainAwaiter(this, mark); }

 private:
  friend class Flight;
  void Defer();                  // Flush() before the loop next looks for I/O
  void Flush();                  // starts the request of what is queued
  void Start();                  // the next request, from flight_->pending
  void Done(const OpResult& r);  // the request in flight completed
  void DropFlight();
  void Fail(absl::Status s);
  void MaybeHalfClose();
  void WakeDrainers(const absl::Status& status);

  Socket* socket_;
  Flight* flight_ = nullptr;  // while busy or bytes are queued (drain() waits only then)
  absl::Status error_;
  uint32_t low_water_;
  uint32_t high_water_;
  uint32_t requests_ = 0;
  bool closed_ = false;
  bool half_closed_ = false;
  // log2 of the largest request of the last burst (0: none yet), so that the
  // next burst's buffer is allocated at that size at once instead of
  // growing (and copying) from 64 bytes up.
  uint8_t burst_log2_ = 0;
};

}  // namespace gaio::coro

#endif  // GAIO_CORO_WRITER_H_
