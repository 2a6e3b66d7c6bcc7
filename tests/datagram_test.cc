// Message sockets through the Watcher, in every engine mode: datagram
// boundaries, empty datagrams, truncation reports, recv_from addresses (IPv4
// and IPv6), send_to to several peers, receives served by one recvmmsg and
// sends by sendmmsg (counted in WatcherStats), order and exactly-once under
// free/close, swap-buffer bounds, SOCK_SEQPACKET's end, and the refusals.
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/fault_util.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::Collect;
using ::gaio::testing::Completion;
using ::gaio::testing::kAllModes;
using ::gaio::testing::MakeWatcher;
using ::gaio::testing::ModeName;
using ::gaio::testing::Pattern;

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

// A UDP socket bound to an ephemeral port on the loopback of `family`.
int Udp(int family = AF_INET) {
  const int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_storage a{};
  socklen_t len;
  if (family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*v4);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    len = sizeof(*v6);
  }
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0) << strerror(errno);
  return fd;
}

sockaddr_storage NameOf(int fd, socklen_t* len) {
  sockaddr_storage a{};
  *len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), len);
  return a;
}

// Two UDP sockets connected to each other: [0] for the Watcher, [1] the peer.
std::pair<int, int> UdpPair() {
  const int a = Udp(), b = Udp();
  socklen_t la, lb;
  const sockaddr_storage na = NameOf(a, &la), nb = NameOf(b, &lb);
  EXPECT_EQ(connect(a, reinterpret_cast<const sockaddr*>(&nb), lb), 0);
  EXPECT_EQ(connect(b, reinterpret_cast<const sockaddr*>(&na), la), 0);
  return {a, b};
}

class Datagram : public ::testing::TestWithParam<int> {};

TEST_P(Datagram, OneDatagramPerReadEmptyIsOkNotEof) {
  Watcher w = MakeWatcher(GetParam());
  auto [fd, peer] = UdpPair();
  ASSERT_EQ(send(peer, "hello", 5, 0), 5);
  ASSERT_EQ(send(peer, "", 0, 0), 0);
  ASSERT_EQ(send(peer, "world!!", 7, 0), 7);
  char bufs[3][64];
  for (int i = 0; i < 3; ++i) GAIO_ASSERT_OK(w.read(Ctx(i), fd, absl::MakeSpan(bufs[i])));
  GAIO_ASSERT_OK(w.read(Ctx(3), fd, nullptr));
  ASSERT_EQ(send(peer, "", 0, 0), 0);  // an empty one into the swap buffer
  std::vector<Completion> c = Collect(w, 4);
  ASSERT_EQ(c.size(), 4u);
  const char* expected[] = {"hello", "", "world!!", ""};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c[i].ctx, Ctx(i));
    EXPECT_TRUE(c[i].status.ok()) << i << ": " << c[i].status;
    EXPECT_EQ(c[i].data, expected[i]) << i;
    EXPECT_EQ(c[i].size, strlen(expected[i])) << i;
  }
  EXPECT_TRUE(c[3].is_swap_buffer);
  // The socket keeps working after empty datagrams.
  ASSERT_EQ(send(peer, "more", 4, 0), 4);
  GAIO_ASSERT_OK(w.read(Ctx(4), fd, nullptr));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].data, "more");
  close(peer);
}

TEST_P(Datagram, TruncationIsDataLossWithTheBytesLost) {
  Watcher w = MakeWatcher(GetParam(), /*swap_buffer_size=*/64);
  auto [fd, peer] = UdpPair();
  const std::string big = Pattern(25, 3);
  ASSERT_EQ(send(peer, big.data(), big.size(), 0), 25);
  char small[10];
  GAIO_ASSERT_OK(w.read(Ctx(1), fd, absl::MakeSpan(small)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss(c[0].status)) << c[0].status;
  EXPECT_TRUE(absl::StrContains(c[0].status.message(), "15 bytes lost")) << c[0].status;
  EXPECT_EQ(c[0].size, 10u);
  EXPECT_EQ(c[0].data, big.substr(0, 10));
  // Larger than a whole swap half (64): DataLoss with the half delivered.
  const std::string huge = Pattern(100, 4);
  ASSERT_EQ(send(peer, huge.data(), huge.size(), 0), 100);
  GAIO_ASSERT_OK(w.read(Ctx(2), fd, nullptr));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss(c[0].status)) << c[0].status;
  EXPECT_EQ(c[0].size, 64u);
  EXPECT_EQ(c[0].data, huge.substr(0, 64));
  close(peer);
}

