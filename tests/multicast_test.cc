// The multicast helpers of //net, in a private network namespace this test
// makes for itself (tests/private_network.h): IPv4 on the loopback, IPv6 and
// the loopback option on a tun device. Nothing leaves the machine; the
// host's interfaces and routes are untouched. Without namespaces the cases
// skip, saying why.
//
// "Nothing arrives" is checked without waiting for a timeout: a witness
// socket that stays a member gets the same datagram in the same kernel
// delivery pass (multicast is delivered to every member socket in one go),
// so once the witness has it, the socket under test would have it too.
#include "net/multicast.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "net/address.h"
#include "net/udp.h"
#include "poller/posix_error.h"
#include "tests/fault_util.h"
#include "tests/private_network.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio::net {
namespace {

using ::gaio::testing::Network;

#define REQUIRE_PRIVATE_NETWORK()                                           \
  do {                                                                      \
    if (!Network().status.ok()) GTEST_SKIP() << Network().status.message(); \
  } while (0)

// Where a family's cases run: the interface, a group, two local sources.
struct Setup {
  const char* name;
  bool on_tun;  // else the loopback
  const char* group;
  const char* source1;
  const char* source2;
};

void PrintTo(const Setup& setup, std::ostream* os) { *os << setup.name; }

constexpr Setup kIpv4Lo{"Ipv4Loopback", false, "239.255.10.1", "127.0.0.1", "127.0.0.2"};
constexpr Setup kIpv6Tun{"Ipv6Tun", true, "ff05::10:1", "fd00:99::1", "fd00:99::2"};
constexpr Setup kIpv4Tun{"Ipv4Tun", true, "239.255.10.2", "10.99.0.1", "10.99.0.1"};

// An fd closed at the end of the scope.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

struct Datagram {
  std::string data;
  SocketAddress from;
};

MulticastSenderOptions SenderOptions(unsigned interface, int ttl = 1, bool loopback = true) {
  MulticastSenderOptions o;
  o.interface = interface;
  o.ttl = ttl;
  o.loopback = loopback;
  return o;
}

SocketAddress Ip(const char* ip, uint16_t port = 0) {
  absl::StatusOr<SocketAddress> a = SocketAddress::FromIp(ip, port);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : SocketAddress();
}

// One datagram from fd, waiting at most kPatience for it.
absl::StatusOr<Datagram> Receive(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(gaio::testing::kPatience))) != 1) {
    return absl::DeadlineExceededError("no datagram arrived");
  }
  char buf[2048];
  sockaddr_storage from{};
  socklen_t len = sizeof(from);
  const ssize_t n =
      recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) return absl::ErrnoToStatus(errno, "recvfrom");
  absl::StatusOr<SocketAddress> sender =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from), len);
  if (!sender.ok()) return sender.status();
  return Datagram{std::string(buf, static_cast<size_t>(n)), *sender};
}

