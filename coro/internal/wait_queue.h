// WaitQueue: the intrusive FIFO of suspended waiters shared by Event,
// Channel, Mutex, Semaphore and BufferedWriter::drain (coro/event.h,
// channel.h, lock.h, writer.h), and QueueAwaiter, their awaiters' base.
//
// A Waiter lives in the awaiter, that is in the awaiting coroutine's frame,
// for as long as the coroutine is suspended: waiting allocates nothing. A
// waiter ends with exactly one outcome, set by whoever unlinks it:
//   kGranted   the primitive handed it what it waited for (the event was
//              set, an item or a permit was handed over);
//   kCancelled its fiber was cancelled while it was still linked;
//   kClosed    the primitive was closed or destroyed.
// Once unlinked with an outcome, a cancel changes nothing (what was handed
// over is never lost); the fiber's flag stays set, so the task's next
// cancellable await returns Cancelled. The waiter is resumed through
// EventLoop::schedule() (never inline, also not from a CancelHook).
//
// Loop thread only.
#ifndef GAIO_CORO_INTERNAL_WAIT_QUEUE_H_
#define GAIO_CORO_INTERNAL_WAIT_QUEUE_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "coro/event_loop.h"
#include "coro/internal/fiber.h"

namespace gaio::coro::internal {

class WaitQueue;

class Waiter : public CancelHook {
 public:
  enum class Outcome : uint8_t { kNone, kGranted, kCancelled, kClosed };

  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  Outcome outcome() const { return outcome_; }
  // For await_suspend: true when the awaiting fiber is cancelled (the
  // outcome is then kCancelled and nothing was linked).
  template <class P>
  bool cancelled_before(std::coroutine_handle<P> h) {
    if (!h.promise().fiber()->cancelled()) return false;
    outcome_ = Outcome::kCancelled;
    return true;
  }
  // For await_suspend: links the waiter at the back of `q` and makes it the
  // fiber's cancel hook. The caller then suspends (returns true).
  template <class P>
  void link(std::coroutine_handle<P> h, WaitQueue* q);
  // For await_resume: the fiber's cancel hook is cleared.
  void unhook() {
    if (fiber_ != nullptr) fiber_->clear_hook();
    fiber_ = nullptr;
  }
  // Sets the outcome directly (a fast path that did not suspend).
  void set_outcome(Outcome o) { outcome_ = o; }

  void request_cancel() noexcept override;

 private:
  friend class WaitQueue;
  Waiter* prev_ = nullptr;
  Waiter* next_ = nullptr;
  WaitQueue* queue_ = nullptr;  // non-null while linked
  Fiber* fiber_ = nullptr;
  EventLoop* loop_ = nullptr;
  std::coroutine_handle<> h_ = nullptr;
  Outcome outcome_ = Outcome::kNone;
};

class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  // Waiters still linked are woken with kClosed.
  ~WaitQueue() { wake_all(Waiter::Outcome::kClosed); }

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  Waiter* front() const { return head_; }
  // Unlinks the first waiter (the queue must not be empty), sets its outcome
  // and schedules its resumption. Returns it: the caller may still hand it
  // something (an item) before it runs.
  Waiter* wake_front(Waiter::Outcome o) {
    Waiter* w = head_;
    remove(w);
    w->outcome_ = o;
    w->loop_->schedule(w->h_);
    return w;
  }
  void wake_all(Waiter::Outcome o) {
    while (!empty()) wake_front(o);
  }
  // Wakes, in order, every waiter for which `pred(waiter)` is true; `pred`
  // may also hand it something.
  template <class Pred>
  void wake_if(Pred&& pred, Waiter::Outcome o) {
    for (Waiter* w = head_; w != nullptr;) {
      Waiter* next = w->next_;
      if (pred(w)) {
        remove(w);
        w->outcome_ = o;
        w->loop_->schedule(w->h_);
      }
      w = next;
    }
  }

 private:
  friend class Waiter;
  void push_back(Waiter* w) {
    w->queue_ = this;
    w->prev_ = tail_;
    w->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = w;
    } else {
      head_ = w;
    }
    tail_ = w;
    ++size_;
  }
  void remove(Waiter* w) {
    if (w->prev_ != nullptr) {
      w->prev_->next_ = w->next_;
    } else {
      head_ = w->next_;
    }
    if (w->next_ != nullptr) {
      w->next_->prev_ = w->prev_;
    } else {
      tail_ = w->prev_;
    }
    w->prev_ = w->next_ = nullptr;
    w->queue_ = nullptr;
    --size_;
  }

  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  size_t size_ = 0;
};

template <class P>
void Waiter::link(std::coroutine_handle<P> h, WaitQueue* q) {
  h_ = h;
  loop_ = EventLoop::current();
  fiber_ = h.promise().fiber();
  q->push_back(this);
  fiber_->set_hook(this);
}

inline void Waiter::request_cancel() noexcept {
  if (queue_ == nullptr) return;  // already has its outcome: keep it
  queue_->remove(this);
  outcome_ = Outcome::kCancelled;
  loop_->schedule(h_);
}

// The awaiter of a wait on a WaitQueue (Event::wait, Channel::send/recv,
// Semaphore::acquire, BufferedWriter::drain): the one order in which such a
// wait begins and ends. D, the awaiter, derives from QueueAwaiter<D>
// (befriending it) and provides
//   Outcome try_now();    // kGranted or kClosed: done without waiting (it
//                         // may take what it waited for); kNone: wait
//   WaitQueue* queue();   // where to wait
// and an await_resume() that calls finish() and maps its outcome to a result.
// A task already cancelled gets kCancelled without trying; otherwise
// try_now() runs, then the waiter is linked and the task suspends.
template <class D>
class QueueAwaiter : public Waiter {
 public:
  bool await_ready() const noexcept {
    BumpAwaitEpoch();
    return false;
  }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (cancelled_before(h)) return false;
    D* self = static_cast<D*>(this);
    if (const Outcome now = self->try_now(); now != Outcome::kNone) {
      set_outcome(now);
      return false;
    }
    link(h, self->queue());
    return true;
  }

 protected:
  // For await_resume: the wait's one outcome (the cancel hook cleared).
  Outcome finish() {
    unhook();
    return outcome();
  }

 private:
  friend D;  // only D derives from QueueAwaiter<D>
  QueueAwaiter() = default;
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_WAIT_QUEUE_H_
