#include "coro/future.h"

namespace gaio::coro::internal {

void FutureStateBase::Wake(std::coroutine_handle<> h, EventLoop* loop) {
  if (loop == EventLoop::current()) {
    loop->schedule(h);
  } else {
    loop->schedule_remote(h);
  }
}

}  // namespace gaio::coro::internal