// True when fd has no datagram queued right now.
bool NothingQueued(int fd) {
  char c;
  return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

class Multicast : public ::testing::TestWithParam<Setup> {
 protected:
  void SetUp() override {
    REQUIRE_PRIVATE_NETWORK();
    if (GetParam().on_tun && !Network().tun_status.ok()) {
      GTEST_SKIP() << Network().tun_status.message();
    }
    interface_ = GetParam().on_tun ? Network().tun : Network().lo;
    // A first receiver picks the port; the others bind the same group:port.
    absl::StatusOr<int> fd = OpenMulticastReceiver(Ip(GetParam().group, 0));
    ASSERT_TRUE(fd.ok()) << fd.status();
    first_.fd = *fd;
    absl::StatusOr<SocketAddress> local = LocalAddress(first_.fd);
    ASSERT_TRUE(local.ok()) << local.status();
    group_ = Ip(GetParam().group, local->port());
  }

  // A receiver of group_, joined any-source unless `join` is false.
  int Receiver(bool join = true) {
    absl::StatusOr<int> fd = OpenMulticastReceiver(group_);
    EXPECT_TRUE(fd.ok()) << fd.status();
    if (!fd.ok()) return -1;
    fds_.push_back(std::make_unique<Fd>(*fd));
    if (join) {
      const absl::Status s = JoinGroup(*fd, group_, interface_);
      EXPECT_TRUE(s.ok()) << s;
    }
    return *fd;
  }

  // A sender whose datagrams come from `source` and leave by the interface.
  int Sender(const char* source, bool loopback = true) {
    absl::StatusOr<int> fd =
        OpenMulticastSender(Ip(source, 0), SenderOptions(interface_, 1, loopback));
    EXPECT_TRUE(fd.ok()) << fd.status();
    if (!fd.ok()) return -1;
    fds_.push_back(std::make_unique<Fd>(*fd));
    return *fd;
  }

  void Send(int fd, absl::string_view payload) {
    ASSERT_EQ(sendto(fd, payload.data(), payload.size(), 0, group_.get(), group_.size()),
              static_cast<ssize_t>(payload.size()))
        << std::strerror(errno);
  }

  // Receives one datagram on fd and checks its bytes (and sender when given).
  void Expect(int fd, absl::string_view payload, const char* source = nullptr) {
    absl::StatusOr<Datagram> d = Receive(fd);
    ASSERT_TRUE(d.ok()) << d.status() << " waiting for \"" << payload << "\"";
    EXPECT_EQ(d->data, payload);
    if (source != nullptr) {
      EXPECT_EQ(d->from.IpString(), Ip(source).IpString());
    }
  }

  unsigned interface_ = 0;
  SocketAddress group_;
  Fd first_;
  std::vector<std::unique_ptr<Fd>> fds_;
};

TEST_P(Multicast, JoinReceiveLeave) {
  const int r = Receiver();
  const int witness = Receiver();
  const int s = Sender(GetParam().source1);
  Send(s, "one");
  Expect(r, "one", GetParam().source1);
  Expect(witness, "one");

  ASSERT_TRUE(LeaveGroup(r, group_, interface_).ok());
  Send(s, "two");
  Expect(witness, "two");
  EXPECT_TRUE(NothingQueued(r)) << "a datagram arrived after LeaveGroup";

  // Leaving again, and joining twice, are the kernel's errors.
  const absl::Status again = LeaveGroup(r, group_, interface_);
  EXPECT_EQ(internal::ErrnoOf(again), EADDRNOTAVAIL) << again;
  EXPECT_TRUE(absl::StrContains(again.message(), "MCAST_LEAVE_GROUP")) << again;
  const absl::Status twice = JoinGroup(witness, group_, interface_);
  EXPECT_EQ(internal::ErrnoOf(twice), EADDRINUSE) << twice;

  // Joined again, it receives again.
  ASSERT_TRUE(JoinGroup(r, group_, interface_).ok());
  Send(s, "three");
  Expect(r, "three");
}

TEST_P(Multicast, SourceSpecificJoinDeliversOnlyTheListedSource) {
  const int r = Receiver(/*join=*/false);
  const absl::Status joined = JoinSourceGroup(r, group_, Ip(GetParam().source2), interface_);
  ASSERT_TRUE(joined.ok()) << joined;
  const int witness = Receiver();
  const int s1 = Sender(GetParam().source1);
  const int s2 = Sender(GetParam().source2);
  Send(s1, "from-1");
  Send(s2, "from-2");
  Expect(witness, "from-1", GetParam().source1);
  Expect(witness, "from-2", GetParam().source2);
  Expect(r, "from-2", GetParam().source2);  // not from-1: it would have come first
  EXPECT_TRUE(NothingQueued(r));

  // An any-source join of a group joined source-specific is refused.
  EXPECT_EQ(internal::ErrnoOf(JoinGroup(r, group_, interface_)), EADDRINUSE);

  ASSERT_TRUE(LeaveSourceGroup(r, group_, Ip(GetParam().source2), interface_).ok());
  Send(s2, "after-leave");
  Expect(witness, "after-leave");
  EXPECT_TRUE(NothingQueued(r)) << "a datagram arrived after LeaveSourceGroup";
}

TEST_P(Multicast, BlockedSourceIsNotDeliveredUntilUnblocked) {
  const int r = Receiver();
  ASSERT_TRUE(BlockSource(r, group_, Ip(GetParam().source1), interface_).ok());
  const int s1 = Sender(GetParam().source1);
  const int s2 = Sender(GetParam().source2);
  Send(s1, "blocked");
  Send(s2, "open");
  Expect(r, "open", GetParam().source2);
  EXPECT_TRUE(NothingQueued(r));
  ASSERT_TRUE(UnblockSource(r, group_, Ip(GetParam().source1), interface_).ok());
  Send(s1, "unblocked");
  Expect(r, "unblocked", GetParam().source1);
}

TEST_P(Multicast, TwoSubscribersOnOneGroupAndPortBothReceive) {
  const int a = Receiver();
  const int b = Receiver();
  const int s = Sender(GetParam().source1);
  for (const char* m : {"m1", "m2", "m3"}) Send(s, m);
  for (int fd : {a, b}) {
    for (const char* m : {"m1", "m2", "m3"}) Expect(fd, m, GetParam().source1);
  }
}

TEST_P(Multicast, TtlAndLoopbackReadBack) {
  const int s = Sender(GetParam().source1);
  for (int ttl : {0, 1, 7, 255}) {
    ASSERT_TRUE(SetMulticastTtl(s, ttl).ok());
    absl::StatusOr<int> got = MulticastTtl(s);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, ttl);
  }
  for (bool on : {false, true, false}) {
    ASSERT_TRUE(SetMulticastLoopback(s, on).ok());
    absl::StatusOr<bool> got = MulticastLoopback(s);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, on);
  }
  absl::StatusOr<int> opened =
      OpenMulticastSender(Ip(GetParam().source1), SenderOptions(interface_, 3, false));
  ASSERT_TRUE(opened.ok()) << opened.status();
  Fd closer(*opened);
  EXPECT_EQ(*MulticastTtl(*opened), 3);
  EXPECT_EQ(*MulticastLoopback(*opened), false);
  for (int bad : {-1, 256}) EXPECT_TRUE(absl::IsInvalidArgument(SetMulticastTtl(s, bad)));
}

