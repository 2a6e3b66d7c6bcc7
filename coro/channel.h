// Channel<T>: a bounded FIFO queue between the tasks of one loop (Go's
// buffered chan, asyncio.Queue), with a thread-safe way in from other threads.
//
//   Channel<Job> jobs(64);
//   absl::Status s = co_await jobs.send(std::move(job));  // waits while full
//   absl::StatusOr<Job> j = co_await jobs.recv();         // waits while empty
//   jobs.close();                                         // no more sends
//
// Capacity: fixed at construction (0 counts as 1); the ring buffer is
// allocated once there. send/recv allocate nothing (each waiter lives in its
// awaiting frame); items are moved, never copied.
//
// send(item) -> Status. OK: the item was taken (into the buffer, or handed
// straight to a waiting receiver). Waits (FIFO among senders) while the
// buffer is full. FailedPrecondition once the channel is closed (also for a
// sender waiting when close() comes). Cancelled when the task is cancelled
// before the item was taken. On any error the item is NOT taken and NOT
// moved from: `item` is an rvalue reference to the caller's object, which
// still holds it (so co_await the send in the expression that makes it; a
// temporary argument is destroyed, i.e. dropped, with the expression).
// try_send(item): the same without waiting; ResourceExhausted when full.
//
// recv() -> StatusOr<T>. The oldest item; waits (FIFO among receivers) while
// empty. Items buffered (or sent remotely) before close() are still
// delivered; then OutOfRange ("channel closed"). Cancelled when the task is
// cancelled before an item was handed to it. An item is handed to a waiting
// receiver at send time; a cancel arriving after that (even in the same
// round) changes nothing: the receiver returns the item, and its next
// cancellable await returns Cancelled. So an item is never lost: it is
// either returned by exactly one recv or still in the channel.
// try_recv(): the same without waiting; Unavailable when empty and open.
//
// A task that is already cancelled gets Cancelled from send/recv at once
// (use try_send/try_recv for cleanup).
//
// close(): idempotent; wakes every waiting sender (FailedPrecondition) and
// every waiting receiver (OutOfRange; they wait only when nothing is
// buffered). Destroying the channel closes it; buffered items are destroyed.
//
// Threads: everything but send_remote() is for the loop thread, inside
// EventLoop::run(). send_remote(item) may be called from any thread when the
// channel was made with its loop (Channel(capacity, &loop)); see its comment.
#ifndef GAIO_CORO_CHANNEL_H_
#define GAIO_CORO_CHANNEL_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coro/event_loop.h"
#include "coro/internal/fiber.h"
#include "coro/internal/mutex.h"
#include "coro/internal/ring.h"
#include "coro/internal/wait_queue.h"

namespace gaio::coro {

template <class T>
class Channel {
 public:
  explicit Channel(size_t capacity, EventLoop* remote_loop = nullptr)
      : ring_(capacity == 0 ? 1 : capacity) {
    if (remote_loop != nullptr) remote_ = new Remote(this, remote_loop, ring_.capacity());
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    close();
    if (remote_ != nullptr) remote_->detach();
  }

  size_t capacity() const { return ring_.capacity(); }
  // Items buffered now (not counting those of waiting senders or of
  // send_remote() not yet moved in).
  size_t size() const { return ring_.size(); }
  bool closed() const { return closed_; }

  absl::Status try_send(T&& item) {
    if (closed_) return absl::FailedPreconditionError("channel closed");
    if (!deliver(item)) return absl::ResourceExhaustedError("channel full");
    return absl::OkStatus();
  }

  absl::StatusOr<T> try_recv() {
    if (ring_.empty()) pull_remote();
    if (!ring_.empty()) return pop();
    if (closed_) return absl::OutOfRangeError("channel closed");
    return absl::UnavailableError("channel empty");
  }

  void close() {
    if (closed_) return;
    pull_remote();  // what send_remote() accepted goes to waiting receivers first
    closed_ = true;
    senders_.wake_all(internal::Waiter::Outcome::kClosed);
    receivers_.wake_all(internal::Waiter::Outcome::kClosed);
    if (remote_ != nullptr) remote_->close();
  }

