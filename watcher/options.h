// WatcherOptions: how a Watcher is built. Every field has a documented default.
#ifndef GAIO_WATCHER_OPTIONS_H_
#define GAIO_WATCHER_OPTIONS_H_

#include <cstddef>

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
};

}  // namespace gaio

#endif  // GAIO_WATCHER_OPTIONS_H_
