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
  //   1 (default): one poller thread; with poller_takeover (below) the
  //     wait_io() caller polls and does the I/O while it waits, and the
  //     thread only while the caller is away.
  //   N > 1: N poller threads, each always polling its own set.
  //   0: caller-driven mode. No thread is started; wait_io() polls and does
  //     the I/O in the calling thread. Submissions from other threads still
  //     work and wake the caller.
  // Which to pick, with measurements: docs/BENCHMARKS.md. Outside [0, 1024]:
  // InvalidArgument.
  int num_pollers = 1;

  // Bytes per swap-buffer half. Reads submitted without a buffer land in it.
  // Each poller owns two halves (mapped at the first swap read), so swap
  // memory is 2 * swap_buffer_size per poller whatever the number of fds. A
  // swap read is offered at least swap_buffer_size / 4 bytes of space; when
  // less is left in the current batch, it waits for the next wait_io() call.
  // Outside [64, 1 GiB]: InvalidArgument. A swap read submitted when the
  // memory cannot be had returns ResourceExhausted.
  size_t swap_buffer_size = size_t{64} * 1024;

  // Busy polling, for the lowest latency. Before going to sleep, each poller
  // thread (or, in caller-driven mode, wait_io()) keeps polling without
  // blocking for up to this long, and a wait_io() in threaded mode keeps
  // checking for completions for up to this long. Costs CPU: while idle,
  // every spinning thread burns up to busy_poll per wait.
  // absl::InfiniteDuration(): never sleep (a core per spinning thread).
  // Zero (default): off. Negative: InvalidArgument.
  absl::Duration busy_poll = absl::ZeroDuration();

  // Threaded mode with one poller: who polls the readiness set. While
  // wait_io() waits, the calling thread polls it and performs the ready I/O
  // itself. Once the caller has stayed out of wait_io() for about this long
  // (between 1x and 2x), the poller thread takes the polling over and keeps
  // the I/O going until a wait_io() call asks for it back (poll_io() does
  // not ask). Deadlines fire on time either way: when one falls due while
  // the caller is away, the poller thread polls once. Watcher::stats()
  // counts takeovers and hand-backs. Most I/O then runs on the wait_io()
  // thread: pin that thread, not only the poller (poller_cpus).
  // Zero: the poller thread always polls and hands every completion over
  // (as Go's gaio does). absl::InfiniteDuration(): the thread never takes
  // over, it only polls for deadlines that fall due while the caller is
  // away. With several pollers every poller thread always polls its own set.
  // Default 5 ms (the choice is measured in docs/BENCHMARKS.md). Negative:
  // InvalidArgument.
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
