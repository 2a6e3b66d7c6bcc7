// What a Context configures, between two in-memory Sessions: ALPN, SNI
// certificates, mutual TLS, peer verification failures, versions, ciphers,
// resumption, the key log, and the configuration errors.
#include "tls/context.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/tls/session_pair.h"
#include "tests/tls/test_pki.h"
#include "tls/session.h"
#include "tls/status.h"

namespace gaio::tls {
namespace {

using testing::DrainPlaintext;
using testing::Exchange;
using testing::PairResult;
using testing::TestPki;
using testing::TestPkiSuite;

class ContextTest : public TestPkiSuite<> {
 protected:
  ContextOptions ClientOptions() {
    ContextOptions o;
    o.ca_pem = pki_->ca_pem;
    return o;
  }
  ContextOptions ServerOptions() {
    ContextOptions o;
    o.certificate = pki_->server.pem;
    return o;
  }
  // Runs a handshake between contexts made from the two option sets.
  PairResult Handshake(const ContextOptions& client, const ContextOptions& server,
                       const std::string& host = "localhost",
                       std::optional<ResumptionTicket> resume = std::nullopt) {
    absl::StatusOr<Context> cc = Context::Client(client);
    absl::StatusOr<Context> sc = Context::Server(server);
    EXPECT_TRUE(cc.ok()) << cc.status();
    EXPECT_TRUE(sc.ok()) << sc.status();
    SessionOptions so;
    so.server_name = host;
    so.resume_from = std::move(resume);
    absl::StatusOr<Session> c = Session::Create(*cc, so);
    absl::StatusOr<Session> s = Session::Create(*sc);
    EXPECT_TRUE(c.ok() && s.ok());
    client_ = std::make_unique<Session>(*std::move(c));
    server_ = std::make_unique<Session>(*std::move(s));
    return Exchange(*client_, *server_);
  }

