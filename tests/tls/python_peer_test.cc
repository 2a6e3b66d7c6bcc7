// Sessions against Python's ssl module (Debian's /usr/bin/python3) over
// loopback sockets, both directions, TLS 1.2 and 1.3, each side verifying the
// other's certificate (mutual TLS in one direction), ending with close_notify
// both ways.
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/tls/peer_util.h"
#include "tests/tls/test_pki.h"
#include "tls/context.h"
#include "tls/session.h"
#include "tls/status.h"

namespace gaio::tls {
namespace {

using testing::Child;
using testing::SocketDriver;
using testing::TestPkiSuite;

constexpr absl::Duration kTimeout = absl::Seconds(20);

// argv: port ca version. Sends a line, expects the reply, closes with
// close_notify (unwrap waits for ours), prints what it saw.
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
    while len(data) < 15:
        chunk = s.recv(100)
        if not chunk:
            break
        data += chunk
    print("got", data.decode(), s.version(), flush=True)
    s.unwrap()
print("done", flush=True)
)py";

// argv: cert key ca version. Requires a client certificate of `ca`; echoes
// one message reversed, then waits for close_notify and answers it.
constexpr char kPythonServer[] = R"py(
import socket, ssl, sys
cert, key, ca, version = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(cafile=ca)
ctx.verify_mode = ssl.CERT_REQUIRED
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
    print("peer", s.getpeercert()["subject"], "rest", repr(rest), s.version(), flush=True)
    s.unwrap()
print("done", flush=True)
)py";

class PythonPeerTest : public TestPkiSuite<::testing::TestWithParam<Version>> {
 protected:
  std::string VersionArg() const { return GetParam() == Version::kTls12 ? "1.2" : "1.3"; }
  std::string VersionName() const { return GetParam() == Version::kTls12 ? "TLSv1.2" : "TLSv1.3"; }
};

TEST_P(PythonPeerTest, PythonClientTalksToOurServer) {
  int port = 0;
  const int listen_fd = testing::ListenLoopback(&port);
  ASSERT_GE(listen_fd, 0);
  absl::StatusOr<Child> peer = Child::Start(
      {testing::kPython, "-c", kPythonClient, absl::StrCat(port), pki_->ca_file, VersionArg()});
  ASSERT_TRUE(peer.ok()) << peer.status();
  const int fd = testing::AcceptWithin(listen_fd, kTimeout);
  close(listen_fd);
  ASSERT_GE(fd, 0) << peer->output();

  ContextOptions o;
  o.certificate = pki_->server.pem;
  absl::StatusOr<Context> context = Context::Server(o);
  ASSERT_TRUE(context.ok()) << context.status();
  absl::StatusOr<Session> session = Session::Create(*context);
  ASSERT_TRUE(session.ok());
  SocketDriver driver(*session, fd);
  ASSERT_TRUE(driver.Handshake(kTimeout).ok()) << peer->output();
  std::string got;
  ASSERT_TRUE(driver.ReadAtLeast(17, &got, kTimeout).ok()) << peer->output();
  EXPECT_EQ(got, "hello from python");
  ASSERT_TRUE(driver.Write("reply from gaio").ok());
  got.clear();
  const absl::Status end = driver.ReadAtLeast(static_cast<size_t>(-1), &got, kTimeout);
  EXPECT_TRUE(IsCleanClose(end)) << end << peer->output();  // the client's unwrap()
  ASSERT_TRUE(session->shutdown().ok());
  ASSERT_TRUE(driver.Flush().ok());
  ASSERT_TRUE(peer->WaitForOutput("done", kTimeout).ok()) << peer->output();
  EXPECT_NE(peer->output().find("got reply from gaio " + VersionName()), std::string::npos)
      << peer->output();
  absl::StatusOr<int> rc = peer->Wait(kTimeout);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0) << peer->output();
}

TEST_P(PythonPeerTest, OurClientWithACertificateTalksToAPythonServer) {
  absl::StatusOr<Child> peer =
      Child::Start({testing::kPython, "-c", kPythonServer, pki_->server.cert_file,
                    pki_->server.key_file, pki_->ca_file, VersionArg()});
  ASSERT_TRUE(peer.ok()) << peer.status();
  ASSERT_TRUE(peer->WaitForOutput("PORT ", kTimeout).ok()) << peer->output();
  ASSERT_TRUE(peer->WaitForOutput("\n", kTimeout).ok());
  const std::string& out = peer->output();
  const size_t at = out.find("PORT ") + 5;
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(out.substr(at, out.find('\n', at) - at), &port)) << out;
  const int fd = testing::ConnectLoopback(port, kTimeout);
  ASSERT_GE(fd, 0);

  ContextOptions o;
  o.ca_file = pki_->ca_file;
  o.certificate = pki_->client.pem;
  absl::StatusOr<Context> context = Context::Client(o);
  ASSERT_TRUE(context.ok()) << context.status();
  SessionOptions so;
  so.server_name = "localhost";
  absl::StatusOr<Session> session = Session::Create(*context, so);
  ASSERT_TRUE(session.ok());
  SocketDriver driver(*session, fd);
  ASSERT_TRUE(driver.Handshake(kTimeout).ok()) << peer->output();
  EXPECT_EQ(session->version(), GetParam());
  ASSERT_TRUE(driver.Write("hello python").ok());
  std::string got;
  ASSERT_TRUE(driver.ReadAtLeast(12, &got, kTimeout).ok()) << peer->output();
  EXPECT_EQ(got, "nohtyp olleh");
  ASSERT_TRUE(session->shutdown().ok());
  ASSERT_TRUE(driver.Flush().ok());
  const absl::Status end = driver.ReadToEnd(&got, kTimeout);
  EXPECT_TRUE(IsCleanClose(end)) << end << peer->output();
  ASSERT_TRUE(peer->WaitForOutput("done", kTimeout).ok()) << peer->output();
  EXPECT_NE(peer->output().find("'gaio test client'"), std::string::npos) << peer->output();
  EXPECT_NE(peer->output().find("rest b'' " + VersionName()), std::string::npos) << peer->output();
}

INSTANTIATE_TEST_SUITE_P(Versions, PythonPeerTest,
                         ::testing::Values(Version::kTls12, Version::kTls13),
                         [](const ::testing::TestParamInfo<Version>& info) {
                           return info.param == Version::kTls12 ? "Tls12" : "Tls13";
                         });

}  // namespace
}  // namespace gaio::tls