// Swap receives share a half per batch; a datagram that does not fit what
// is left of it waits for the next batch and arrives whole, never cut.
TEST_P(Datagram, SwapReceivesGetRoomForTheWholeDatagram) {
  Watcher w = MakeWatcher(GetParam(), /*swap_buffer_size=*/256);
  auto [fd, peer] = UdpPair();
  std::vector<std::string> sent;
  for (int i = 0; i < 40; ++i) {
    sent.push_back(Pattern(50 + (i * 37) % 200, 10 + i));  // 50..249 bytes
    ASSERT_EQ(send(peer, sent.back().data(), sent.back().size(), 0),
              static_cast<ssize_t>(sent.back().size()));
  }
  for (int i = 0; i < 40; ++i) GAIO_ASSERT_OK(w.read(Ctx(i), fd, nullptr));
  std::vector<Completion> c = Collect(w, 40);
  ASSERT_EQ(c.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(c[i].ctx, Ctx(i));
    EXPECT_TRUE(c[i].status.ok()) << i << ": " << c[i].status;
    EXPECT_EQ(c[i].data, sent[i]) << "datagram " << i;
  }
  close(peer);
}

TEST_P(Datagram, RecvFromReportsTheSenderIpv4AndIpv6) {
  for (int family : {AF_INET, AF_INET6}) {
    Watcher w = MakeWatcher(GetParam());
    const int fd = Udp(family);
    const int s1 = Udp(family), s2 = Udp(family);
    socklen_t len, l1, l2;
    const sockaddr_storage to = NameOf(fd, &len);
    const sockaddr_storage a1 = NameOf(s1, &l1), a2 = NameOf(s2, &l2);
    char buf[2][16];
    GAIO_ASSERT_OK(w.recv_from(Ctx(1), fd, absl::MakeSpan(buf[0])));
    GAIO_ASSERT_OK(w.recv_from(Ctx(2), fd, nullptr));
    ASSERT_EQ(sendto(s1, "one", 3, 0, reinterpret_cast<const sockaddr*>(&to), len), 3);
    ASSERT_EQ(sendto(s2, "two", 3, 0, reinterpret_cast<const sockaddr*>(&to), len), 3);
    std::vector<std::pair<std::string, std::string>> got;  // data, sender address bytes
    size_t n = 0;
    const absl::Time give_up = absl::Now() + testing::kPatience;
    while (n < 2 && absl::Now() < give_up) {
      absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(1));
      ASSERT_TRUE(batch.ok());
      for (const OpResult& r : *batch) {
        ASSERT_TRUE(r.status.ok()) << r.status;
        ASSERT_NE(r.peer, nullptr);
        got.emplace_back(std::string(r.buffer.data(), r.size),
                         std::string(reinterpret_cast<const char*>(r.peer), r.peer_len));
        ++n;
      }
    }
    ASSERT_EQ(got.size(), 2u) << family;
    EXPECT_EQ(got[0].first, "one");
    EXPECT_EQ(got[0].second, std::string(reinterpret_cast<const char*>(&a1), l1));
    EXPECT_EQ(got[1].first, "two");
    EXPECT_EQ(got[1].second, std::string(reinterpret_cast<const char*>(&a2), l2));
    // A plain read leaves peer null.
    ASSERT_EQ(sendto(s1, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), len), 1);
    GAIO_ASSERT_OK(w.read(Ctx(3), fd, nullptr));
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(testing::kPatience);
    ASSERT_TRUE(batch.ok() && batch->size() == 1u);
    EXPECT_EQ((*batch)[0].peer, nullptr);
    EXPECT_EQ((*batch)[0].peer_len, 0u);
    close(s1);
    close(s2);
  }
}