  std::unique_ptr<Session> client_, server_;
};

TEST_F(ContextTest, AlpnPicksTheServersFirstChoiceTheClientOffered) {
  ContextOptions c = ClientOptions(), s = ServerOptions();
  c.alpn = {"h2", "http/1.1"};
  s.alpn = {"http/1.1", "h2"};
  const PairResult r = Handshake(c, s);
  ASSERT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
  EXPECT_EQ(client_->alpn_protocol(), "http/1.1");
  EXPECT_EQ(server_->alpn_protocol(), "http/1.1");
}

TEST_F(ContextTest, AlpnWithoutACommonProtocolFailsBothSides) {
  ContextOptions c = ClientOptions(), s = ServerOptions();
  c.alpn = {"h2"};
  s.alpn = {"http/1.1"};
  const PairResult r = Handshake(c, s);
  EXPECT_EQ(GetTlsError(r.server), TlsError::kNoSharedApplicationProtocol) << r.server;
  EXPECT_EQ(GetTlsError(r.client), TlsError::kNoSharedApplicationProtocol) << r.client;
}

TEST_F(ContextTest, SniSelectsTheCertificateForTheName) {
  ContextOptions s = ServerOptions();
  s.sni_certificates = {{"alt.example", pki_->alt_name.pem}};
  PairResult r = Handshake(ClientOptions(), s, "alt.example");
  ASSERT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
  EXPECT_EQ(server_->server_name(), "alt.example");
  r = Handshake(ClientOptions(), s, "localhost");  // the default certificate
  ASSERT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
  EXPECT_EQ(server_->server_name(), "localhost");
}

TEST_F(ContextTest, SniWildcardMatchesOneLabel) {
  ContextOptions s = ServerOptions();
  s.sni_certificates = {{"*.example", pki_->alt_name.pem}};
  const PairResult r = Handshake(ClientOptions(), s, "alt.example");
  ASSERT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
}

TEST_F(ContextTest, MutualTlsAcceptsAClientCertificateOfTheCa) {
  ContextOptions c = ClientOptions(), s = ServerOptions();
  c.certificate = pki_->client.pem;
  s.verify_peer = PeerVerification::kRequire;
  s.ca_pem = pki_->ca_pem;
  const PairResult r = Handshake(c, s);
  ASSERT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
}

TEST_F(ContextTest, MutualTlsRefusesAClientWithoutACertificate) {
  ContextOptions s = ServerOptions();
  s.verify_peer = PeerVerification::kRequire;
  s.ca_pem = pki_->ca_pem;
  const PairResult r = Handshake(ClientOptions(), s);
  EXPECT_EQ(GetTlsError(r.server), TlsError::kCertificateRequired) << r.server;
  EXPECT_EQ(GetTlsError(r.client), TlsError::kPeerRejectedCertificate) << r.client;
}

TEST_F(ContextTest, MutualTlsRefusesAClientCertificateOfAnotherCa) {
  ContextOptions c = ClientOptions(), s = ServerOptions();
  c.certificate = pki_->untrusted.pem;
  s.verify_peer = PeerVerification::kRequest;
  s.ca_pem = pki_->ca_pem;
  const PairResult r = Handshake(c, s);
  EXPECT_EQ(GetTlsError(r.server), TlsError::kUnknownCa) << r.server;
}

struct VerifyCase {
  const char* name;
  testing::Issued TestPki::*certificate;
  std::string host;
  TlsError expected;
};

TEST_F(ContextTest, ClientVerificationFailuresHaveTheirOwnStatus) {
  const VerifyCase cases[] = {
      {"unknown CA", &TestPki::untrusted, "localhost", TlsError::kUnknownCa},
      {"expired", &TestPki::expired, "localhost", TlsError::kCertificateExpired},
      {"other host", &TestPki::other_host, "localhost", TlsError::kHostnameMismatch},
      {"IP mismatch", &TestPki::other_host, "127.0.0.1", TlsError::kHostnameMismatch},
  };
  for (const VerifyCase& v : cases) {
    SCOPED_TRACE(v.name);
    ContextOptions s;
    s.certificate = (pki_->*v.certificate).pem;
    const PairResult r = Handshake(ClientOptions(), s, v.host);
    EXPECT_EQ(GetTlsError(r.client), v.expected) << r.client;
    EXPECT_EQ(r.client.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(GetTlsError(r.server), TlsError::kPeerRejectedCertificate) << r.server;
  }
  // The same certificates pass when verification is off.
  ContextOptions c = ClientOptions(), s;
  c.verify_peer = PeerVerification::kNone;
  s.certificate = pki_->expired.pem;
  const PairResult r = Handshake(c, s);
  EXPECT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
}

TEST_F(ContextTest, IpAddressServerNameIsCheckedAgainstIpEntries) {
  const PairResult r = Handshake(ClientOptions(), ServerOptions(), "127.0.0.1");
  ASSERT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
  EXPECT_EQ(server_->server_name(), "");  // no SNI for an address
}

TEST_F(ContextTest, NoSharedVersion) {
  ContextOptions c = ClientOptions(), s = ServerOptions();
  c.max_version = Version::kTls12;
  s.min_version = Version::kTls13;
  const PairResult r = Handshake(c, s);
  EXPECT_EQ(GetTlsError(r.server), TlsError::kNoSharedVersion) << r.server;
  EXPECT_EQ(GetTlsError(r.client), TlsError::kNoSharedVersion) << r.client;
  EXPECT_EQ(r.server.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ContextTest, NoSharedCipher) {
  ContextOptions c = ClientOptions(), s = ServerOptions();
  c.max_version = s.max_version = Version::kTls12;
  c.tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  s.tls12_ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
  const PairResult r = Handshake(c, s);
  EXPECT_EQ(GetTlsError(r.server), TlsError::kNoSharedCipher) << r.server;
  EXPECT_EQ(GetTlsError(r.client), TlsError::kNoSharedCipher) << r.client;
}

TEST_F(ContextTest, ResumptionByTicketInBothVersions) {
  for (Version v : {Version::kTls12, Version::kTls13}) {
    SCOPED_TRACE(v == Version::kTls12 ? "TLS 1.2" : "TLS 1.3");
    ContextOptions c = ClientOptions(), s = ServerOptions();
    c.max_version = s.max_version = v;
    absl::StatusOr<Context> cc = Context::Client(c);
    absl::StatusOr<Context> sc = Context::Server(s);
    ASSERT_TRUE(cc.ok() && sc.ok());
    std::optional<ResumptionTicket> ticket;
    for (int round = 0; round < 2; ++round) {
      SessionOptions so;
      so.server_name = "localhost";
      so.resume_from = ticket;
      absl::StatusOr<Session> client = Session::Create(*cc, so);
      absl::StatusOr<Session> server = Session::Create(*sc);
      ASSERT_TRUE(client.ok() && server.ok());
      PairResult r = Exchange(*client, *server);
      ASSERT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
      EXPECT_EQ(client->resumed(), round == 1);
      EXPECT_EQ(server->resumed(), round == 1);
      ticket = client->resumption_ticket();
      ASSERT_TRUE(ticket.has_value());
    }
  }
}

TEST_F(ContextTest, NoTicketsNoResumption) {
  ContextOptions c = ClientOptions(), s = ServerOptions();
  s.session_tickets = false;
  ASSERT_TRUE(Handshake(c, s).client.ok());
  EXPECT_FALSE(client_->resumption_ticket().has_value());
}

TEST_F(ContextTest, KeyLogGetsTheSecretsOfBothVersions) {
  const std::string file = pki_->dir + "/keylog.txt";
  std::vector<std::string> lines;
  ContextOptions c = ClientOptions();
  c.key_log = [&lines](absl::string_view line) { lines.emplace_back(line); };
  c.key_log_file = file;
  ASSERT_TRUE(Handshake(c, ServerOptions()).client.ok());
  ASSERT_EQ(lines.size(), 5u);  // 2 handshake, 2 traffic secrets, the exporter
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) {
                            return absl::StartsWith(l, "CLIENT_HANDSHAKE_TRAFFIC_SECRET ");
                          }),
            1);
  lines.clear();
  c.max_version = Version::kTls12;
  ASSERT_TRUE(Handshake(c, ServerOptions()).client.ok());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(lines[0], "CLIENT_RANDOM ")) << lines[0];
  absl::StatusOr<std::string> written = testing::ReadWholeFile(file);
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(absl::StrContains(*written, lines[0] + "\n"));
}

