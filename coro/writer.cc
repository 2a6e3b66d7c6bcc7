#include "coro/writer.h"

#include <sys/socket.h>

#include <atomic>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "coro/internal/fiber.h"

namespace gaio::coro {
namespace {
std::atomic<size_t> g_live_blocks{0};
}  // namespace

// The heap block of a BufferedWriter: the Operation of its write request.
// `pending_` collects sends; `inflight_` is the buffer of the request in
// flight; they swap when a request completes, so a busy writer reuses both.
class BufferedWriter::Core final : public internal::Operation {
 public:
  Core(Socket* socket, const BufferedWriterOptions& options) : socket_(socket), options_(options) {
    g_live_blocks.fetch_add(1, std::memory_order_relaxed);
  }
  ~Core() { g_live_blocks.fetch_sub(1, std::memory_order_relaxed); }

  absl::Status send(absl::string_view bytes) {
    if (!error_.ok()) return error_;
    if (closed_) return absl::FailedPreconditionError("writer closed");
    if (bytes.empty()) return absl::OkStatus();
    if (buffered() + bytes.size() > options_.high_water) {
      fail(absl::ResourceExhaustedError("writer: high-water mark exceeded"));
      ::shutdown(socket_->fd(), SHUT_RDWR);
      return error_;
    }
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    if (!busy_) start();
    return error_;
  }
  size_t buffered() const { return inflight_.size() + pending_.size(); }
  const absl::Status& error() const { return error_; }
  uint64_t requests() const { return requests_; }
  size_t heap_bytes() const { return sizeof(Core) + pending_.capacity() + inflight_.capacity(); }
  internal::WaitQueue* drainers() { return &drainers_; }
  size_t low_water() const { return options_.low_water; }

  void close() {
    if (closed_) return;
    closed_ = true;
    maybe_half_close();
  }
  // The handle is destroyed: drop the queue, cancel what is in flight, and
  // free the block now or at the request's completion.
  void detach() {
    wake_drainers(absl::FailedPreconditionError("writer destroyed"));
    if (!busy_) {
      delete this;
      return;
    }
    orphan_ = true;
    std::vector<char>().swap(pending_);
    EventLoop* loop = socket_->loop();
    if (loop != nullptr) loop->watcher().cancel(socket_->fd(), ctx()).IgnoreError();
  }

  void complete(const OpResult& r) noexcept override {
    busy_ = false;
    if (orphan_) {
      delete this;
      return;
    }
    inflight_.clear();
    if (!r.status.ok()) {
      fail(internal::WriteStatus(r));
    } else if (!pending_.empty()) {
      start();
    }
    if (buffered() == 0) {
      // Idle: hold no buffer.
      std::vector<char>().swap(pending_);
      std::vector<char>().swap(inflight_);
      maybe_half_close();
    }
    wake_drainers(error_);
  }
  void request_cancel() noexcept override {}

 private:
  void start() {
    std::swap(pending_, inflight_);
    pending_.clear();
    EventLoop* loop = socket_->loop();
    absl::Status s =
        loop == nullptr
            ? absl::FailedPreconditionError("writer: the socket's loop is gone")
            : loop->watcher().write(ctx(), socket_->fd(), absl::MakeConstSpan(inflight_));
    if (!s.ok()) {
      inflight_.clear();
      fail(std::move(s));
      return;
    }
    socket_->registered_ = true;  // the Watcher owns the fd from now on
    busy_ = true;
    ++requests_;
  }
  void fail(absl::Status s) {
    if (error_.ok()) error_ = std::move(s);
    std::vector<char>().swap(pending_);
    wake_drainers(error_);
  }
  void maybe_half_close() {
    if (closed_ && !half_closed_ && buffered() == 0 && error_.ok()) {
      half_closed_ = true;
      ::shutdown(socket_->fd(), SHUT_WR);
    }
  }
  // Wakes the drainers whose wait is over (all of them on an error).
  void wake_drainers(const absl::Status& status) {
    drainers_.wake_if(
        [&](internal::Waiter* w) {
          auto* d = static_cast<DrainAwaiter*>(w);
          if (status.ok() && buffered() > d->mark_) return false;
          d->result_ = status;
          return true;
        },
        internal::Waiter::Outcome::kGranted);
  }

  Socket* socket_;
  BufferedWriterOptions options_;
  std::vector<char> pending_;
  std::vector<char> inflight_;
  absl::Status error_;
  internal::WaitQueue drainers_;
  uint64_t requests_ = 0;
  bool busy_ = false;
  bool closed_ = false;
  bool half_closed_ = false;
  bool orphan_ = false;
};

BufferedWriter::BufferedWriter(Socket& socket, const BufferedWriterOptions& options)
    : core_(new Core(&socket, options)) {}
BufferedWriter::~BufferedWriter() { core_->detach(); }
absl::Status BufferedWriter::send(absl::string_view bytes) { return core_->send(bytes); }
size_t BufferedWriter::buffered_bytes() const { return core_->buffered(); }
absl::Status BufferedWriter::status() const { return core_->error(); }
void BufferedWriter::close() { core_->close(); }
uint64_t BufferedWriter::write_requests() const { return core_->requests(); }
size_t BufferedWriter::live_blocks() { return g_live_blocks.load(std::memory_order_relaxed); }
size_t BufferedWriter::memory_bytes() const { return sizeof(*this) + core_->heap_bytes(); }
BufferedWriter::DrainAwaiter BufferedWriter::drain() {
  return DrainAwaiter(core_, core_->low_water());
}

bool BufferedWriter::DrainAwaiter::ready_now() {
  if (!core_->error().ok()) {
    result_ = core_->error();
    return true;
  }
  if (core_->buffered() > mark_) return false;
  result_ = absl::OkStatus();
  return true;
}
internal::WaitQueue* BufferedWriter::DrainAwaiter::queue() { return core_->drainers(); }

}  // namespace gaio::coro
