// WatcherOptions: how a Watcher is built. Every field has a documented default.
#ifndef GAIO_WATCHER_OPTIONS_H_
#define GAIO_WATCHER_OPTIONS_H_

#include <cstddef>
#include <vector>

#include "absl/time/time.h"

namespace gaio {

struct WatcherOptions {
  // Poller threads. Each owns one epoll/kqueue set and the fds whose number
  // is congruent to its index modulo num_pollers, and performs their reads
  // and writes itself.
  //   1 (default): one poller thread; the thread calling wait_io() is the
  //     second. Chosen because it fills the 2-core machines we benchmark on;
  //     see docs/BENCHMARKS.md.
  //   0: caller-driven mode. No thread is started; wait_io() polls and does
  //     the I/O in the calling thread. Submissions from other threads still
  //     work and wake the caller.
  //   Negative values are refused by Watcher::Create with InvalidArgument.
  int num_pollers = 1;

  // Bytes per swap-buffer half. Reads submitted without a buffer land in it.
  // Each poller owns two halves (allocated on first use), so swap memory is
  // 2 * swap_buffer_size per poller whatever the number of fds. A swap read
  // is offered at least swap_buffer_size / 4 bytes of space; when less is
  // left in the current batch, it waits for the next wait_io() call.
  // Must be at least 64; smaller values are refused with InvalidArgument.
  size_t swap_buffer_size = 64 * 1024;

  // Busy polling, for the lowest latency (like Sonic's RunWarm). Before
  // going to sleep, each poller thread (or, in caller-driven mode, wait_io())
  // keeps polling without blocking for up to this long, and a wait_io() in
  // threaded mode keeps checking for completions for up to this long. This
  // skips the sleep/wake-up (epoll sleep, futex) on traffic that arrives
  // within the window, and costs CPU: while idle, every spinning thread burns
  // busy_poll of CPU per wait, i.e. up to a whole core each under steady
  // light traffic. Zero (default): off. Negative values are refused.
  absl::Duration busy_poll = absl::ZeroDuration();

  // Threaded mode with one poller: who polls the readiness set. While
  // wait_io() waits, the calling thread polls it and performs the ready I/O
  // itself, as in caller-driven mode, so a completion is not handed over
  // between threads (no futex wake-up, no second busy thread). Once the
  // caller has stayed out of wait_io() for about this long (between 1x and
  // 2x), the poller thread takes the polling over and keeps the I/O going
  // until the caller next waits with nothing to take. While the caller is
  // active the poller thread wakes once per period to check; while it is
  // idle inside wait_io() the poller thread sleeps.
  // Zero: the poller thread always polls and hands every completion over
  // (the design of Go's gaio). With several pollers every poller thread
  // always polls its own set. Negative values are refused.
  absl::Duration poller_takeover = absl::Milliseconds(1);

  // CPUs to pin the poller threads to: thread i runs only on
  // poller_cpus[i % poller_cpus.size()]. Empty (default): no pinning. Each CPU
  // must exist and be allowed to this process, else Create returns
  // InvalidArgument. Must be empty in caller-driven mode (num_pollers = 0),
  // where the caller's own thread does the polling: pin that thread instead.
  std::vector<int> poller_cpus;
};

}  // namespace gaio

#endif  // GAIO_WATCHER_OPTIONS_H_
