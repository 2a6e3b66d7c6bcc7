// Signals: delivered POSIX signals, awaited from a task (asyncio's
// add_signal_handler, as a stream).
//
//   absl::StatusOr<Signals> signals = Signals::Create(loop, {SIGINT, SIGTERM});
//   absl::StatusOr<int> signo = co_await signals->next();   // SIGINT or SIGTERM
//
// Built on gaio::SignalSet (watcher/signal_set.h): while a Signals exists,
// each of its signals has a handler that makes the signal one byte on a
// pipe, which the loop's Watcher reads. So it works in both Watcher modes
// and on the kqueue backend, needs no signal mask, and loses no signal that
// arrives before anyone waits: next() returns the signals in delivery order,
// one per call (a signal delivered while the pipe holds 64 KiB of unread
// ones is dropped, as the kernel coalesces a pending signal).
//
// next() -> the signal's number; Cancelled (the task was cancelled, or the
// loop stops); DeadlineExceeded (next(deadline)); FailedPrecondition (the
// loop is gone). Allocates nothing (Create() allocates once); one next()
// at a time.
//
// Create(): SignalSet::Create's errors (InvalidArgument for SIGKILL,
// SIGSTOP or a bad number; AlreadyExists when another Signals or SignalSet
// holds one of them). Destroying a Signals restores each signal's previous
// action. Loop thread only.
//
// Also async-signal-safe, for a handler of your own: EventLoop::stop().
#ifndef GAIO_CORO_SIGNALS_H_
#define GAIO_CORO_SIGNALS_H_

#include <coroutine>
#include <initializer_list>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "coro/event_loop.h"
#include "coro/socket.h"
#include "watcher/signal_set.h"

namespace gaio::coro {

class Signals {
 public:
  static absl::StatusOr<Signals> Create(EventLoop& loop, absl::Span<const int> signals);
  static absl::StatusOr<Signals> Create(EventLoop& loop, std::initializer_list<int> signals) {
    return Create(loop, absl::Span<const int>(signals.begin(), signals.size()));
  }

  template <class D>
  class [[nodiscard]] NextOp {
   public:
    NextOp(Socket::ReadOp<D> op, const unsigned char* byte) : op_(op), byte_(byte) {}
    bool await_ready() const noexcept { return op_.await_ready(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return op_.await_suspend(h);
    }
    absl::StatusOr<int> await_resume() const {
      absl::StatusOr<size_t> n = op_.await_resume();
      if (!n.ok()) return n.status();
      return static_cast<int>(*byte_);
    }

   private:
    Socket::ReadOp<D> op_;
    const unsigned char* byte_;
  };
  NextOp<internal::NoDeadline> next() { return {pipe_.read(Byte()), byte_.get()}; }
  NextOp<absl::Time> next(absl::Time deadline) {
    return {pipe_.read(Byte(), deadline), byte_.get()};
  }

 private:
  Signals(std::unique_ptr<SignalSet> set, Socket pipe)
      : set_(std::move(set)), pipe_(std::move(pipe)), byte_(std::make_unique<unsigned char>(0)) {}
  absl::Span<char> Byte() { return absl::Span<char>(reinterpret_cast<char*>(byte_.get()), 1); }

  std::unique_ptr<SignalSet> set_;
  Socket pipe_;
  std::unique_ptr<unsigned char> byte_;  // where next() reads (stable across moves)
};

}  // namespace gaio::coro

#endif  // GAIO_CORO_SIGNALS_H_
