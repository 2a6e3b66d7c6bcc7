// resolve() against servers that answer badly: garbage, a datagram too short
// for a header, a truncated answer (TC bit, its TCP retry refused), a huge
// answer. Each lookup ends with a clear status before its deadline, never a
// hang or a crash; many at once each get theirs (none lost); no fd is left.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/coro/dns_test_util.h"

namespace gaio::coro {
namespace {

using testing::CountOpenFdsAfterFirstLoop;
using testing::FakeDnsServer;
using testing::NewLoop;
using testing::RunBounded;
using Mode = FakeDnsServer::Mode;
using Addresses = absl::StatusOr<std::vector<SocketAddress>>;

ResolverOptions Using(const std::string& server) {
  ResolverOptions o;
  o.servers = {server};
  o.use_hosts_file = false;
  o.search_domains = false;
  o.attempt_timeout = absl::Milliseconds(300);
  o.tries = 1;
  return o;
}

Task<Addresses> Resolve(std::string host, ResolverOptions o) {
  Addresses a = co_await resolve(std::move(host), "80", absl::Now() + absl::Seconds(3), o);
  co_return a;
}

Addresses RunResolve(const std::string& server, absl::Duration* took) {
  std::unique_ptr<EventLoop> loop = NewLoop();
  const absl::Time start = absl::Now();
  Result<Addresses> r = RunBounded(*loop, Resolve("bad.test", Using(server)));
  *took = absl::Now() - start;
  // Result<StatusOr<T>> holds the lookup's own error as its status.
  if (!r.ok()) return r.status();
  return *std::move(r);
}

TEST(ResolveBadAnswer, MalformedAnswerIsDataLoss) {
  FakeDnsServer server(Mode::kGarbage);
  absl::Duration took;
  Addresses a = RunResolve(server.server(), &took);
  EXPECT_TRUE(absl::IsDataLoss(a.status())) << a.status();
  EXPECT_LT(took, absl::Milliseconds(250));  // at once, not at a timeout
}

// c-ares drops an answer that does not echo our question (spoofing
// protection) and a datagram too short for a header: the server looks
// silent, and the lookup ends when its tries time out.
TEST(ResolveBadAnswer, AnswerToAnotherQuestionIsIgnored) {
  for (Mode m : {Mode::kMismatch, Mode::kShort}) {
    FakeDnsServer server(m);
    absl::Duration took;
    Addresses a = RunResolve(server.server(), &took);
    EXPECT_TRUE(absl::IsDeadlineExceeded(a.status())) << a.status();
    EXPECT_GE(server.queries(), 1);
    EXPECT_LT(took, absl::Seconds(3));
  }
}

// The TC bit makes c-ares retry over TCP, which the scripted server refuses.
TEST(ResolveBadAnswer, TruncatedAnswerWithoutTcpIsUnavailable) {
  FakeDnsServer server(Mode::kTruncated);
  absl::Duration took;
  Addresses a = RunResolve(server.server(), &took);
  EXPECT_TRUE(absl::IsUnavailable(a.status())) << a.status();
  EXPECT_LT(took, absl::Milliseconds(250));
}

// A ~64 KB datagram: more than c-ares reads of a UDP answer; the server is
// counted as failed.
TEST(ResolveBadAnswer, OversizedAnswerIsUnavailable) {
  FakeDnsServer server(Mode::kHuge);
  absl::Duration took;
  Addresses a = RunResolve(server.server(), &took);
  EXPECT_TRUE(absl::IsUnavailable(a.status())) << a.status();
  EXPECT_LT(took, absl::Milliseconds(250));
}

// The lookup's status as a plain value (when_all would cancel the others at
// the first error status).
Task<std::string> StatusText(std::string host, ResolverOptions o) {
  Addresses a = co_await Resolve(std::move(host), std::move(o));
  co_return a.status().ToString();
}

Task<std::vector<std::string>> ManyAtOnce(std::vector<std::string> servers) {
  std::vector<Task<std::string>> tasks;
  for (int i = 0; i < 32; ++i) {
    tasks.push_back(StatusText(absl::StrCat("n", i, ".test"), Using(servers[i % servers.size()])));
  }
  std::vector<std::string> all = co_await when_all(std::move(tasks));
  co_return all;
}

TEST(ResolveBadAnswer, ManyLookupsEachEndWithTheirStatusAndLeaveNoFd) {
  const int baseline = CountOpenFdsAfterFirstLoop();
  {
    FakeDnsServer garbage(Mode::kGarbage), truncated(Mode::kTruncated), servfail(Mode::kServfail),
        silent(Mode::kSilent);
    std::unique_ptr<EventLoop> loop = NewLoop();
    Result<std::vector<std::string>> r = RunBounded(
        *loop,
        ManyAtOnce({garbage.server(), truncated.server(), servfail.server(), silent.server()}));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 32u);
    for (size_t i = 0; i < r->size(); ++i) {
      const std::string& s = (*r)[i];
      EXPECT_TRUE(absl::StartsWith(s, "DATA_LOSS") || absl::StartsWith(s, "UNAVAILABLE") ||
                  absl::StartsWith(s, "DEADLINE_EXCEEDED"))
          << i << ": " << s;
    }
  }
  EXPECT_EQ(testing::CountOpenFds(), baseline) << testing::ListOpenFds();
}

}  // namespace
}  // namespace gaio::coro
