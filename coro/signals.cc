#include "coro/signals.h"

#include <utility>

namespace gaio::coro {

absl::StatusOr<Signals> Signals::Create(EventLoop& loop, absl::Span<const int> signals) {
  absl::StatusOr<std::unique_ptr<SignalSet>> set = SignalSet::Create(signals);
  if (!set.ok()) return set.status();
  Socket pipe(loop, (*set)->TakeReadFd());
  return Signals(std::move(*set), std::move(pipe));
}

}  // namespace gaio::coro
