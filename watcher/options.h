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
  //   1 (default): one poller thread, which with poller_takeover (below)
  //     does the polling and the I/O only while the wait_io() caller is
  //     away; while the caller waits, the caller polls. On the 2-core machine
  //     we benchmark on this matches caller-driven mode and the best
  //     single-threaded peers, where a thread that always polls loses 20-40%
  //     to the hand-over between threads; see docs/BENCHMARKS.md.
  //   N > 1: N poller threads, each always polling its own set.
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
  // until a wait_io() call finds nothing to take and asks for it back
  // (poll_io() does not ask). Deadlines fire on time either way: when one
  // falls due while the caller is away, the poller thread polls once.
  // While the caller is active the poller thread wakes once per period to
  // check; while it is idle inside wait_io() the poller thread sleeps.
  // Watcher::stats() counts takeovers and hand-backs.
  // With this, most I/O runs on the wait_io() thread: pin that thread, not
  // only the poller (poller_cpus), for CPU placement.
  // Zero: the poller thread always polls and hands every completion over
  // (the design of Go's gaio); pick it when the caller spends long stretches
  // outside wait_io() and I/O should overlap that work on another core.
  // With several pollers every poller thread always polls its own set.
  // Default 5 ms: long enough that a caller merely preempted for a time
  // slice is not taken over (at 1 ms, 64 KiB echo lost 6% to needless
  // takeovers), short enough that I/O never stalls long behind a busy
  // caller; Go's runtime polls the network after 10 ms the same way.
  // Negative values are refused with InvalidArgument.
  absl::Duration poller_takeover = absl::Milliseconds(5);

  // CPUs to pin the poller threads to: thread i runs only on
  // poller_cpus[i % poller_cpus.size()]. Empty (default): no pinning. Each CPU
  // must exist and be allowed to this process, else Create returns
  // InvalidArgument. Must be empty in caller-driven mode (num_pollers = 0),
  // where the caller's own thread does the polling: pin that thread instead.
  std::vector<int> poller_cpus;
};

}  // namespace gaio

#endif  // GAIO_WATCHER_OPTIONS_H_
