// Message sockets (SOCK_DGRAM, SOCK_SEQPACKET): one request moves one whole
// message. Receives queued with their own buffers are served by one
// recvmmsg, sends by one sendmmsg. A swap-buffer receive gets room for the
// whole datagram: in a half already in use it first learns the datagram's
// length (MSG_PEEK | MSG_TRUNC; not needed on a UDP socket while the rest of
// the half holds 64 KiB) and waits for the next batch's fresh half when it
// does not fit; one larger than a whole half completes with
// DataLoss, as one larger than the caller's buffer does. Every function here
// runs with the shard's mutex held.
#include <cassert>
#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "poller/fd_io.h"
#include "poller/posix_error.h"
#include "watcher/datagram_storage.h"
#include "watcher/shard.h"
#include "watcher/statuses.h"
#include "watcher/write_vector.h"

namespace gaio::internal {
namespace {

constexpr int kBatch = 64;  // requests per recvmmsg / sendmmsg

}  // namespace

absl::Status Shard::DatagramStatus(const FdState* s, const DatagramSlot& slot) const {
  if (slot.dropped > 0) {
    return absl::DataLossError(absl::StrCat("read: a datagram of ", slot.n + slot.dropped,
                                            " bytes did not fit: ", slot.dropped, " bytes lost"));
  }
  // A zero-length read is an empty message, except on a sequenced-packet
  // socket whose peer has shut down, where it is the end. (The kernel
  // reports both alike: an empty message sent just before the shutdown is
  // taken for the end.)
  if (slot.n == 0 && s->is_seqpacket && (s->hangup || PeerShutDown(s->fd))) return EofStatus();
  return absl::OkStatus();
}

Shard::Attempt Shard::TryReceive(FdState* s, RequestId id) {
  Request& r = pool_[id];
  const bool swap = r.data == nullptr;
  char* dst = r.data;
  size_t cap = r.len;
  if (swap) {
    if (s->swap_turn == Turn()) return Attempt::kNoTurn;
    // In a half already in use, learn the datagram's length first, unless
    // the rest holds any datagram this socket can carry.
    if (!swap_.fresh() && !(s->is_udp && swap_.available() >= kMaxUdpDatagram)) {
      const IoResult next = PeekDatagramSize(s->fd);
      ++datagram_receive_calls_;
      if (next.would_block()) {
        s->readable = false;
        return Attempt::kWouldBlock;
      }
      if (next.n < 0) {
        // A pending socket error (ECONNREFUSED after an ICMP unreachable):
        // the peek took it, so it is this receive's result.
        Complete(s, id, PosixError(next.err, "read"));
        return Attempt::kDone;
      }
      if (static_cast<size_t>(next.n) > swap_.available()) {
        return Attempt::kNoSwapSpace;  // the next batch's fresh half
      }
    }
    swap_.ReserveRest(&dst, &cap);
  }
  DatagramSlot slot{.buf = dst, .cap = cap, .peer = r.want_peer ? peers_.Reserve() : nullptr};
  const IoResult io = ReceiveDatagram(s->fd, &slot);
  ++datagram_receive_calls_;
  if (io.n < 0 && slot.peer != nullptr) peers_.Unreserve(1);  // no datagram, no address
  if (io.would_block()) {
    s->readable = false;
    return Attempt::kWouldBlock;
  }
  if (io.n < 0) {
    Complete(s, id, PosixError(io.err, "read"));
    return Attempt::kDone;
  }
  ++datagrams_received_;
  if (swap) {
    swap_.Commit(slot.n);
    s->swap_turn = Turn();
  }
  r.done = slot.n;
  Complete(s, id, DatagramStatus(s, slot),
           Extra{.swap_bytes = swap ? absl::Span<char>(dst, slot.n) : absl::Span<char>(),
                 .peer = reinterpret_cast<const sockaddr*>(slot.peer),
                 .peer_len = slot.peer_len});
  return Attempt::kDone;
}

Shard::Attempt Shard::TryReceiveBatch(FdState* s) {
  // The own-buffer receives at the head of the line, up to a swap receive.
  RequestId ids[kBatch];
  int count = 0;
  pool_.ForEachWhile(s->reads, [&](RequestId id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (pool_[id].op != OpType::kRead || pool_[id].data == nullptr || count == kBatch) return false;
    ids[count++] = id;
    return true;
  });
  if (count <= 1) return TryReceive(s, s->reads.head);
  DatagramSlot slots[kBatch];
  for (int i = 0; i < count; ++i) {
    Request& r = pool_[ids[i]];
    slots[i] = DatagramSlot{
        .buf = r.data, .cap = r.len, .peer = r.want_peer ? peers_.Reserve() : nullptr};
  }
  int err = 0;
  const int n = ReceiveDatagrams(s->fd, slots, count, &err);
  ++datagram_receive_calls_;
  // Address slots reserved for datagrams that did not come go back (they
  // are the arena's last ones): the arena holds what the batch delivers.
  int unused_peers = 0;
  for (int i = n < 0 ? 0 : n; i < count; ++i) unused_peers += slots[i].peer != nullptr;
  peers_.Unreserve(static_cast<size_t>(unused_peers));
  if (n < 0) {
    if (err == EAGAIN || err == EWOULDBLOCK) {
      s->readable = false;
      return Attempt::kWouldBlock;
    }
    Complete(s, ids[0], PosixError(err, "read"));
    return Attempt::kDone;
  }
  datagrams_received_ += static_cast<uint64_t>(n);
  for (int i = 0; i < n; ++i) {
    pool_[ids[i]].done = slots[i].n;
    Complete(s, ids[i], DatagramStatus(s, slots[i]),
             Extra{.peer = reinterpret_cast<const sockaddr*>(slots[i].peer),
                   .peer_len = slots[i].peer_len});
  }
  // Fewer than asked from a non-blocking socket: it has nothing more now.
  if (n < count) s->readable = false;
  return Attempt::kDone;
}

Shard::Attempt Shard::TrySendBatch(FdState* s) {
  // Whole datagrams at the head of the line; a gather write (writev) goes
  // alone, as one datagram of all its pieces (CheckKind refused more pieces
  // than one sendmsg takes).
  if (pool_[s->writes.head].vectored) {
    const RequestId id = s->writes.head;
    Request& r = pool_[id];
    assert(!r.addressed);  // no call makes a gather send_to
    const IoResult io = SendDatagramV(s->fd, WriteVector::Get(r.data));
    ++datagram_send_calls_;
    if (io.would_block()) {
      s->writable = false;
      return Attempt::kWouldBlock;
    }
    if (io.n < 0) {
      Complete(s, id, PosixError(io.err, "write"));
      return Attempt::kDone;
    }
    ++datagrams_sent_;
    assert(static_cast<size_t>(io.n) == r.len);  // a datagram goes whole or not at all
    Advance(s, r, static_cast<size_t>(io.n));
    Complete(s, id, absl::OkStatus());
    return Attempt::kDone;
  }
  RequestId ids[kBatch];
  DatagramOut out[kBatch];
  int count = 0;
  pool_.ForEachWhile(s->writes, [&](RequestId id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Request& r = pool_[id];
    if (r.op != OpType::kWrite || r.vectored || count == kBatch) return false;
    const SendTarget* t = r.addressed ? reinterpret_cast<SendTarget*>(r.data) : nullptr;
    out[count] = DatagramOut{.buf = BytesOf(r),
                             .len = r.len,
                             .to = t ? reinterpret_cast<const sockaddr*>(&t->addr) : nullptr,
                             .to_len = t ? t->addr_len : 0};
    ids[count++] = id;
    return true;
  });
  int err = 0;
  int n;
  if (count == 1) {
    const IoResult io = SendDatagram(s->fd, out[0]);
    n = io.n < 0 ? -1 : 1;
    err = io.err;
  } else {
    n = SendDatagrams(s->fd, out, count, &err);
  }
  ++datagram_send_calls_;
  if (n < 0) {
    if (err == EAGAIN || err == EWOULDBLOCK) {
      s->writable = false;
      return Attempt::kWouldBlock;
    }
    Complete(s, ids[0], PosixError(err, "write"));
    return Attempt::kDone;
  }
  datagrams_sent_ += static_cast<uint64_t>(n);
  for (int i = 0; i < n; ++i) {
    Request& r = pool_[ids[i]];
    Advance(s, r, r.len - r.done);
    Complete(s, ids[i], absl::OkStatus());
  }
  return Attempt::kDone;
}

}  // namespace gaio::internal
