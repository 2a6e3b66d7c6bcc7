// Sessions against the openssl CLI over loopback sockets, both directions,
// TLS 1.2 and 1.3: data, clean close, verification by the CLI, a peer killed
// mid-stream, a one-byte-at-a-time handshake, garbage and renegotiation.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

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

class OpensslPeerTest : public TestPkiSuite<::testing::TestWithParam<Version>> {
 protected:
  void TearDown() override {
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  std::string VersionFlag() const { return GetParam() == Version::kTls12 ? "-tls1_2" : "-tls1_3"; }

  // An s_client connected to our listener, and our server session on it.
  void StartClient(const std::vector<std::string>& extra, const testing::Issued& certificate,
                   size_t read_size = 16384) {
    listen_fd_ = testing::ListenLoopback(&port_);
    ASSERT_GE(listen_fd_, 0);
    std::vector<std::string> argv = {"openssl",
                                     "s_client",
                                     "-connect",
                                     absl::StrCat("127.0.0.1:", port_),
                                     "-CAfile",
                                     pki_->ca_file,
                                     "-verify_return_error",
                                     "-verify_hostname",
                                     "localhost",
                                     "-servername",
                                     "localhost",
                                     VersionFlag()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<Child> child = Child::Start(argv);
    ASSERT_TRUE(child.ok()) << child.status();
    peer_ = std::make_unique<Child>(*std::move(child));
    const int fd = testing::AcceptWithin(listen_fd_, kTimeout);
    ASSERT_GE(fd, 0) << peer_->output();
    ContextOptions o;
    o.certificate = certificate.pem;
    absl::StatusOr<Context> context = Context::Server(o);
    ASSERT_TRUE(context.ok()) << context.status();
    absl::StatusOr<Session> session = Session::Create(*context);
    ASSERT_TRUE(session.ok());
    session_ = std::make_unique<Session>(*std::move(session));
    driver_ = std::make_unique<SocketDriver>(*session_, fd, read_size);
  }

  // An s_server (-rev: each line back reversed) and our client session on it.
  void StartServer(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"openssl",    "s_server",
                                     "-accept",    "127.0.0.1:0",
                                     "-cert",      pki_->server.cert_file,
                                     "-key",       pki_->server.key_file,
                                     "-naccept",   "1",
                                     VersionFlag()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<Child> child = Child::Start(argv);
    ASSERT_TRUE(child.ok()) << child.status();
    peer_ = std::make_unique<Child>(*std::move(child));
    ASSERT_TRUE(peer_->WaitForOutput("ACCEPT 127.0.0.1:", kTimeout).ok()) << peer_->output();
    ASSERT_TRUE(peer_->WaitForOutput("\n", kTimeout).ok());
    const std::string& out = peer_->output();
    const size_t at = out.find("ACCEPT 127.0.0.1:") + 17;
    ASSERT_TRUE(absl::SimpleAtoi(out.substr(at, out.find('\n', at) - at), &port_)) << out;
    const int fd = testing::ConnectLoopback(port_, kTimeout);
    ASSERT_GE(fd, 0);
    ContextOptions o;
    o.ca_file = pki_->ca_file;
    absl::StatusOr<Context> context = Context::Client(o);
    ASSERT_TRUE(context.ok()) << context.status();
    SessionOptions so;
    so.server_name = "localhost";
    absl::StatusOr<Session> session = Session::Create(*context, so);
    ASSERT_TRUE(session.ok());
    session_ = std::make_unique<Session>(*std::move(session));
    driver_ = std::make_unique<SocketDriver>(*session_, fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::unique_ptr<Child> peer_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<SocketDriver> driver_;
};

TEST_P(OpensslPeerTest, SClientTalksToOurServerAndClosesCleanly) {
  StartClient({"-quiet"}, pki_->server);
  ASSERT_TRUE(driver_->Handshake(kTimeout).ok()) << peer_->output();
  EXPECT_EQ(session_->version(), GetParam());
  ASSERT_TRUE(peer_->WriteStdin("hello from s_client\n").ok());
  std::string got;
  ASSERT_TRUE(driver_->ReadAtLeast(20, &got, kTimeout).ok());
  EXPECT_EQ(got, "hello from s_client\n");
  ASSERT_TRUE(driver_->Write("reply from gaio\n").ok());
  ASSERT_TRUE(session_->shutdown().ok());
  ASSERT_TRUE(driver_->Flush().ok());
  EXPECT_TRUE(peer_->WaitForOutput("reply from gaio\n", kTimeout).ok()) << peer_->output();
  std::string rest;
  const absl::Status end = driver_->ReadToEnd(&rest, kTimeout);
  EXPECT_TRUE(IsCleanClose(end)) << end;  // s_client answers close_notify
  EXPECT_EQ(rest, "");
  absl::StatusOr<int> rc = peer_->Wait(kTimeout);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0) << peer_->output();
}

TEST_P(OpensslPeerTest, OurClientTalksToSServer) {
  StartServer({"-rev"});
  ASSERT_TRUE(driver_->Handshake(kTimeout).ok()) << peer_->output();
  EXPECT_EQ(session_->version(), GetParam());
  ASSERT_TRUE(driver_->Write("gaio-cpp\n").ok());
  std::string got;
  ASSERT_TRUE(driver_->ReadAtLeast(9, &got, kTimeout).ok()) << peer_->output();
  EXPECT_EQ(got, "ppc-oiag\n");
}

TEST_P(OpensslPeerTest, SClientRefusesAnUntrustedServer) {
  StartClient({"-quiet"}, pki_->untrusted);
  const absl::Status s = driver_->Handshake(kTimeout);
  EXPECT_EQ(GetTlsError(s), TlsError::kPeerRejectedCertificate) << s;
  absl::StatusOr<int> rc = peer_->Wait(kTimeout);
  ASSERT_TRUE(rc.ok());
  EXPECT_NE(*rc, 0);
}

TEST_P(OpensslPeerTest, PeerKilledMidStreamIsTruncation) {
  StartClient({"-quiet"}, pki_->server);
  ASSERT_TRUE(driver_->Handshake(kTimeout).ok()) << peer_->output();
  ASSERT_TRUE(peer_->WriteStdin("partial\n").ok());
  std::string got;
  ASSERT_TRUE(driver_->ReadAtLeast(8, &got, kTimeout).ok());
  peer_->Kill();
  const absl::Status end = driver_->ReadToEnd(&got, kTimeout);
  EXPECT_EQ(GetTlsError(end), TlsError::kTruncated) << end;
  EXPECT_EQ(got, "partial\n");
}

TEST_P(OpensslPeerTest, OneByteAtATimeHandshakeWithSClient) {
  StartClient({"-quiet"}, pki_->server, /*read_size=*/1);
  ASSERT_TRUE(driver_->Handshake(kTimeout).ok()) << peer_->output();
  ASSERT_TRUE(peer_->WriteStdin("bytewise\n").ok());
  std::string got;
  ASSERT_TRUE(driver_->ReadAtLeast(9, &got, kTimeout).ok());
  EXPECT_EQ(got, "bytewise\n");
}

// Misbehaving connections to the same server, on the same thread, between
// the steps of a good one: each ends in its status, the good one is served.
TEST_P(OpensslPeerTest, BadConnectionsDoNotDisturbAGoodOne) {
  StartClient({"-quiet"}, pki_->server);
  ContextOptions o;
  o.certificate = pki_->server.pem;
  absl::StatusOr<Context> context = Context::Server(o);
  ASSERT_TRUE(context.ok());
  auto bad_connection = [&](const std::string& bytes) -> absl::Status {
    const int client = testing::ConnectLoopback(port_, kTimeout);
    const int server = testing::AcceptWithin(listen_fd_, kTimeout);
    if (client < 0 || server < 0) return absl::InternalError("connect");
    const bool sent =
        ::write(client, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    close(client);  // then the end of the stream
    if (!sent) return absl::InternalError("write");
    absl::StatusOr<Session> session = Session::Create(*context);
    if (!session.ok()) return session.status();
    SocketDriver driver(*session, server);
    return driver.Handshake(kTimeout);
  };
  EXPECT_EQ(GetTlsError(bad_connection("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")),
            TlsError::kProtocol);
  ASSERT_TRUE(driver_->Handshake(kTimeout).ok()) << peer_->output();
  // The first 40 bytes of a real ClientHello, then nothing.
  absl::StatusOr<Context> client_context = Context::Client(ContextOptions());
  ASSERT_TRUE(client_context.ok());
  absl::StatusOr<Session> client = Session::Create(*client_context);
  ASSERT_TRUE(client.ok());
  const std::string hello = client->take_ciphertext().substr(0, 40);
  EXPECT_EQ(GetTlsError(bad_connection(hello)), TlsError::kTruncated);
  ASSERT_TRUE(peer_->WriteStdin("still served\n").ok());
  std::string got;
  ASSERT_TRUE(driver_->ReadAtLeast(13, &got, kTimeout).ok());
  EXPECT_EQ(got, "still served\n");
}

TEST_P(OpensslPeerTest, SClientRenegotiationIsRefused) {
  if (GetParam() != Version::kTls12) GTEST_SKIP() << "TLS 1.3 has no renegotiation";
  StartClient({}, pki_->server);  // not -quiet: a line "R" asks s_client to renegotiate
  ASSERT_TRUE(driver_->Handshake(kTimeout).ok()) << peer_->output();
  ASSERT_TRUE(peer_->WriteStdin("R\n").ok());
  std::string got;
  const absl::Status s = driver_->ReadAtLeast(1, &got, kTimeout);
  EXPECT_EQ(GetTlsError(s), TlsError::kRenegotiationRefused) << s << peer_->output();
  EXPECT_EQ(session_->state(), SessionState::kFailed);
}

TEST_P(OpensslPeerTest, SServerRenegotiationIsRefused) {
  if (GetParam() != Version::kTls12) GTEST_SKIP() << "TLS 1.3 has no renegotiation";
  StartServer({});  // a line "R" on its stdin sends a HelloRequest
  ASSERT_TRUE(driver_->Handshake(kTimeout).ok()) << peer_->output();
  ASSERT_TRUE(driver_->Write("x\n").ok());
  ASSERT_TRUE(peer_->WaitForOutput("x\n", kTimeout).ok()) << peer_->output();
  ASSERT_TRUE(peer_->WriteStdin("R\n").ok());
  std::string got;
  const absl::Status s = driver_->ReadAtLeast(1, &got, kTimeout);
  EXPECT_EQ(GetTlsError(s), TlsError::kRenegotiationRefused) << s << peer_->output();
}

INSTANTIATE_TEST_SUITE_P(Versions, OpensslPeerTest,
                         ::testing::Values(Version::kTls12, Version::kTls13),
                         [](const ::testing::TestParamInfo<Version>& info) {
                           return info.param == Version::kTls12 ? "Tls12" : "Tls13";
                         });

}  // namespace
}  // namespace gaio::tls
