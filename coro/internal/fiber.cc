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

void PromiseBase::request_cancel() noexcept {
  if (EventLoop* loop = EventLoop::current()) loop->watcher().cancel(fd_, ctx()).IgnoreError();
}

}  // namespace gaio::coro::internal