TEST_F(ContextTest, ConfigurationErrorsAreStatuses) {
  auto expect_invalid = [](const absl::StatusOr<Context>& c, const char* what) {
    EXPECT_FALSE(c.ok()) << what;
    EXPECT_EQ(GetTlsError(c.status()), TlsError::kInvalidConfiguration) << what << c.status();
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << what;
  };
  ContextOptions s;
  expect_invalid(Context::Server(s), "a server without a certificate");
  s.certificate = CertifiedKey{"not a PEM", pki_->server.pem.key_pem};
  expect_invalid(Context::Server(s), "a bad certificate PEM");
  s.certificate = CertifiedKey{pki_->server.pem.chain_pem, "-----BEGIN PRIVATE KEY-----\nAA\n"};
  expect_invalid(Context::Server(s), "a bad key PEM");
  s.certificate = CertifiedKey{pki_->server.pem.chain_pem, pki_->client.pem.key_pem};
  expect_invalid(Context::Server(s), "a key of another certificate");
  ContextOptions c;
  c.ca_file = pki_->dir + "/no-such-ca.pem";
  expect_invalid(Context::Client(c), "a missing CA file");
  c = ContextOptions();
  c.ca_pem = "garbage";
  expect_invalid(Context::Client(c), "a CA PEM without certificates");
  c = ContextOptions();
  c.min_version = Version::kTls13;
  c.max_version = Version::kTls12;
  expect_invalid(Context::Client(c), "an empty version range");
  c = ContextOptions();
  c.tls12_ciphers = "NO-SUCH-CIPHER";
  expect_invalid(Context::Client(c), "an unknown cipher");
  c = ContextOptions();
  c.alpn = {""};
  expect_invalid(Context::Client(c), "an empty ALPN name");
  EXPECT_FALSE(CertifiedKey::FromFiles(pki_->dir + "/none.pem", pki_->dir + "/none.key").ok());
}

TEST_F(ContextTest, FromFilesLoadsTheChainAndKey) {
  absl::StatusOr<CertifiedKey> key =
      CertifiedKey::FromFiles(pki_->server.cert_file, pki_->server.key_file);
  ASSERT_TRUE(key.ok()) << key.status();
  ContextOptions s;
  s.certificate = *key;
  ContextOptions c;
  c.ca_file = pki_->ca_file;
  const PairResult r = Handshake(c, s);
  EXPECT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
}

TEST_F(ContextTest, OneContextServesSessionsOnManyThreads) {
  absl::StatusOr<Context> sc = Context::Server(ServerOptions());
  absl::StatusOr<Context> cc = Context::Client(ClientOptions());
  ASSERT_TRUE(sc.ok() && cc.ok());
  std::atomic<int> echoed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t, server = *sc] {  // a copy of the Context per thread
      for (int i = 0; i < 5; ++i) {
        SessionOptions so;
        so.server_name = "localhost";
        absl::StatusOr<Session> c = Session::Create(*cc, so);
        absl::StatusOr<Session> s = Session::Create(server);
        if (!c.ok() || !s.ok() || !Exchange(*c, *s).server.ok()) return;
        const std::string message = "t" + std::to_string(t) + "i" + std::to_string(i);
        if (!c->write(message).ok() || !Exchange(*c, *s).server.ok()) return;
        if (DrainPlaintext(*s) == message) echoed.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(echoed.load(), 20);
}

}  // namespace
}  // namespace gaio::tls
