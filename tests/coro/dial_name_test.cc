// dial("name:port") and dial_lines() with names: resolve() against Debian's
// dnsmasq (fixed records), then Happy Eyeballs over the addresses: several
// records where the first refuses connections, all refused, IPv6 first, IPv4
// when IPv6 refuses or never answers (after the 250 ms attempt delay), a
// deadline and a cancellation while every attempt hangs, with no fd left.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/internal/frame_allocator.h"
#include "coro/internal/happy_eyeballs.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/coro/dns_test_util.h"
#include "watcher/op_result.h"

namespace gaio::coro {
namespace {

using testing::CountOpenFdsAfterFirstLoop;
using testing::Dnsmasq;
using testing::FillAcceptQueue;
using testing::HaveIpv6Loopback;
using testing::ListenBoth;
using testing::ListenOn;
using testing::NewLoop;
using testing::PortOf;
using testing::RunBounded;
using testing::StartDnsmasq;
using testing::Using;

std::vector<std::string> Strings(const std::vector<SocketAddress>& v) {
  std::vector<std::string> out;
  for (const SocketAddress& a : v) out.push_back(a.ToString());
  return out;
}

TEST(HappyEyeballs, InterleavesFamiliesStartingWithTheFirst) {
  std::vector<SocketAddress> in;
  for (const char* a : {"[::1]:1", "[::2]:1", "[::3]:1", "10.0.0.1:1", "10.0.0.2:1"}) {
    in.push_back(*ParseAddress(a));
  }
  EXPECT_EQ(
      Strings(internal::InterleaveFamilies(in)),
      (std::vector<std::string>{"[::1]:1", "10.0.0.1:1", "[::2]:1", "10.0.0.2:1", "[::3]:1"}));
  std::vector<SocketAddress> v4_first = {*ParseAddress("10.0.0.1:1"), *ParseAddress("[::1]:1"),
                                         *ParseAddress("[::2]:1")};
  EXPECT_EQ(Strings(internal::InterleaveFamilies(v4_first)),
            (std::vector<std::string>{"10.0.0.1:1", "[::1]:1", "[::2]:1"}));
  EXPECT_EQ(internal::kConnectionAttemptDelay, absl::Milliseconds(250));
}

Task<absl::StatusOr<SocketAddress>> DialPeer(std::string address, ResolverOptions o,
                                             absl::Duration patience) {
  absl::StatusOr<Socket> s = co_await dial(address, absl::Now() + patience, o);
  if (!s.ok()) co_return s.status();
  co_return s->peer_address();
}

absl::StatusOr<SocketAddress> RunDial(const std::string& address, const ResolverOptions& o,
                                      absl::Duration patience = absl::Seconds(5)) {
  std::unique_ptr<EventLoop> loop = NewLoop();
  Result<absl::StatusOr<SocketAddress>> r = RunBounded(*loop, DialPeer(address, o, patience));
  if (!r.ok()) return r.status();
  return *std::move(r);
}

TEST(DialName, SkipsTheAddressThatRefuses) {
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  const int l = ListenOn("127.0.0.3:0");  // nothing on 127.0.0.2
  ASSERT_GE(l, 0);
  absl::StatusOr<SocketAddress> peer =
      RunDial(absl::StrCat("multi.test:", PortOf(l)), Using(dns->server()));
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->ToString(), absl::StrCat("127.0.0.3:", PortOf(l)));
  close(l);
  EXPECT_TRUE(absl::IsNotFound(RunDial("nx.test:80", Using(dns->server())).status()));
}

TEST(DialName, AllRefusedIsTheFirstError) {
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  const int l = ListenOn("127.0.0.2:0");
  const int port = PortOf(l);
  close(l);  // now refused on both
  absl::StatusOr<SocketAddress> peer =
      RunDial(absl::StrCat("multi.test:", port), Using(dns->server()));
  EXPECT_EQ(ErrnoOf(peer.status()), ECONNREFUSED) << peer.status();
}

uint64_t FramesHandedOut() {
  const internal::FramePoolStats f = internal::ThisThreadFramePoolStats();
  return f.hits + f.carved + f.large;
}

// How many coroutine frames one dial took, and whether it connected.
Task<uint64_t> FramesOfADial(std::string address, ResolverOptions o, bool* connected) {
  const uint64_t before = FramesHandedOut();
  absl::StatusOr<Socket> s = co_await dial(address, absl::Now() + absl::Seconds(5), o);
  *connected = s.ok();
  co_return FramesHandedOut() - before;
}

TEST(DialName, ANumericAddressTakesNoFrame) {
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  const int l = ListenOn("127.0.0.1:0");
  std::unique_ptr<EventLoop> loop = NewLoop();
  bool connected = false;
  Result<uint64_t> numeric = RunBounded(*loop, FramesOfADial(absl::StrCat("127.0.0.1:", PortOf(l)),
                                                             Using(dns->server()), &connected));
  EXPECT_TRUE(connected);
  // The dial itself: FramesOfADial's own frame comes before `before`.
  EXPECT_EQ(numeric.value_or(99), 0u);
  Result<uint64_t> named = RunBounded(*loop, FramesOfADial(absl::StrCat("both.test:", PortOf(l)),
                                                           Using(dns->server()), &connected));
  EXPECT_TRUE(connected);
  EXPECT_GT(named.value_or(0), 0u);  // the lookup's and the attempts' tasks
  close(l);
}

TEST(HappyEyeballs, Ipv6First) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no ::1 in this container";
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  int v6 = -1, v4 = -1;
  ASSERT_TRUE(ListenBoth(&v6, &v4));
  absl::StatusOr<SocketAddress> peer =
      RunDial(absl::StrCat("both.test:", PortOf(v6)), Using(dns->server()));
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->family(), AF_INET6);
  close(v6);
  close(v4);
}