TEST_P(Datagram, SendToSeveralPeersIncludingEmptyDatagrams) {
  Watcher w = MakeWatcher(GetParam());
  const int fd = Udp();
  std::vector<int> receivers;
  std::vector<std::string> payloads = {"alpha", "", "gamma"};
  for (int i = 0; i < 3; ++i) {
    receivers.push_back(Udp());
    socklen_t len;
    const sockaddr_storage to = NameOf(receivers.back(), &len);
    GAIO_ASSERT_OK(w.send_to(Ctx(i), fd, payloads[i], reinterpret_cast<const sockaddr*>(&to), len));
  }
  std::vector<Completion> c = Collect(w, 3);
  ASSERT_EQ(c.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(c[i].status.ok()) << c[i].status;
    EXPECT_EQ(c[i].size, payloads[i].size());
    char buf[16];
    const ssize_t n = recv(receivers[i], buf, sizeof(buf), 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), payloads[i]);
    close(receivers[i]);
  }
}

// 32 receives queued with their own buffers and no data yet; 32 datagrams
// arrive; in caller-driven mode the next wait_io() reads them all with one
// recvmmsg. Other modes may take them in several, never one each.
TEST_P(Datagram, QueuedReceivesShareOneRecvmmsg) {
  Watcher w = MakeWatcher(GetParam());
  auto [fd, peer] = UdpPair();
  constexpr int kN = 32;
  char bufs[kN][16];
  for (int i = 0; i < kN; ++i) GAIO_ASSERT_OK(w.recv_from(Ctx(i), fd, absl::MakeSpan(bufs[i])));
  const WatcherStats before = w.stats();
  for (int i = 0; i < kN; ++i) {
    const std::string m = "m" + std::to_string(i);
    ASSERT_EQ(send(peer, m.data(), m.size(), 0), static_cast<ssize_t>(m.size()));
  }
  std::vector<Completion> c = Collect(w, kN);
  ASSERT_EQ(c.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(c[i].ctx, Ctx(i));
    EXPECT_EQ(c[i].data, "m" + std::to_string(i));
  }
  const WatcherStats after = w.stats();
  EXPECT_EQ(after.datagrams_received - before.datagrams_received, static_cast<uint64_t>(kN));
  const uint64_t calls = after.datagram_receive_calls - before.datagram_receive_calls;
  if (GetParam() == testing::kCallerDriven) {
    EXPECT_EQ(calls, 1u) << "all 32 in one recvmmsg";
  } else {
    EXPECT_LT(calls, static_cast<uint64_t>(kN));
  }
  close(peer);
}

// Sends queued behind a full receiver (AF_UNIX datagrams: the receiver's
// queue holds a few) go out with sendmmsg once it drains: fewer syscalls
// than datagrams, every datagram once, in order.
TEST_P(Datagram, QueuedSendsShareSendmmsg) {
  Watcher w = MakeWatcher(GetParam());
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  constexpr int kN = 1000;  // 512-byte datagrams: more than the receiver's queue holds
  std::vector<std::string> msgs;
  for (int i = 0; i < kN; ++i) msgs.push_back(std::to_string(i) + Pattern(500, i));
  for (int i = 0; i < kN; ++i) GAIO_ASSERT_OK(w.write(Ctx(i), sv[0], msgs[i]));
  std::vector<std::string> got;
  std::vector<Completion> c;
  const absl::Time give_up = absl::Now() + testing::kPatience;
  while ((got.size() < kN || c.size() < kN) && absl::Now() < give_up) {
    char buf[1024];
    for (ssize_t n; (n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT)) >= 0;) {
      got.emplace_back(buf, static_cast<size_t>(n));
    }
    std::vector<Completion> more = Collect(w, 1, absl::Milliseconds(5));
    c.insert(c.end(), more.begin(), more.end());
  }
  ASSERT_EQ(got.size(), static_cast<size_t>(kN));
  ASSERT_EQ(c.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(got[i], msgs[i]);
    EXPECT_EQ(c[i].ctx, Ctx(i));
    EXPECT_TRUE(c[i].status.ok()) << c[i].status;
  }
  const WatcherStats s = w.stats();
  EXPECT_EQ(s.datagrams_sent, static_cast<uint64_t>(kN));
  EXPECT_LT(s.datagram_send_calls, static_cast<uint64_t>(kN)) << "no send shared a syscall";
  close(sv[1]);
}

