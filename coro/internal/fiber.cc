#include "coro/internal/fiber.h"

#include "coro/event_loop.h"

namespace gaio::coro::internal {

const OpResult* SyntheticCompletion(absl::Status status) {
  thread_local OpResult synthetic{};
  synthetic = OpResult{};
  synthetic.fd = -1;
  synthetic.status = std::move(status);
  return &synthetic;
}

void Fiber::cancel() noexcept {
  if (cancelled()) return;
  word_ |= kCancelled;
  const uintptr_t hook = word_ & ~(kCancelled | kRequest);
  if (hook == 0) return;
  if ((word_ & kRequest) != 0) {
    reinterpret_cast<PromiseBase*>(hook)->cancel_request(fd_);
  } else {
    reinterpret_cast<CancelHook*>(hook)->request_cancel();
  }
}

void PromiseBase::cancel_request(int fd) noexcept {
  if (EventLoop* loop = EventLoop::current()) loop->watcher().cancel(fd, ctx()).IgnoreError();
}

void Dispatch(const OpResult& r) noexcept {
  BumpAwaitEpoch();  // a task resumes: bytes other tasks hold stay stale
  if ((reinterpret_cast<uintptr_t>(r.ctx) & 1) != 0) {
    PromiseBase::FromCtx(r.ctx)->complete(r);
  } else {
    static_cast<Operation*>(r.ctx)->complete(r);
  }
}

}  // namespace gaio::coro::internal