TEST(HappyEyeballs, FallsBackToIpv4WhenIpv6Refuses) {
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  const int v4 = ListenOn("127.0.0.1:0");  // no listener on ::1 (or no ::1 at all)
  absl::StatusOr<SocketAddress> peer =
      RunDial(absl::StrCat("both.test:", PortOf(v4)), Using(dns->server()));
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->family(), AF_INET);
  close(v4);
}

TEST(HappyEyeballs, Ipv4AfterTheAttemptDelayWhenIpv6NeverAnswers) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no ::1 in this container";
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  int v6 = -1, v4 = -1;
  ASSERT_TRUE(ListenBoth(&v6, &v4, /*v6_backlog=*/0));
  // Fill the IPv6 accept queue: further SYNs are dropped (a black hole).
  std::vector<int> fillers = FillAcceptQueue("[::1]", PortOf(v6));
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time start = absl::Now();
  absl::StatusOr<SocketAddress> peer =
      RunDial(absl::StrCat("both.test:", PortOf(v6)), Using(dns->server()));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->family(), AF_INET);
  EXPECT_GE(took, absl::Milliseconds(240));
  EXPECT_LT(took, absl::Seconds(3));
  for (int c : fillers) close(c);
  close(v6);
  close(v4);
}

Task<absl::StatusOr<std::string>> FirstLine(std::string address) {
  AsyncGenerator<SwapBytes> g = dial_lines(address, absl::Now() + absl::Seconds(5));
  std::optional<SwapBytes> line = co_await g.next();
  if (!line.has_value()) co_return g.status();
  co_return std::string(line->view());
}

TEST(DialName, DialLinesTakesNames) {
  const int l = ListenOn("127.0.0.1:0");
  std::thread server([l] {
    const int c = accept(l, nullptr, nullptr);
    if (c >= 0) {
      (void)!write(c, "hello\n", 6);
      close(c);
    }
  });
  std::unique_ptr<EventLoop> loop = NewLoop();
  Result<absl::StatusOr<std::string>> r =
      RunBounded(*loop, FirstLine(absl::StrCat("localhost:", PortOf(l))));
  server.join();
  close(l);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "hello");
}

Task<absl::Status> DialUntilCancelled(std::string address, ResolverOptions o) {
  AnyResult<absl::StatusOr<Socket>, absl::Status> r =
      co_await when_any(dial(address, absl::InfiniteFuture(), o), sleep(absl::Milliseconds(400)));
  co_return std::get<0>(r.results).status();
}

// Both records of hole.test lead to listeners whose accept queue is full:
// every attempt hangs until it is cancelled or its deadline passes.
TEST(DialName, CancelAndDeadlineWhileEveryAttemptHangsLeaveNoFd) {
  const int baseline = CountOpenFdsAfterFirstLoop();
  {
    std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
    ASSERT_NE(dns, nullptr);
    const int a = ListenOn("127.0.0.4:0", 0);
    ASSERT_GE(a, 0);
    const int port = PortOf(a);
    const int b = ListenOn(absl::StrCat("127.0.0.5:", port), 0);
    ASSERT_GE(b, 0);
    std::vector<int> fillers = FillAcceptQueue("127.0.0.4", port);
    std::vector<int> more = FillAcceptQueue("127.0.0.5", port);
    fillers.insert(fillers.end(), more.begin(), more.end());
    absl::SleepFor(absl::Milliseconds(50));
    const std::string address = absl::StrCat("hole.test:", port);
    {
      std::unique_ptr<EventLoop> loop = NewLoop();
      absl::Status r = RunBounded(*loop, DialUntilCancelled(address, Using(dns->server())));
      EXPECT_TRUE(absl::IsCancelled(r)) << r;
    }
    const absl::Time start = absl::Now();
    absl::StatusOr<SocketAddress> peer =
        RunDial(address, Using(dns->server()), absl::Milliseconds(600));
    EXPECT_TRUE(absl::IsDeadlineExceeded(peer.status())) << peer.status();
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
    for (int c : fillers) close(c);
    close(a);
    close(b);
  }
  EXPECT_EQ(testing::CountOpenFds(), baseline) << testing::ListOpenFds();
}

}  // namespace
}  // namespace gaio::coro
