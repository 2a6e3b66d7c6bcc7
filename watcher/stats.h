// WatcherStats: counters of what a Watcher did (Watcher::stats()).
#ifndef GAIO_WATCHER_STATS_H_
#define GAIO_WATCHER_STATS_H_

#include <cstdint>

namespace gaio {

struct WatcherStats {
  // Times a poller thread took the polling over from a wait_io() caller that
  // stayed away, and times it handed it back to a caller waiting for it.
  uint64_t takeovers = 0;
  uint64_t handbacks = 0;
  // Single polls a poller thread made because a deadline fell due while the
  // caller was away.
  uint64_t deadline_polls = 0;
  // Message (datagram) sockets: receive syscalls (recvmsg, recvmmsg, and the
  // MSG_PEEK that sizes a swap-buffer receive) and the datagrams they
  // delivered; send syscalls (sendmsg, sendmmsg) and the datagrams sent.
  // Several receives (or sends) queued on one fd share one syscall.
  uint64_t datagram_receive_calls = 0;
  uint64_t datagrams_received = 0;
  uint64_t datagram_send_calls = 0;
  uint64_t datagrams_sent = 0;
};

}  // namespace gaio

#endif  // GAIO_WATCHER_STATS_H_
