// TlsSocket (//coro:tls) against real peers over loopback, TLS 1.2 and 1.3,
// both directions: `openssl s_client` / `s_server` and Python's ssl module.
// Data both ways and close_notify; the peers are child processes killed at
// the end of each test, every operation has a deadline.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/tls/peer_util.h"
#include "tests/tls/test_pki.h"
#include "tls/context.h"
#include "tls/status.h"

namespace gaio::coro {
namespace {

using tls::testing::Child;
using tls::testing::TestPkiSuite;

constexpr absl::Duration kTimeout = absl::Seconds(15);
absl::Time Deadline() { return absl::Now() + kTimeout; }

// argv: port ca version. Sends a message, expects it back, closes with
// close_notify (unwrap waits for ours).
constexpr char kPythonClient[] = R"py(
import socket, ssl, sys
port, ca, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
ctx.minimum_version = ctx.maximum_version = v
with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"hello from python")
    data = b""
    while len(data) < 17:
        chunk = s.recv(100)
        if not chunk:
            break
        data += chunk
    print("got", data.decode(), s.version(), flush=True)
    s.unwrap()
print("done", flush=True)
)py";

// argv: cert key version. Echoes one message reversed, then answers
// close_notify.
constexpr char kPythonServer[] = R"py(
import socket, ssl, sys
cert, key, version = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
ctx.minimum_version = ctx.maximum_version = v
with socket.socket() as ls:
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(20)
    print("PORT", ls.getsockname()[1], flush=True)
    raw, _ = ls.accept()
    raw.settimeout(20)
    s = ctx.wrap_socket(raw, server_side=True)
    data = s.recv(100)
    s.sendall(data[::-1])
    rest = s.recv(100)
    print("rest", repr(rest), s.version(), flush=True)
    s.unwrap()
print("done", flush=True)
)py";

// Accepts one TLS connection, reads `n` bytes, writes `reply` (or the bytes
// reversed when it is empty), sends close_notify and reads until the
// peer's; returns how the stream ended, the bytes in *got.
Task<absl::Status> ServeOnce(const Listener* l, tls::Context context, size_t n, std::string reply,
                             std::string* got) {
  absl::StatusOr<TlsSocket> t = co_await accept_tls(*l, context, Deadline());
  if (!t.ok()) co_return t.status();
  got->assign(n, '\0');
  absl::Status r = co_await t->read_full(absl::MakeSpan(*got), Deadline());
  if (!r.ok()) co_return r;
  if (reply.empty()) reply.assign(got->rbegin(), got->rend());
  absl::Status w = co_await t->write(reply, Deadline());
  if (!w.ok()) co_return w;
  absl::Status s = co_await t->shutdown(Deadline());
  if (!s.ok()) co_return s;
  absl::StatusOr<SwapBytes> end = co_await t->read(Deadline());
  if (end.ok()) co_return absl::InternalError(absl::StrCat("unexpected: ", end->view()));
  co_return end.status();
}

// Dials, writes `message`, reads `n` bytes into *got, sends close_notify and
// reads until the peer's: returns how the stream ended.
Task<absl::Status> TalkOnce(std::string address, tls::Context context, std::string message,
                            size_t n, std::string* got, tls::Version* version) {
  absl::StatusOr<TlsSocket> t = co_await dial_tls(address, context, "localhost", Deadline());
  if (!t.ok()) co_return t.status();
  *version = t->session().version();
  absl::Status w = co_await t->write(message, Deadline());
  if (!w.ok()) co_return w;
  got->assign(n, '\0');
  absl::Status r = co_await t->read_full(absl::MakeSpan(*got), Deadline());
  if (!r.ok()) co_return r;
  absl::Status s = co_await t->shutdown(Deadline());
  if (!s.ok()) co_return s;
  for (;;) {
    absl::StatusOr<SwapBytes> more = co_await t->read(Deadline());
    if (!more.ok()) co_return more.status();  // kClosed expected
  }
}

