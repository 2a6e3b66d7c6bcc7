// resolve() and dial("name:port") against a real DNS server (Debian's
// dnsmasq on 127.0.0.1, fixed records, started and stopped here) and small
// scripted servers: values, several records where the first refuses
// connections, NXDOMAIN, SERVFAIL, REFUSED, a server that never answers,
// cancellation without a leaked fd, names too long, /etc/hosts, and Happy
// Eyeballs (IPv6 first, IPv4 when IPv6 refuses or never answers).
#include "coro/resolve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/coro/dns_test_util.h"

namespace gaio::coro {
namespace {

using testing::CountOpenFdsAfterFirstLoop;
using testing::Dnsmasq;
using testing::FakeDnsServer;
using testing::NewLoop;
using testing::RunBounded;

using Addresses = absl::StatusOr<std::vector<SocketAddress>>;

std::vector<std::string> Hosts(const Addresses& a) {
  std::vector<std::string> out;
  if (a.ok()) {
    for (const SocketAddress& x : *a) out.push_back(x.ToString());
  }
  return out;
}

// dnsmasq with the records of these tests. A failure to start fails the test.
std::unique_ptr<Dnsmasq> StartDnsmasq() {
  absl::StatusOr<std::unique_ptr<Dnsmasq>> d = Dnsmasq::Start({
      "--host-record=multi.test,127.0.0.2",
      "--host-record=multi.test,127.0.0.3",
      "--host-record=both.test,127.0.0.1,::1",
      "--host-record=v6.test,::1",
  });
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *std::move(d) : nullptr;
}

ResolverOptions Using(const std::string& server) {
  ResolverOptions o;
  o.servers = {server};
  o.use_hosts_file = false;
  return o;
}

Task<Addresses> Resolve(std::string host, ResolverOptions o, absl::Duration patience) {
  Addresses a = co_await resolve(std::move(host), "80", absl::Now() + patience, std::move(o));
  co_return a;
}

Addresses RunResolve(const std::string& host, const ResolverOptions& o,
                     absl::Duration patience = absl::Seconds(5)) {
  std::unique_ptr<EventLoop> loop = NewLoop();
  Result<Addresses> r = RunBounded(*loop, Resolve(host, o, patience));
  // Result<StatusOr<T>> holds the lookup's own error as its status.
  if (!r.ok()) return r.status();
  return *std::move(r);
}

bool HaveIpv6Loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

TEST(Resolve, NumericHostsNeedNoServer) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  EXPECT_EQ(Hosts(RunResolve("127.0.0.1", Using(silent.server()))),
            std::vector<std::string>{"127.0.0.1:80"});
  EXPECT_EQ(Hosts(RunResolve("[::1]", Using(silent.server()))),
            std::vector<std::string>{"[::1]:80"});
  EXPECT_EQ(silent.queries(), 0);
}

TEST(Resolve, BadNamesFailBeforeAnyQuery) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  std::string long_name;
  while (long_name.size() < 254) absl::StrAppend(&long_name, "abcdefg.");
  long_name.resize(254);
  long_name.back() = 'x';
  const std::string label64(64, 'a');
  for (const std::string& bad : {long_name, std::string("a..b"), label64 + ".test",
                                 std::string("sp ace.test"), std::string("")}) {
    EXPECT_TRUE(absl::IsInvalidArgument(RunResolve(bad, Using(silent.server())).status())) << bad;
  }
  EXPECT_EQ(silent.queries(), 0);
  EXPECT_TRUE(ValidateHostName(long_name.substr(0, 253)).ok());
  EXPECT_TRUE(ValidateHostName("example.com.").ok());
}

TEST(Resolve, ReturnsTheRecordsOfTheServer) {
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  std::vector<std::string> multi = Hosts(RunResolve("multi.test", Using(dns->server())));
  std::sort(multi.begin(), multi.end());
  EXPECT_EQ(multi, (std::vector<std::string>{"127.0.0.2:80", "127.0.0.3:80"}));
  ResolverOptions v6 = Using(dns->server());
  v6.family = AF_INET6;
  EXPECT_EQ(Hosts(RunResolve("both.test", v6)), std::vector<std::string>{"[::1]:80"});
  ResolverOptions v4 = Using(dns->server());
  v4.family = AF_INET;
  EXPECT_EQ(Hosts(RunResolve("both.test", v4)), std::vector<std::string>{"127.0.0.1:80"});
  std::vector<std::string> both = Hosts(RunResolve("both.test", Using(dns->server())));
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, (std::vector<std::string>{"127.0.0.1:80", "[::1]:80"}));
  EXPECT_TRUE(absl::IsNotFound(RunResolve("v6.test", v4).status()));
}

TEST(Resolve, NxdomainIsNotFound) {
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  Addresses a = RunResolve("nx.test", Using(dns->server()));
  EXPECT_TRUE(absl::IsNotFound(a.status())) << a.status();
}

