// The heap bytes of an idle, established server TlsSocket with a read
// pending (//coro:tls), TLS 1.2 and 1.3: OpenSSL's (CRYPTO_set_mem_functions)
// and ours (operator new: the Session, the coroutine frames' slabs, the
// Watcher's per-fd state), both by malloc_usable_size. The clients run in a
// child process, so that only the server side is counted; the figure is the
// growth from 200 to 1,000 idle connections divided by 800 (one-time costs
// such as the swap buffer cancel out; the 64 KiB slabs of the frame pool and
// tables that grow by doubling are spread over the 800); each version runs in
// a process of its own. Prints the figures docs/TLS.md quotes:
//   ./bazelw test //tests/tls:coro_tls_idle_memory_test --test_output=all
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/tls/memory_count.h"
#include "tests/tls/peer_util.h"
#include "tests/tls/test_pki.h"
#include "tls/context.h"
#include "tls/session.h"

namespace gaio::coro {
namespace {

using tls::testing::TestPki;

constexpr int kFirst = 200;
constexpr int kTotal = 1000;
constexpr size_t kMessage = 1024;
constexpr absl::Duration kTimeout = absl::Seconds(20);

// The child: kTotal blocking clients, each handshaken with 1 KiB echoed,
// held open until `release` ends; 0 when all went well.
int RunClients(int port, const tls::Context& context, int release) {
  std::vector<std::unique_ptr<tls::Session>> sessions;
  std::vector<std::unique_ptr<tls::testing::SocketDriver>> drivers;
  const std::string message(kMessage, 'm');
  tls::SessionOptions options;
  options.server_name = "localhost";
  for (int i = 0; i < kTotal; ++i) {
    const int fd = tls::testing::ConnectLoopback(port, kTimeout);
    absl::StatusOr<tls::Session> s = tls::Session::Create(context, options);
    if (fd < 0 || !s.ok()) return 2;
    sessions.push_back(std::make_unique<tls::Session>(*std::move(s)));
    drivers.push_back(std::make_unique<tls::testing::SocketDriver>(*sessions.back(), fd));
    std::string got;
    if (!drivers.back()->Handshake(kTimeout).ok() || !drivers.back()->Write(message).ok() ||
        !drivers.back()->ReadAtLeast(kMessage, &got, kTimeout).ok() || got != message) {
      return 3;
    }
  }
  char byte;
  while (read(release, &byte, 1) > 0) {
  }
  return 0;
}

struct Figures {
  int idle = 0;
  long long openssl[2] = {0, 0};  // at kFirst and at kTotal idle connections
  long long ours[2] = {0, 0};
};

// Echoes 1 KiB, then waits in read() (the idle state measured) until the
// client goes away.
Task<> IdleConnection(Socket s, tls::Context context, Figures* f) {
  absl::StatusOr<TlsSocket> t = TlsSocket::Server(std::move(s), context);
  if (!t.ok()) co_return;
  std::string buf(kMessage, '\0');
  absl::Status r = co_await t->read_full(absl::MakeSpan(buf), absl::Now() + kTimeout);
  if (!r.ok()) co_return;
  absl::Status w = co_await t->write(buf, absl::Now() + kTimeout);
  if (!w.ok()) co_return;
  std::string().swap(buf);
  ++f->idle;
  absl::StatusOr<SwapBytes> end = co_await t->read();  // pending while measured
  end.status().IgnoreError();
}

Task<> WaitIdle(const Figures* f, int n) {
  while (f->idle < n) {
    absl::Status slept = co_await sleep(absl::Milliseconds(5));
    if (!slept.ok()) co_return;
  }
}

Task<absl::Status> Serve(const Listener* l, tls::Context context, int release, Figures* f) {
  Scope scope;
  for (int i = 0; i < kTotal; ++i) {
    absl::StatusOr<Socket> s = co_await l->accept();
    if (!s.ok()) co_return s.status();
    scope.spawn(IdleConnection(*std::move(s), context, f));
    if (i + 1 != kFirst && i + 1 != kTotal) continue;
    co_await WaitIdle(f, i + 1);
    const int at = i + 1 == kFirst ? 0 : 1;
    f->openssl[at] = tls::testing::OpenSslBytes();
    f->ours[at] = tls::testing::NewBytes();
  }
  close(release);  // the clients go; every read ends
  co_await scope.join();
  co_return absl::OkStatus();
}

class CoroTlsIdleMemoryTest : public ::testing::TestWithParam<tls::Version> {};

TEST_P(CoroTlsIdleMemoryTest, AnIdleTlsSocketWithAReadPendingHoldsNoBuffers) {
  absl::StatusOr<TestPki> pki = TestPki::Make();
  ASSERT_TRUE(pki.ok()) << pki.status();
  tls::ContextOptions co, so;
  co.ca_pem = pki->ca_pem;
  so.certificate = pki->server.pem;
  co.min_version = co.max_version = so.min_version = so.max_version = GetParam();
  absl::StatusOr<tls::Context> cc = tls::Context::Client(co);
  absl::StatusOr<tls::Context> sc = tls::Context::Server(so);
  ASSERT_TRUE(cc.ok() && sc.ok());
  int port = 0;
  const int listen_fd = tls::testing::ListenLoopback(&port);
  ASSERT_GE(listen_fd, 0);
  ASSERT_EQ(::listen(listen_fd, 1024), 0);
  int release[2];
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();  // before the loop's threads exist
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(release[1]);
    close(listen_fd);
    _exit(RunClients(port, *cc, release[0]));
  }
  close(release[0]);
  Figures f;
  {
    std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
    absl::StatusOr<SocketAddress> address = ParseAddress(absl::StrCat("127.0.0.1:", port));
    ASSERT_TRUE(address.ok());
    Listener l(*loop, listen_fd, *address);
    const absl::Status served =
        testing::RunBounded(*loop, Serve(&l, *sc, release[1], &f), absl::Seconds(60));
    EXPECT_TRUE(served.ok()) << served;
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << wstatus;
  ASSERT_EQ(f.idle, kTotal);
  const double n = kTotal - kFirst;
  const double openssl = (f.openssl[1] - f.openssl[0]) / n;
  const double ours = (f.ours[1] - f.ours[0]) / n;
  std::printf(
      "idle TlsSocket, server, TLS %s, read pending: OpenSSL %.0f B, ours %.0f B, "
      "total %.0f B per connection\n",
      GetParam() == tls::Version::kTls12 ? "1.2" : "1.3", openssl, ours, openssl + ours);
  // No record buffer (16 KiB and more each) and no read buffer of ours.
  EXPECT_LT(openssl, 16 * 1024);
  EXPECT_LT(ours, 4 * 1024);
}

INSTANTIATE_TEST_SUITE_P(Versions, CoroTlsIdleMemoryTest,
                         ::testing::Values(tls::Version::kTls12, tls::Version::kTls13),
                         [](const ::testing::TestParamInfo<tls::Version>& info) {
                           return info.param == tls::Version::kTls12 ? "Tls12" : "Tls13";
                         });

}  // namespace
}  // namespace gaio::coro

// Each version in a process of its own: the frame pool keeps its slabs, so a
// second measurement in one process would not see the frames.
int main(int argc, char** argv) {
  if (!gaio::tls::testing::InstallOpenSslCounter()) {
    std::fprintf(stderr, "OpenSSL allocated before main\n");
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(filter) != "*") return RUN_ALL_TESTS();
  int failed = 0;
  for (const char* version : {"*/Tls12", "*/Tls13"}) {
    std::fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
      ::testing::GTEST_FLAG(filter) = version;
      _exit(RUN_ALL_TESTS());
    }
    int wstatus = 0;
    if (child < 0 || waitpid(child, &wstatus, 0) != child || !WIFEXITED(wstatus) ||
        WEXITSTATUS(wstatus) != 0) {
      failed = 1;
    }
  }
  return failed;
}
