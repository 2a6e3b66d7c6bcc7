#include "coro/writer.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "coro/internal/byte_buffer.h"
#include "coro/internal/fiber.h"
#include "coro/internal/frame_allocator.h"

namespace gaio::coro {
namespace {
std::atomic<size_t> g_live_blocks{0};

uint32_t Clamp(size_t n) { return static_cast<uint32_t>(std::min<size_t>(n, UINT32_MAX)); }
}  // namespace

// The heap block of a busy writer: the Operation of its write request.
// `inflight` is the buffer of the request in flight, `pending` collects the
// sends made meanwhile; they swap when the request completes. The block
// exists from the first send of a burst until the queue is empty again.
// A burst's first send defers the request to just before the loop next
// looks for I/O (EventLoop::defer), so that every send made meanwhile goes
// out with it.
class BufferedWriter::Flight final : public internal::Operation, public internal::Deferred {
 public:
  // From the recycling frame pool: a burst's block costs no malloc.
  static void* operator new(size_t size) { return internal::AllocateFrame(size); }
  static void operator delete(void* p, size_t size) noexcept { internal::FreeFrame(p, size); }

  explicit Flight(BufferedWriter* owner) : owner(owner) {
    g_live_blocks.fetch_add(1, std::memory_order_relaxed);
  }
  ~Flight() { g_live_blocks.fetch_sub(1, std::memory_order_relaxed); }

  void complete(const OpResult& r) noexcept override {
    busy = false;
    if (owner == nullptr) {  // the writer was destroyed meanwhile
      delete this;
      return;
    }
    owner->Done(r);
  }
  void request_cancel() noexcept override {}
  void run_deferred() noexcept override {
    deferred = false;
    if (owner == nullptr) {  // the writer was destroyed meanwhile
      if (!busy) delete this;
      return;
    }
    owner->Flush();
  }