  // Any thread (the channel must have been made with a loop, and must
  // outlive the call). Appends `item` to a fixed inbox of `capacity` slots
  // (allocated at construction) and wakes the loop with one Watcher::post per
  // batch (at most one post in flight; the post may allocate inside the
  // Watcher). On the loop thread the inbox is moved into the channel as space
  // allows, handing items to waiting receivers first; items of one thread
  // keep their order. Back-pressure: ResourceExhausted, without taking the
  // item, while the inbox is full (the channel is full and the loop has not
  // caught up): retry later or drop. FailedPrecondition once closed, or
  // without a loop; else the Watcher's post error. Items accepted before
  // close() are still delivered.
  absl::Status send_remote(T item) {
    if (remote_ == nullptr) return absl::FailedPreconditionError("channel has no loop");
    return remote_->push(std::move(item));
  }

  class [[nodiscard]] SendAwaiter : public internal::QueueAwaiter<SendAwaiter> {
   public:
    using Outcome = internal::Waiter::Outcome;  // the base depends on T
    SendAwaiter(Channel* c, T* item) : c_(c), item_(item) {}
    absl::Status await_resume() {
      switch (this->finish()) {
        case Outcome::kGranted:
          return absl::OkStatus();
        case Outcome::kCancelled:
          return absl::CancelledError("channel send: task cancelled");
        default:
          return absl::FailedPreconditionError("channel closed");
      }
    }

   private:
    friend class Channel;
    friend class internal::QueueAwaiter<SendAwaiter>;
    Outcome try_now() {
      if (c_->closed_) return Outcome::kClosed;
      return c_->deliver(*item_) ? Outcome::kGranted : Outcome::kNone;
    }
    internal::WaitQueue* queue() { return &c_->senders_; }
    Channel* c_;
    T* item_;
  };
  SendAwaiter send(T&& item) { return SendAwaiter(this, &item); }

  class [[nodiscard]] RecvAwaiter : public internal::QueueAwaiter<RecvAwaiter> {
   public:
    using Outcome = internal::Waiter::Outcome;  // the base depends on T
    explicit RecvAwaiter(Channel* c) : c_(c) {}
    absl::StatusOr<T> await_resume() {
      switch (this->finish()) {
        case Outcome::kGranted:
          return std::move(*slot_);
        case Outcome::kCancelled:
          return absl::CancelledError("channel recv: task cancelled");
        default:
          return absl::OutOfRangeError("channel closed");
      }
    }

   private:
    friend class Channel;
    friend class internal::QueueAwaiter<RecvAwaiter>;
    Outcome try_now() {
      if (c_->ring_.empty()) c_->pull_remote();
      if (!c_->ring_.empty()) {
        slot_.emplace(c_->pop());
        return Outcome::kGranted;
      }
      return c_->closed_ ? Outcome::kClosed : Outcome::kNone;
    }
    internal::WaitQueue* queue() { return &c_->receivers_; }
    Channel* c_;
    std::optional<T> slot_;
  };
  RecvAwaiter recv() { return RecvAwaiter(this); }

