// AresLookup: one c-ares lookup (ares_getaddrinfo) driven by the loop's
// Watcher, awaited by resolve() (resolve.h).
//
// The lookup has a channel of its own, created by Start and destroyed
// before the awaiter resumes. c-ares tells which of its sockets it wants to
// read or write (ARES_OPT_SOCK_STATE_CB); each such wish is a Watcher
// readiness request (wait_readable / wait_writable) whose completion calls
// ares_process_fd. One Watcher timer covers both c-ares's next timeout
// (ares_timeout) and the lookup's deadline.
//
// Fd ownership. A readiness request makes the Watcher own the fd (watcher.h),
// so c-ares must not close it behind the Watcher's back: the channel's
// socket functions (ares_set_socket_functions) route its close through
// Watcher::free() for an fd the Watcher owns (::close otherwise). A dup()
// per socket would cost an fd each and leave c-ares's own close racing the
// Watcher's registration; routing the close keeps one fd per socket.
//
// Exactly once. Every accepted Watcher request reports once; the awaiter
// resumes only when the lookup is done, its channel destroyed and no request
// of it is pending (a request cancelled by free() or cancel() still reports).
// A cancellation of the task (request_cancel) runs ares_cancel and the same
// teardown; if nothing is pending then, the awaiter is scheduled on the loop
// (a hook never resumes inline).
#ifndef GAIO_CORO_INTERNAL_ARES_LOOKUP_H_
#define GAIO_CORO_INTERNAL_ARES_LOOKUP_H_

#include <coroutine>
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

struct ares_channeldata;
struct ares_addrinfo;

namespace gaio::coro::internal {

// c-ares's status code as a Status (the mapping of resolve.h).
absl::Status AresStatus(int code, const char* what);

class AresLookup final : public CancelHook {
 public:
  AresLookup(std::string host, std::string service, const ResolverOptions& options,
             absl::Time deadline);
  AresLookup(const AresLookup&) = delete;
  AresLookup& operator=(const AresLookup&) = delete;
  ~AresLookup();

  bool await_ready() const noexcept {
    BumpAwaitEpoch();
    return false;
  }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return Start(h, h.promise().fiber());
  }
  absl::StatusOr<std::vector<SocketAddress>> await_resume();

  void request_cancel() noexcept override;

  // For the c-ares callbacks (ares_lookup.cc).
  struct Sock;
  Sock* Find(int fd);
  Sock* Opened(int fd);
  int Close(int fd);
  void SockState(int fd, bool read, bool write);
  void Answer(int code, ares_addrinfo* res);

 private:
  class Timer final : public Operation {
   public:
    explicit Timer(AresLookup* l) : l_(l) {}
    void complete(const OpResult& r) noexcept override { l_->OnTimer(r); }
    void request_cancel() noexcept override {}

   private:
    AresLookup* l_;
  };

  bool Start(std::coroutine_handle<> h, Fiber* fiber);
  absl::Status Init();
  // After every call into c-ares: tear down when done, else submit what
  // c-ares waits for.
  void AfterAres();
  void Pump();
  void Rearm();
  void Fail(absl::Status s);
  void OnTimer(const OpResult& r);
  void OnSock(Sock* s, const OpResult& r);
  void MaybeResume();

  std::string host_, service_;
  ResolverOptions options_;
  absl::Time deadline_;
  EventLoop* loop_ = nullptr;
  ares_channeldata* channel_ = nullptr;
  std::vector<std::unique_ptr<Sock>> socks_;  // kept until the end: they are ctxs
  Timer timer_{this};
  absl::Time timer_due_ = absl::InfiniteFuture();
  bool timer_pending_ = false;
  int pending_ = 0;  // Watcher requests not yet reported
  bool done_ = false;
  absl::Status status_;
  std::vector<SocketAddress> addresses_;
  std::coroutine_handle<> waiter_ = nullptr;
  Fiber* fiber_ = nullptr;
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_ARES_LOOKUP_H_