TEST(Resolve, ServfailAndRefusedAreUnavailable) {
  for (FakeDnsServer::Mode m : {FakeDnsServer::Mode::kServfail, FakeDnsServer::Mode::kRefused}) {
    FakeDnsServer server(m);
    Addresses a = RunResolve("x.test", Using(server.server()));
    EXPECT_TRUE(absl::IsUnavailable(a.status())) << a.status();
  }
  // The same through dnsmasq, forwarding fail.test to a SERVFAIL upstream.
  FakeDnsServer upstream(FakeDnsServer::Mode::kServfail);
  absl::StatusOr<std::unique_ptr<Dnsmasq>> dns = Dnsmasq::Start(
      {absl::StrCat("--server=/fail.test/127.0.0.1#", upstream.server().substr(10))});
  ASSERT_TRUE(dns.ok()) << dns.status();
  Addresses a = RunResolve("x.fail.test", Using((*dns)->server()));
  EXPECT_TRUE(absl::IsUnavailable(a.status())) << a.status();
}

TEST(Resolve, SilentServerEndsAtTheDeadline) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  const absl::Time start = absl::Now();
  Addresses a = RunResolve("x.test", Using(silent.server()), absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(absl::IsDeadlineExceeded(a.status())) << a.status();
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_GE(silent.queries(), 1);
  // c-ares's own tries run out before the deadline: DeadlineExceeded too.
  ResolverOptions quick = Using(silent.server());
  quick.attempt_timeout = absl::Milliseconds(50);
  quick.tries = 2;
  EXPECT_TRUE(absl::IsDeadlineExceeded(RunResolve("x.test", quick).status()));
}

Task<size_t> CancelLookup(std::string server) {
  AnyResult<Addresses, absl::Status> r =
      co_await when_any(resolve("x.test", "80", absl::InfiniteFuture(), Using(server)),
                        sleep(absl::Milliseconds(50)));
  EXPECT_TRUE(absl::IsCancelled(std::get<0>(r.results).status()))
      << std::get<0>(r.results).status();
  co_return r.index;
}

TEST(Resolve, CancelStopsTheLookupAndClosesItsSockets) {
  const int baseline = CountOpenFdsAfterFirstLoop();
  {
    FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
    std::unique_ptr<EventLoop> loop = NewLoop();
    Result<size_t> r = RunBounded(*loop, CancelLookup(silent.server()));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, 1u);
    EXPECT_GE(silent.queries(), 1);
  }
  EXPECT_EQ(testing::CountOpenFds(), baseline) << testing::ListOpenFds();
}

TEST(Resolve, HostsFileFirst) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  ResolverOptions o = Using(silent.server());
  o.use_hosts_file = true;
  o.family = AF_INET;
  Addresses a = RunResolve("localhost", o);
  ASSERT_TRUE(a.ok()) << a.status() << " (is localhost in /etc/hosts?)";
  EXPECT_EQ(Hosts(a), std::vector<std::string>{"127.0.0.1:80"});
  EXPECT_EQ(silent.queries(), 0);
}

Task<absl::StatusOr<SocketAddress>> DialPeer(std::string address, ResolverOptions o) {
  absl::StatusOr<Socket> s = co_await dial(address, absl::Now() + absl::Seconds(5), o);
  if (!s.ok()) co_return s.status();
  co_return s->peer_address();
}

absl::StatusOr<SocketAddress> RunDial(const std::string& address, const ResolverOptions& o) {
  std::unique_ptr<EventLoop> loop = NewLoop();
  Result<absl::StatusOr<SocketAddress>> r = RunBounded(*loop, DialPeer(address, o));
  if (!r.ok()) return r.status();
  return *std::move(r);
}

// A listening socket on `address` (port 0: any), blocking; -1 on error.
int ListenOn(const std::string& address, int backlog = 16) {
  absl::StatusOr<SocketAddress> a = ParseAddress(address);
  if (!a.ok()) return -1;
  const int fd = socket(a->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, a->get(), a->len) != 0 || ::listen(fd, backlog) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
int PortOf(int fd) {
  SocketAddress a;
  a.len = sizeof(a.addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len);
  return a.port();
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

// Listeners on [::1]:P and 127.0.0.1:P (the same P); false when not possible.
bool ListenBoth(int* v6, int* v4, int v6_backlog = 16) {
  for (int i = 0; i < 20; ++i) {
    *v6 = ListenOn("[::1]:0", v6_backlog);
    if (*v6 < 0) return false;
    *v4 = ListenOn(absl::StrCat("127.0.0.1:", PortOf(*v6)));
    if (*v4 >= 0) return true;
    close(*v6);
  }
  return false;
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
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    a.sin6_port = htons(static_cast<uint16_t>(PortOf(v6)));
    (void)connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a));  // EINPROGRESS
    fillers.push_back(c);
  }
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

}  // namespace
}  // namespace gaio::coro