class CoroTlsPeerTest : public TestPkiSuite<::testing::TestWithParam<tls::Version>> {
 protected:
  bool v12() const { return GetParam() == tls::Version::kTls12; }
  tls::Context ServerContext() {
    tls::ContextOptions o;
    o.certificate = pki_->server.pem;
    absl::StatusOr<tls::Context> c = tls::Context::Server(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }
  tls::Context ClientContext() {
    tls::ContextOptions o;
    o.ca_file = pki_->ca_file;
    absl::StatusOr<tls::Context> c = tls::Context::Client(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }
  // A port printed by the child after `marker`.
  int PortAfter(Child& child, const std::string& marker) {
    EXPECT_TRUE(child.WaitForOutput(marker, kTimeout).ok()) << child.output();
    EXPECT_TRUE(child.WaitForOutput("\n", kTimeout).ok());
    const std::string& out = child.output();
    const size_t at = out.find(marker) + marker.size();
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(out.substr(at, out.find('\n', at) - at), &port)) << out;
    return port;
  }
};

TEST_P(CoroTlsPeerTest, SClientToOurServer) {
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  absl::StatusOr<Child> peer =
      Child::Start({"openssl", "s_client", "-connect", l->address(), "-CAfile", pki_->ca_file,
                    "-verify_return_error", "-verify_hostname", "localhost", "-servername",
                    "localhost", v12() ? "-tls1_2" : "-tls1_3", "-quiet"});
  ASSERT_TRUE(peer.ok()) << peer.status();
  ASSERT_TRUE(peer->WriteStdin("hello from s_client\n").ok());
  std::string got;
  const absl::Status end =
      testing::RunBounded(*loop, ServeOnce(&*l, ServerContext(), 20, "reply from gaio\n", &got));
  EXPECT_EQ(got, "hello from s_client\n");
  EXPECT_TRUE(peer->WaitForOutput("reply from gaio\n", kTimeout).ok()) << peer->output();
  // s_client answers our close_notify with its own.
  EXPECT_TRUE(tls::IsCleanClose(end)) << end << "\n" << peer->output();
}

TEST_P(CoroTlsPeerTest, OurClientToSServer) {
  absl::StatusOr<Child> peer = Child::Start(
      {"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", pki_->server.cert_file, "-key",
       pki_->server.key_file, "-naccept", "1", v12() ? "-tls1_2" : "-tls1_3", "-rev"});
  ASSERT_TRUE(peer.ok()) << peer.status();
  const int port = PortAfter(*peer, "ACCEPT 127.0.0.1:");
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  std::string got;
  tls::Version version = tls::Version::kTls12;
  const absl::Status end = testing::RunBounded(
      *loop,
      TalkOnce(absl::StrCat("127.0.0.1:", port), ClientContext(), "gaio-cpp\n", 9, &got, &version));
  EXPECT_EQ(got, "ppc-oiag\n") << end << "\n" << peer->output();
  EXPECT_EQ(version, GetParam());
  // s_server -rev answers close_notify with its own (or just closes): the
  // stream ends cleanly or, at worst, without it; never with a TLS error.
  EXPECT_TRUE(tls::IsCleanClose(end) || tls::GetTlsError(end) == tls::TlsError::kTruncated) << end;
}

TEST_P(CoroTlsPeerTest, PythonClientToOurServer) {
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  absl::StatusOr<Child> peer =
      Child::Start({tls::testing::kPython, "-c", kPythonClient, absl::StrCat(l->port()),
                    pki_->ca_file, v12() ? "1.2" : "1.3"});
  ASSERT_TRUE(peer.ok()) << peer.status();
  std::string got;
  const absl::Status end =
      testing::RunBounded(*loop, ServeOnce(&*l, ServerContext(), 17, "", &got));
  EXPECT_EQ(got, "hello from python");
  EXPECT_TRUE(tls::IsCleanClose(end)) << end << "\n" << peer->output();
  EXPECT_TRUE(peer->WaitForOutput("done", kTimeout).ok()) << peer->output();
  EXPECT_NE(peer->output().find(absl::StrCat("got nohtyp morf olleh TLSv", v12() ? "1.2" : "1.3")),
            std::string::npos)
      << peer->output();
}

TEST_P(CoroTlsPeerTest, OurClientToPythonServer) {
  absl::StatusOr<Child> peer =
      Child::Start({tls::testing::kPython, "-c", kPythonServer, pki_->server.cert_file,
                    pki_->server.key_file, v12() ? "1.2" : "1.3"});
  ASSERT_TRUE(peer.ok()) << peer.status();
  const int port = PortAfter(*peer, "PORT ");
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  std::string got;
  tls::Version version = tls::Version::kTls12;
  const absl::Status end = testing::RunBounded(
      *loop,
      TalkOnce(absl::StrCat("127.0.0.1:", port), ClientContext(), "gaio", 4, &got, &version));
  EXPECT_EQ(got, "oiag");
  EXPECT_EQ(version, GetParam());
  EXPECT_TRUE(tls::IsCleanClose(end)) << end << "\n" << peer->output();
  EXPECT_TRUE(peer->WaitForOutput("done", kTimeout).ok()) << peer->output();
  EXPECT_NE(peer->output().find("rest b''"), std::string::npos) << peer->output();
}

INSTANTIATE_TEST_SUITE_P(Versions, CoroTlsPeerTest,
                         ::testing::Values(tls::Version::kTls12, tls::Version::kTls13),
                         [](const ::testing::TestParamInfo<tls::Version>& info) {
                           return info.param == tls::Version::kTls12 ? "Tls12" : "Tls13";
                         });

}  // namespace
}  // namespace gaio::coro