TEST_P(Datagram, FreeAndCloseCancelQueuedReceivesInOrder) {
  for (bool use_close : {false, true}) {
    Watcher w = MakeWatcher(GetParam());
    auto [fd, peer] = UdpPair();
    char buf[4][8];
    for (int i = 0; i < 4; ++i) GAIO_ASSERT_OK(w.recv_from(Ctx(i), fd, absl::MakeSpan(buf[i])));
    GAIO_ASSERT_OK(w.read(Ctx(4), fd, nullptr));
    GAIO_ASSERT_OK(use_close ? w.close() : w.free(fd));
    std::vector<Completion> c = Collect(w, 5);
    ASSERT_EQ(c.size(), 5u);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(c[i].ctx, Ctx(i));
      EXPECT_TRUE(absl::IsCancelled(c[i].status)) << c[i].status;
    }
    EXPECT_FALSE(testing::FdIsOpen(fd));
    close(peer);
  }
}

TEST_P(Datagram, SeqpacketEmptyMessageThenEof) {
  Watcher w = MakeWatcher(GetParam());
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  ASSERT_EQ(send(sv[1], "rec", 3, 0), 3);
  ASSERT_EQ(send(sv[1], "", 0, 0), 0);
  char buf[2][8];
  GAIO_ASSERT_OK(w.read(Ctx(1), sv[0], absl::MakeSpan(buf[0])));
  GAIO_ASSERT_OK(w.read(Ctx(2), sv[0], absl::MakeSpan(buf[1])));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].data, "rec");
  EXPECT_TRUE(c[1].status.ok()) << c[1].status;  // an empty message, not the end
  EXPECT_EQ(c[1].size, 0u);
  shutdown(sv[1], SHUT_WR);
  GAIO_ASSERT_OK(w.read(Ctx(3), sv[0], nullptr));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(IsEof(c[0].status)) << c[0].status;
  close(sv[1]);
}

