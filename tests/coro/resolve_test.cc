// resolve() against a real DNS server (Debian's dnsmasq on 127.0.0.1, fixed
// records, started and stopped here) and small scripted servers: values,
// NXDOMAIN, SERVFAIL, REFUSED, a server that never answers, cancellation
// without a leaked fd, names too long or malformed, /etc/hosts.
#include "coro/resolve.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
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
using testing::StartDnsmasq;
using testing::Using;

using Addresses = absl::StatusOr<std::vector<SocketAddress>>;

std::vector<std::string> Hosts(const Addresses& a) {
  std::vector<std::string> out;
  if (a.ok()) {
    for (const SocketAddress& x : *a) out.push_back(x.ToString());
  }
  return out;
}

Task<Addresses> Resolve(std::string host, ResolverOptions o, absl::Duration patience) {
  Addresses a = co_await resolve(std::move(host), "80", absl::Now() + patience, std::move(o));
  co_return a;
}

Addresses RunResolve(const std::string& host, const ResolverOptions& o,
                     absl::Duration patience = absl::Seconds(5), int pollers = 0) {
  std::unique_ptr<EventLoop> loop = NewLoop(pollers);
  Result<Addresses> r = RunBounded(*loop, Resolve(host, o, patience));
  // Result<StatusOr<T>> holds the lookup's own error as its status.
  if (!r.ok()) return r.status();
  return *std::move(r);
}

TEST(Resolve, NumericHostsNeedNoServer) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  EXPECT_EQ(Hosts(RunResolve("127.0.0.1", Using(silent.server()))),
            std::vector<std::string>{"127.0.0.1:80"});
  EXPECT_EQ(Hosts(RunResolve("[::1]", Using(silent.server()))),
            std::vector<std::string>{"[::1]:80"});
  EXPECT_EQ(silent.queries(), 0);
}

Task<Addresses> ResolveService(std::string host, std::string service, ResolverOptions o) {
  Addresses a = co_await resolve(std::move(host), std::move(service),
                                 absl::Now() + absl::Seconds(5), std::move(o));
  co_return a;
}

TEST(Resolve, ServiceNames) {
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  std::unique_ptr<EventLoop> loop = NewLoop();
  Result<Addresses> a = RunBounded(*loop, ResolveService("[::1]", "65535", Using(silent.server())));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(Hosts(*a), std::vector<std::string>{"[::1]:65535"});
  Result<Addresses> b = RunBounded(*loop, ResolveService("::1", "", Using(silent.server())));
  EXPECT_TRUE(absl::IsInvalidArgument(b.status())) << b.status();
  if (getservbyname("http", "tcp") != nullptr) {  // /etc/services (netbase) is there
    Result<Addresses> c =
        RunBounded(*loop, ResolveService("127.0.0.1", "http", Using(silent.server())));
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(Hosts(*c), std::vector<std::string>{"127.0.0.1:80"});
  }
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

// The Watcher with a poller thread (the readiness requests complete there).
TEST(Resolve, WithAPollerThread) {
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> multi =
        Hosts(RunResolve("multi.test", Using(dns->server()), absl::Seconds(5), /*pollers=*/1));
    std::sort(multi.begin(), multi.end());
    EXPECT_EQ(multi, (std::vector<std::string>{"127.0.0.2:80", "127.0.0.3:80"}));
  }
  FakeDnsServer silent(FakeDnsServer::Mode::kSilent);
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      RunResolve("x.test", Using(silent.server()), absl::Milliseconds(200), 1).status()));
}

TEST(Resolve, NxdomainIsNotFound) {
  std::unique_ptr<Dnsmasq> dns = StartDnsmasq();
  ASSERT_NE(dns, nullptr);
  Addresses a = RunResolve("nx.test", Using(dns->server()));
  EXPECT_TRUE(absl::IsNotFound(a.status())) << a.status();
  // A search list ($LOCALDOMAIN here, resolv.conf's "search" on a CI host)
  // is not used when search_domains is false: still NXDOMAIN at once.
  ASSERT_EQ(setenv("LOCALDOMAIN", "example.invalid", 1), 0);
  const absl::Time start = absl::Now();
  a = RunResolve("nx.test", Using(dns->server()));
  EXPECT_TRUE(absl::IsNotFound(a.status())) << a.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // With it, c-ares goes on to nx.test.example.invalid, which this dnsmasq
  // (no upstream) refuses: what a CI host's search list would do to the
  // tests without search_domains = false.
  ResolverOptions search = Using(dns->server());
  search.search_domains = true;
  a = RunResolve("nx.test", search, absl::Milliseconds(400));
  unsetenv("LOCALDOMAIN");
  EXPECT_TRUE(absl::IsUnavailable(a.status())) << a.status();
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

}  // namespace
}  // namespace gaio::coro
