// HappyEyeballs: connects to the first of several addresses that answers,
// RFC 8305 style (docs/CORO.md, "Names"); what dial("name:port") awaits
// after resolve().
//
// The addresses are tried interleaved by family, starting with the family of
// the first (c-ares puts IPv6 first when it is usable), one attempt every
// kConnectionAttemptDelay or at once when the previous attempt fails, each a
// Watcher connect() on a socket of its own with the dial's deadline. The
// first that connects wins; the others are freed (Watcher::free cancels and
// closes them). The awaiter resumes once every attempt and the delay timer
// have reported: no fd and no request outlives the co_await. All failed:
// DeadlineExceeded if the deadline passed, else the first attempt's error.
#ifndef GAIO_CORO_INTERNAL_HAPPY_EYEBALLS_H_
#define GAIO_CORO_INTERNAL_HAPPY_EYEBALLS_H_

#include <coroutine>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coro/event_loop.h"
#include "coro/internal/fiber.h"
#include "coro/resolver_options.h"
#include "coro/socket.h"
#include "coro/task.h"

namespace gaio::coro::internal {

// RFC 8305 section 5's recommended Connection Attempt Delay.
inline constexpr absl::Duration kConnectionAttemptDelay = absl::Milliseconds(250);

// `addresses` reordered: families alternate, starting with the first's.
std::vector<SocketAddress> InterleaveFamilies(std::vector<SocketAddress> addresses);

class HappyEyeballs final : public CancelHook {
 public:
  HappyEyeballs(std::vector<SocketAddress> addresses, absl::Time deadline);
  HappyEyeballs(const HappyEyeballs&) = delete;
  HappyEyeballs& operator=(const HappyEyeballs&) = delete;
  ~HappyEyeballs();

  bool await_ready() const noexcept {
    BumpAwaitEpoch();
    return false;
  }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return Start(h, h.promise().fiber());
  }
  absl::StatusOr<Socket> await_resume();
  void request_cancel() noexcept override;

 private:
  struct Attempt;
  class Timer final : public Operation {
   public:
    explicit Timer(HappyEyeballs* he) : he_(he) {}
    void complete(const OpResult& r) noexcept override { he_->OnTimer(r); }
    void request_cancel() noexcept override {}

   private:
    HappyEyeballs* he_;
  };

  bool Start(std::coroutine_handle<> h, Fiber* fiber);
  // Starts the next attempt that can be started (skipping those whose
  // socket or connect is refused at once) and arms the delay timer.
  void StartNext();
  void OnAttempt(Attempt* a, const OpResult& r);
  void OnTimer(const OpResult& r);
  void Finish(absl::Status s);  // stops the others (not the winner)
  void NoteError(const absl::Status& s);
  void MaybeResume();

  std::vector<SocketAddress> addresses_;
  absl::Time deadline_;
  EventLoop* loop_ = nullptr;
  std::vector<std::unique_ptr<Attempt>> attempts_;
  size_t next_ = 0;
  int in_flight_ = 0;
  int pending_ = 0;  // Watcher requests not yet reported
  Timer timer_{this};
  bool timer_pending_ = false;
  bool advance_ = false;  // the timer's cancel means "start the next now"
  bool finished_ = false;
  absl::Status status_;  // the outcome once finished_ (OK: winner_)
  absl::Status first_error_;
  int winner_fd_ = -1;
  std::coroutine_handle<> waiter_ = nullptr;
  Fiber* fiber_ = nullptr;
};

// dial("name:port"): resolve() then HappyEyeballs.
Task<absl::StatusOr<Socket>> DialByName(std::string host, std::string service, absl::Time deadline,
                                        ResolverOptions options);

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_HAPPY_EYEBALLS_H_