// Through a Watcher: recv_from reports each datagram with its sender, own
// buffers and the swap buffer alike, in every engine mode.
TEST_P(Multicast, WatcherRecvFromReportsTheSender) {
  for (int mode : gaio::testing::kAllModes) {
    SCOPED_TRACE(gaio::testing::ModeName(mode));
    Watcher w = gaio::testing::MakeWatcher(mode);
    const int r = Receiver();
    const int s1 = Sender(GetParam().source1);
    const int s2 = Sender(GetParam().source2);
    absl::StatusOr<SocketAddress> from1 = LocalAddress(s1);
    absl::StatusOr<SocketAddress> from2 = LocalAddress(s2);
    ASSERT_TRUE(from1.ok() && from2.ok());
    char own[2][64];
    ASSERT_TRUE(w.recv_from(&own[0], r, absl::MakeSpan(own[0])).ok());
    ASSERT_TRUE(w.recv_from(&own[1], r, absl::MakeSpan(own[1])).ok());
    ASSERT_TRUE(w.recv_from(nullptr, r, nullptr).ok());
    Send(s1, "first");
    Send(s2, "second");
    Send(s1, "third");
    const std::vector<std::pair<std::string, SocketAddress>> want = {
        {"first", *from1}, {"second", *from2}, {"third", *from1}};
    size_t got = 0;
    const absl::Time give_up = absl::Now() + gaio::testing::kPatience;
    while (got < want.size() && absl::Now() < give_up) {
      absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Milliseconds(100));
      ASSERT_TRUE(batch.ok()) << batch.status();
      for (const OpResult& c : *batch) {
        ASSERT_LT(got, want.size());
        ASSERT_TRUE(c.status.ok()) << c.status;
        EXPECT_EQ(c.op, OpType::kRead);
        EXPECT_EQ(c.is_swap_buffer, got == 2);
        EXPECT_EQ(std::string(c.buffer.data(), c.size), want[got].first);
        absl::StatusOr<SocketAddress> peer = SocketAddress::FromSockaddr(c.peer, c.peer_len);
        ASSERT_TRUE(peer.ok()) << peer.status();
        EXPECT_EQ(*peer, want[got].second) << peer->ToString();
        ++got;
      }
    }
    EXPECT_EQ(got, want.size());
    // The Watcher owns r from its first request: it closes it.
    ASSERT_TRUE(w.free(r).ok());
    for (auto& f : fds_) {
      if (f->fd == r) f->fd = -1;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Multicast, ::testing::Values(kIpv4Lo, kIpv6Tun),
                         [](const ::testing::TestParamInfo<Setup>& info) {
                           return std::string(info.param.name);
                         });

// IP_MULTICAST_LOOP off keeps a sender's datagrams from this host's
// receivers, while they still leave by the interface. On a tun device: on
// lo the device itself delivers every datagram whatever the option (see
// docs/DATAGRAMS.md). The quiet datagram is sent before a marker from a
// looping sender, on one CPU, so that had it been looped back it would be
// queued ahead of the marker.
class MulticastLoopback : public Multicast {};

TEST_P(MulticastLoopback, OffStopsLocalDeliveryButNotTheWire) {
  cpu_set_t saved, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  const int r = Receiver();
  const int quiet = Sender(GetParam().source1, /*loopback=*/false);
  const int loud = Sender(GetParam().source1, /*loopback=*/true);
  gaio::testing::DrainTunPackets();
  Send(quiet, "quiet");
  Send(loud, "marker");
  Expect(r, "marker");
  EXPECT_TRUE(NothingQueued(r));
  sched_setaffinity(0, sizeof(saved), &saved);
  int quiet_out = 0, marker_out = 0;
  for (const std::string& packet : gaio::testing::DrainTunPackets()) {
    quiet_out += absl::StrContains(packet, "quiet");
    marker_out += absl::StrContains(packet, "marker");
  }
  EXPECT_EQ(quiet_out, 1) << "the quiet datagram did not leave by the interface";
  EXPECT_EQ(marker_out, 1);
}

INSTANTIATE_TEST_SUITE_P(Families, MulticastLoopback, ::testing::Values(kIpv4Tun, kIpv6Tun),
                         [](const ::testing::TestParamInfo<Setup>& info) {
                           return std::string(info.param.name);
                         });

// An IPv6 link-local group needs an interface: bound through the options (or
// a zone), it works; without, it is refused up front.
TEST(MulticastLinkLocal, Ipv6GroupIsBoundOnTheGivenInterface) {
  REQUIRE_PRIVATE_NETWORK();
  if (!Network().tun_status.ok()) GTEST_SKIP() << Network().tun_status.message();
  const SocketAddress group = Ip("ff02::10:2", 0);
  EXPECT_TRUE(absl::IsInvalidArgument(OpenMulticastReceiver(group).status()));
  MulticastReceiverOptions on_tun;
  on_tun.interface = Network().tun;
  absl::StatusOr<int> r = OpenMulticastReceiver(group, on_tun);
  ASSERT_TRUE(r.ok()) << r.status();
  Fd rc(*r);
  absl::StatusOr<SocketAddress> local = LocalAddress(*r);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->scope_id(), Network().tun);
  ASSERT_TRUE(JoinGroup(*r, *local).ok());  // the zone stands for the interface
  absl::StatusOr<int> s = OpenMulticastSender(Ip("fd00:99::1"), SenderOptions(Network().tun));
  ASSERT_TRUE(s.ok()) << s.status();
  Fd sc(*s);
  ASSERT_EQ(sendto(*s, "ll", 2, 0, local->get(), local->size()), 2) << std::strerror(errno);
  absl::StatusOr<Datagram> d = Receive(*r);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->data, "ll");
}