  BufferedWriter* owner;         // nullptr once the writer is destroyed
  internal::WaitQueue drainers;  // drain() waits only while bytes are queued
  internal::ByteBuffer pending;
  internal::ByteBuffer inflight;
  uint32_t peak = 0;      // the largest request of this burst, in bytes
  bool busy = false;      // a write request is in flight
  bool deferred = false;  // queued on the loop's deferred list
};

namespace {
// The first buffer of the next burst: at most 64 KiB, the largest block the
// frame pool keeps.
constexpr int kMaxBurstLog2 = 16;
}  // namespace

BufferedWriter::BufferedWriter(Socket& socket, const BufferedWriterOptions& options)
    : socket_(&socket),
      low_water_(Clamp(options.low_water)),
      high_water_(Clamp(options.high_water)) {}

BufferedWriter::~BufferedWriter() {
  WakeDrainers(absl::FailedPreconditionError("writer destroyed"));
  if (flight_ == nullptr) return;
  Flight* f = flight_;
  const bool busy = f->busy;
  DropFlight();
  // A request in flight is cancelled; the block frees itself at its
  // completion (the peer may have received part of it).
  EventLoop* loop = socket_->loop();
  if (busy && loop != nullptr) loop->watcher().cancel(socket_->fd(), f->ctx()).IgnoreError();
}

// Lets go of the block: freed now if nothing refers to it, else (a request
// in flight, a place on the deferred list) when that ends.
void BufferedWriter::DropFlight() {
  Flight* f = std::exchange(flight_, nullptr);
  burst_log2_ = f->peak == 0 ? 0
                             : static_cast<uint8_t>(std::min(
                                   kMaxBurstLog2, static_cast<int>(std::bit_width(f->peak - 1))));
  f->pending.Release();
  if (f->busy || f->deferred) {
    f->owner = nullptr;
  } else {
    delete f;
  }
}

absl::Status BufferedWriter::send(absl::string_view bytes) {
  if (!error_.ok()) return error_;
  if (closed_) return absl::FailedPreconditionError("writer closed");
  if (bytes.empty()) return absl::OkStatus();
  if (buffered_bytes() + bytes.size() > high_water_) {
    Fail(absl::ResourceExhaustedError("writer: high-water mark exceeded"));
    ::shutdown(socket_->fd(), SHUT_RDWR);
    return error_;
  }
  if (flight_ == nullptr) {
    flight_ = new Flight(this);
    if (burst_log2_ > 0) flight_->pending.Reserve(size_t{1} << burst_log2_);
  }
  flight_->pending.Append(bytes);
  if (!flight_->busy) Defer();
  return error_;
}

size_t BufferedWriter::buffered_bytes() const {
  return flight_ == nullptr ? 0 : flight_->inflight.size() + flight_->pending.size();
}

absl::Status BufferedWriter::status() const { return error_; }

void BufferedWriter::close() {
  if (closed_) return;
  closed_ = true;
  MaybeHalfClose();
}

uint32_t BufferedWriter::write_requests() const { return requests_; }

size_t BufferedWriter::live_blocks() { return g_live_blocks.load(std::memory_order_relaxed); }

size_t BufferedWriter::memory_bytes() const {
  if (flight_ == nullptr) return sizeof(*this);
  return sizeof(*this) + sizeof(Flight) + flight_->pending.capacity() +
         flight_->inflight.capacity();
}

void BufferedWriter::Defer() {
  if (flight_->deferred) return;
  EventLoop* loop = socket_->loop();
  if (loop == nullptr) {
    Fail(absl::FailedPreconditionError("writer: the socket's loop is gone"));
    return;
  }
  flight_->deferred = true;
  loop->defer(flight_);
}

void BufferedWriter::Flush() {
  if (!flight_->busy && !flight_->pending.empty()) Start();
  if (flight_ != nullptr && !flight_->busy && flight_->pending.empty()) {
    MaybeHalfClose();
    WakeDrainers(error_);
    DropFlight();  // idle: hold nothing (no drainer is left)
  }
}

void BufferedWriter::Start() {
  flight_->peak = std::max(flight_->peak, static_cast<uint32_t>(flight_->pending.size()));
  flight_->pending.swap(flight_->inflight);
  flight_->pending.Clear();
  EventLoop* loop = socket_->loop();
  absl::Status s = loop == nullptr
                       ? absl::FailedPreconditionError("writer: the socket's loop is gone")
                       : loop->watcher().write(flight_->ctx(), socket_->fd(),
                                               absl::MakeConstSpan(flight_->inflight.data(),
                                                                   flight_->inflight.size()));
  if (!s.ok()) {
    Fail(std::move(s));
    return;
  }
  socket_->registered_ = true;  // the Watcher owns the fd from now on
  flight_->busy = true;
  ++requests_;
}

void BufferedWriter::Done(const OpResult& r) {
  flight_->inflight.Clear();
  if (!r.status.ok()) {
    Fail(internal::WriteStatus(r));
    return;
  }
  if (!flight_->pending.empty()) {
    Defer();  // with whatever else this batch of completions sends
    WakeDrainers(error_);
    return;
  }
  MaybeHalfClose();
  WakeDrainers(error_);
  DropFlight();  // idle: hold nothing (no drainer is left)
}

void BufferedWriter::Fail(absl::Status s) {
  if (error_.ok()) error_ = std::move(s);
  WakeDrainers(error_);  // every one: an error ends every wait
  if (flight_ != nullptr) DropFlight();
}

void BufferedWriter::MaybeHalfClose() {
  if (closed_ && !half_closed_ && buffered_bytes() == 0 && error_.ok()) {
    half_closed_ = true;
    ::shutdown(socket_->fd(), SHUT_WR);
  }
}

// Wakes the drainers whose wait is over (all of them on an error).
void BufferedWriter::WakeDrainers(const absl::Status& status) {
  if (flight_ == nullptr) return;  // no byte queued: no drainer waits
  flight_->drainers.wake_if(
      [&](internal::Waiter* w) {
        auto* d = static_cast<DrainAwaiter*>(w);
        if (status.ok() && buffered_bytes() > d->mark_) return false;
        d->result_ = status;
        return true;
      },
      internal::Waiter::Outcome::kGranted);
}

internal::WaitQueue* BufferedWriter::DrainAwaiter::queue() { return &w_->flight_->drainers; }

bool BufferedWriter::DrainAwaiter::ready_now() {
  if (!w_->error_.ok()) {
    result_ = w_->error_;
    return true;
  }
  if (w_->buffered_bytes() > mark_) return false;
  result_ = absl::OkStatus();
  return true;
}

}  // namespace gaio::coro