TEST_P(Datagram, RefusalsTouchNothing) {
  Watcher w = MakeWatcher(GetParam());
  auto [fd, peer] = UdpPair();
  char buf[8];
  // read_full and accept make no sense on a message socket; the fd stays
  // unregistered.
  EXPECT_EQ(w.read_full(Ctx(1), fd, absl::MakeSpan(buf)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.accept(Ctx(1), fd).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.free(fd).code(), absl::StatusCode::kNotFound);
  // recv_from/send_to need one; an empty write on a stream is refused.
  absl::StatusOr<testing::FdPair> stream = testing::TcpPair();
  ASSERT_TRUE(stream.ok());
  socklen_t len;
  const sockaddr_storage to = NameOf(fd, &len);
  EXPECT_EQ(w.recv_from(Ctx(2), stream->watched, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.send_to(Ctx(2), stream->watched, absl::string_view("x"),
                      reinterpret_cast<const sockaddr*>(&to), len)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.write(Ctx(2), stream->watched, absl::string_view()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.send_to(Ctx(2), fd, absl::string_view("x"), nullptr, 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.free(stream->watched).code(), absl::StatusCode::kNotFound);
  close(fd);
  close(peer);
  close(stream->watched);
  close(stream->peer);
}

// Issue 19: a gather write on a message socket is one datagram whatever the
// number of pieces (it went out as two past 64); more pieces than one
// sendmsg takes are refused at submission, never split.
TEST_P(Datagram, WritevOfManyPiecesIsOneDatagram) {
  for (int type : {SOCK_DGRAM, SOCK_SEQPACKET}) {
    Watcher w = MakeWatcher(GetParam());
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
    const std::string bytes = Pattern(200);
    std::vector<absl::Span<const char>> pieces;
    for (size_t i = 0; i < bytes.size(); ++i) pieces.emplace_back(bytes.data() + i, 1);
    GAIO_ASSERT_OK(w.writev(Ctx(1), sv[0], pieces));
    std::vector<Completion> c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u);
    GAIO_EXPECT_OK(c[0].status);
    EXPECT_EQ(c[0].size, bytes.size());
    char got[4 * IOV_MAX];
    EXPECT_EQ(recv(sv[1], got, sizeof(got), MSG_DONTWAIT), static_cast<ssize_t>(bytes.size()));
    EXPECT_EQ(std::string(got, bytes.size()), bytes);
    EXPECT_EQ(recv(sv[1], got, sizeof(got), MSG_DONTWAIT), -1) << "a second datagram";
    // IOV_MAX + 1 pieces: InvalidArgument, nothing sent.
    const std::string one = "x";
    std::vector<absl::Span<const char>> too_many(IOV_MAX + 1, absl::Span<const char>(one));
    EXPECT_EQ(w.writev(Ctx(2), sv[0], too_many).code(), absl::StatusCode::kInvalidArgument);
    too_many.pop_back();
    GAIO_ASSERT_OK(w.writev(Ctx(3), sv[0], too_many));
    c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u);
    GAIO_EXPECT_OK(c[0].status);
    EXPECT_EQ(recv(sv[1], got, sizeof(got), MSG_DONTWAIT), IOV_MAX)
        << "IOV_MAX pieces: one datagram of IOV_MAX bytes";
    EXPECT_EQ(recv(sv[1], got, sizeof(got), MSG_DONTWAIT), -1) << "a second datagram";
    GAIO_EXPECT_OK(w.free(sv[0]));
    close(sv[1]);
  }
}

// Issue 19: a swap receive on a UDP socket whose pending error (an ICMP
// port unreachable: ECONNREFUSED) is taken by the size peek completes with
// that error; it hung before (the peek cleared the error, the receive found
// nothing, no edge came). The peek happens in a half already in use, so
// another socket of the same shard fills some of it first.
TEST_P(Datagram, SwapReceiveReportsAPendingSocketError) {
  Watcher w = MakeWatcher(GetParam());
  const int pollers = std::max(1, testing::ModePollers(GetParam()));
  auto [other, other_peer] = UdpPair();
  // A UDP socket connected to a port nobody listens on (bound, then closed).
  int fd = Udp();
  {
    const int gone = Udp();
    socklen_t len;
    const sockaddr_storage to = NameOf(gone, &len);
    close(gone);
    ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&to), len), 0);
  }
  // Same shard as `other` (fd % pollers).
  std::vector<int> spare;
  while (fd % pollers != other % pollers) {
    spare.push_back(fd);
    fd = dup(fd);
  }
  for (int f : spare) close(f);
  ASSERT_EQ(send(fd, "?", 1, 0), 1);  // draws the ICMP port unreachable
  pollfd p{fd, POLLERR, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1) << "no ICMP error arrived";
  ASSERT_EQ(send(other_peer, "first", 5, 0), 5);
  GAIO_ASSERT_OK(w.read(Ctx(1), other, nullptr));  // completes at once: the half is in use
  GAIO_ASSERT_OK(w.read(Ctx(2), fd, nullptr));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u) << "the receive with the pending error never completed";
  EXPECT_EQ(c[0].data, "first");
  EXPECT_EQ(c[1].ctx, Ctx(2));
  EXPECT_EQ(ErrnoOf(c[1].status), ECONNREFUSED) << c[1].status;
  GAIO_EXPECT_OK(w.free(fd));
  GAIO_EXPECT_OK(w.free(other));
  close(other_peer);
}

INSTANTIATE_TEST_SUITE_P(AllModes, Datagram, ::testing::ValuesIn(kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return ModeName(info.param);
                         });

}  // namespace
}  // namespace gaio