// Bad input is a clear status, never a crash, and changes nothing.
TEST(MulticastArguments, AreRefusedWithClearStatuses) {
  const SocketAddress v4_group = Ip("239.1.2.3", 5000);
  const SocketAddress v6_group = Ip("ff05::1", 5000);
  const SocketAddress unicast = Ip("127.0.0.1", 5000);
  EXPECT_TRUE(absl::IsInvalidArgument(OpenMulticastReceiver(unicast).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenMulticastReceiver(SocketAddress()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(JoinGroup(-1, v4_group)));

  absl::StatusOr<int> v4 = OpenUdpSocket(SocketAddress::Any(AF_INET));
  ASSERT_TRUE(v4.ok()) << v4.status();
  Fd v4c(*v4);
  const absl::Status not_multicast = JoinGroup(*v4, unicast);
  EXPECT_TRUE(absl::IsInvalidArgument(not_multicast)) << not_multicast;
  EXPECT_TRUE(absl::StrContains(not_multicast.message(), "not a multicast address"));
  EXPECT_TRUE(absl::IsInvalidArgument(JoinGroup(*v4, v6_group)));  // family mismatch
  EXPECT_TRUE(absl::IsInvalidArgument(JoinSourceGroup(*v4, v4_group, v4_group)));
  EXPECT_TRUE(absl::IsInvalidArgument(JoinSourceGroup(*v4, v4_group, SocketAddress::Any(AF_INET))));
  EXPECT_TRUE(absl::IsInvalidArgument(SetMulticastTtl(*v4, 300)));
  EXPECT_TRUE(absl::IsNotFound(JoinGroup(*v4, v4_group, 999999)));
  EXPECT_TRUE(absl::IsNotFound(SetMulticastInterface(*v4, 999999)));
  EXPECT_TRUE(absl::IsNotFound(
      OpenMulticastSender(SocketAddress::Any(AF_INET), SenderOptions(999999)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      OpenMulticastSender(SocketAddress::Any(AF_INET), SenderOptions(0, 256)).status()));

  // Not an IP socket; a closed fd.
  int unix_fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, unix_fds), 0);
  Fd u0(unix_fds[0]), u1(unix_fds[1]);
  EXPECT_TRUE(absl::IsInvalidArgument(SetMulticastLoopback(unix_fds[0], true)));
  const int closed = dup(*v4);
  close(closed);
  const absl::Status bad_fd = SetMulticastTtl(closed, 1);
  EXPECT_EQ(internal::ErrnoOf(bad_fd), EBADF) << bad_fd;
}

}  // namespace
}  // namespace gaio::net

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Before any thread: the whole process moves into its own namespace.
  gaio::testing::EnterPrivateNetwork();
  if (!gaio::testing::Network().status.ok()) {
    std::printf("NOTE: %s\n", std::string(gaio::testing::Network().status.message()).c_str());
  }
  return RUN_ALL_TESTS();
}