 private:
  // The inbox of send_remote(): a heap block (made at construction) that is
  // also the Watcher::post's Operation, so it outlives a post in flight when
  // the channel is destroyed: the post's completion then frees it, or, if
  // the loop is destroyed first, the loop does (EventLoop::adopt); if the
  // loop is already gone, its Watcher is closed and nothing will complete.
  class Remote final : public internal::Operation, public internal::Orphan {
   public:
    Remote(Channel* c, EventLoop* loop, size_t capacity)
        : channel_(c),
          loop_(loop),
          anchor_(internal::LoopAnchor::Ref(loop->anchor())),
          inbox_(capacity) {}
    ~Remote() { internal::LoopAnchor::Unref(anchor_); }
    Remote(const Remote&) = delete;
    Remote& operator=(const Remote&) = delete;
    absl::Status push(T item) ABSL_LOCKS_EXCLUDED(mu_) {
      {
        internal::MutexLock lock(&mu_);
        if (closed_) return absl::FailedPreconditionError("channel closed");
        if (inbox_.full()) return absl::ResourceExhaustedError("channel inbox full");
        inbox_.push(std::move(item));
        count_.store(inbox_.size(), std::memory_order_release);
        if (posted_) return absl::OkStatus();
        posted_ = true;
      }
      absl::Status s = loop_->watcher().post(ctx());
      if (!s.ok()) {
        internal::MutexLock lock(&mu_);
        posted_ = false;  // the item stays queued; the next push posts again
      }
      return s;
    }
    bool pending() const { return count_.load(std::memory_order_acquire) != 0; }
    // Loop thread: moves what fits into the channel.
    void pull() ABSL_LOCKS_EXCLUDED(mu_) {
      internal::MutexLock lock(&mu_);
      while (!inbox_.empty() && channel_->deliver(inbox_.front())) inbox_.pop();
      count_.store(inbox_.size(), std::memory_order_release);
    }
    void close() ABSL_LOCKS_EXCLUDED(mu_) {
      internal::MutexLock lock(&mu_);
      closed_ = true;
    }
    void detach() ABSL_LOCKS_EXCLUDED(mu_) {
      bool posted;
      {
        internal::MutexLock lock(&mu_);
        channel_ = nullptr;
        posted = posted_;
      }
      EventLoop* loop = posted ? anchor_->loop() : nullptr;
      if (loop == nullptr) {
        delete this;  // no post in flight, or its loop (and Watcher) gone
        return;
      }
      adopted_ = true;
      loop->adopt(this);  // freed by the completion, or by ~EventLoop
    }
    void complete(const OpResult&) noexcept override {
      bool orphan;
      {
        internal::MutexLock lock(&mu_);
        posted_ = false;
        orphan = channel_ == nullptr;
      }
      if (orphan) {
        if (adopted_) loop_->release(this);
        delete this;
        return;
      }
      pull();
    }
    void loop_gone() noexcept override { delete this; }
    void request_cancel() noexcept override {}

   private:
    internal::Mutex mu_;
    Channel* channel_ ABSL_GUARDED_BY(mu_);
    EventLoop* const loop_;
    internal::LoopAnchor* const anchor_;  // tells whether loop_ is still there
    bool adopted_ = false;                // loop thread: after detach(), on loop_'s orphan list
    internal::Ring<T> inbox_ ABSL_GUARDED_BY(mu_);
    std::atomic<size_t> count_{0};
    bool posted_ ABSL_GUARDED_BY(mu_) = false;
    bool closed_ ABSL_GUARDED_BY(mu_) = false;
  };

  // Hands `item` to the first waiting receiver or buffers it; moves from it
  // only then. False (untouched) when full.
  bool deliver(T& item) {
    if (!receivers_.empty()) {
      auto* r =
          static_cast<RecvAwaiter*>(receivers_.wake_front(internal::Waiter::Outcome::kGranted));
      r->slot_.emplace(std::move(item));
      return true;
    }
    if (ring_.full()) return false;
    ring_.push(std::move(item));
    return true;
  }
  // Takes the oldest buffered item (the ring is not empty) and refills the
  // freed slot from the first waiting sender, else from the remote inbox.
  T pop() {
    T item = std::move(ring_.front());
    ring_.pop();
    if (!senders_.empty()) {
      auto* s = static_cast<SendAwaiter*>(senders_.wake_front(internal::Waiter::Outcome::kGranted));
      ring_.push(std::move(*s->item_));
    } else {
      pull_remote();
    }
    return item;
  }
  void pull_remote() {
    if (remote_ != nullptr && remote_->pending()) remote_->pull();
  }

  internal::Ring<T> ring_;
  internal::WaitQueue senders_;
  internal::WaitQueue receivers_;
  Remote* remote_ = nullptr;
  bool closed_ = false;
};

}  // namespace gaio::coro

#endif  // GAIO_CORO_CHANNEL_H_
