// The sans-I/O Session between two in-memory peers: handshake, data, close,
// truncation, corruption, garbage, byte-at-a-time input, buffer release and
// the error queue's isolation.
#include "tls/session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/tls/session_pair.h"
#include "tests/tls/test_pki.h"
#include "tls/context.h"
#include "tls/status.h"

namespace gaio::tls {
namespace {

using testing::DrainPlaintext;
using testing::Exchange;
using testing::PairResult;
using testing::TestPkiSuite;

SessionOptions ForHost(const std::string& name) {
  SessionOptions o;
  o.server_name = name;
  return o;
}

class SessionTest : public TestPkiSuite<::testing::TestWithParam<Version>> {
 protected:
  Context ClientContext() {
    ContextOptions o;
    o.ca_pem = pki_->ca_pem;
    o.min_version = o.max_version = GetParam();
    absl::StatusOr<Context> c = Context::Client(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }
  Context ServerContext() {
    ContextOptions o;
    o.certificate = pki_->server.pem;
    o.min_version = o.max_version = GetParam();
    absl::StatusOr<Context> c = Context::Server(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }
  // An established pair, every handshake byte delivered.
  void Connect(size_t chunk = 0) {
    absl::StatusOr<Session> c = Session::Create(ClientContext(), ForHost("localhost"));
    absl::StatusOr<Session> s = Session::Create(ServerContext());
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(s.ok()) << s.status();
    client_ = std::make_unique<Session>(*std::move(c));
    server_ = std::make_unique<Session>(*std::move(s));
    EXPECT_EQ(client_->state(), SessionState::kHandshaking);
    EXPECT_FALSE(client_->ciphertext().empty());  // the ClientHello
    const PairResult r = Exchange(*client_, *server_, chunk);
    ASSERT_TRUE(r.client.ok()) << r.client;
    ASSERT_TRUE(r.server.ok()) << r.server;
    ASSERT_EQ(client_->state(), SessionState::kEstablished);
    ASSERT_EQ(server_->state(), SessionState::kEstablished);
  }

  std::unique_ptr<Session> client_, server_;
};

TEST_P(SessionTest, HandshakeNegotiatesTheVersionAndCarriesBytesBothWays) {
  Connect();
  EXPECT_EQ(client_->version(), GetParam());
  EXPECT_EQ(server_->version(), GetParam());
  ASSERT_TRUE(client_->write(absl::string_view("ping")).ok());
  ASSERT_TRUE(Exchange(*client_, *server_).server.ok());
  EXPECT_EQ(DrainPlaintext(*server_), "ping");
  ASSERT_TRUE(server_->write(absl::string_view("pong!")).ok());
  ASSERT_TRUE(Exchange(*client_, *server_).client.ok());
  char buf[16];
  absl::StatusOr<size_t> n = client_->read(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(buf, *n), "pong!");
  n = client_->read(absl::MakeSpan(buf));  // drained, nothing more yet
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_P(SessionTest, FeedDecryptsStraightIntoTheCallersBuffer) {
  Connect();
  ASSERT_TRUE(server_->write(absl::string_view("0123456789")).ok());
  const std::string records = server_->take_ciphertext();
  char out[4];
  absl::StatusOr<size_t> n = client_->feed(records, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(out, *n), "0123");
  EXPECT_EQ(client_->plaintext(), "456789");  // what did not fit
}

TEST_P(SessionTest, AnIdleEstablishedSessionHoldsNoBuffers) {
  Connect();
  std::string big(100000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(server_->write(big).ok());
  EXPECT_GT(server_->buffered_capacity(), big.size());  // the records, until taken
  ASSERT_TRUE(Exchange(*client_, *server_).client.ok());
  EXPECT_GT(client_->buffered_capacity(), 0u);  // unread plaintext
  EXPECT_EQ(DrainPlaintext(*client_), big);
  EXPECT_EQ(client_->buffered_capacity(), 0u);
  EXPECT_EQ(server_->buffered_capacity(), 0u);
}

// A buffer given back after its write serves the next records (the thread's
// spares), so a stream allocates no buffer per record; the session itself
// still holds none once its ciphertext is taken.
TEST_P(SessionTest, AGivenBackBufferServesTheNextRecords) {
  Connect();
  const std::string big(64 * 1024, 'g');
  ASSERT_TRUE(server_->write(big).ok());
  std::string sent = server_->take_ciphertext();
  ASSERT_GT(sent.size(), big.size());
  EXPECT_EQ(server_->buffered_capacity(), 0u);
  ASSERT_TRUE(client_->feed(sent).ok());
  EXPECT_EQ(DrainPlaintext(*client_), big);
  const char* memory = sent.data();
  server_->give_back(std::move(sent));
  ASSERT_TRUE(server_->write(big).ok());
  EXPECT_EQ(server_->ciphertext().data(), memory);
  ASSERT_TRUE(client_->feed(server_->take_ciphertext()).ok());
  EXPECT_EQ(DrainPlaintext(*client_), big);
  EXPECT_EQ(server_->buffered_capacity(), 0u);
  EXPECT_EQ(client_->buffered_capacity(), 0u);
}

TEST_P(SessionTest, WritesBeforeTheHandshakeAreQueuedThenSent) {
  absl::StatusOr<Session> c = Session::Create(ClientContext(), ForHost("localhost"));
  absl::StatusOr<Session> s = Session::Create(ServerContext());
  ASSERT_TRUE(c.ok() && s.ok());
  ASSERT_TRUE(c->write(absl::string_view("early")).ok());
  EXPECT_GT(c->buffered_capacity(), 0u);
  const PairResult r = Exchange(*c, *s);
  ASSERT_TRUE(r.client.ok() && r.server.ok()) << r.client << r.server;
  EXPECT_EQ(DrainPlaintext(*s), "early");
}

TEST_P(SessionTest, OneByteAtATimeHandshakeAndData) {
  Connect(/*chunk=*/1);
  ASSERT_TRUE(client_->write(absl::string_view("slowly")).ok());
  ASSERT_TRUE(Exchange(*client_, *server_, 1).server.ok());
  EXPECT_EQ(DrainPlaintext(*server_), "slowly");
}

TEST_P(SessionTest, CloseNotifyIsACleanClose) {
  Connect();
  ASSERT_TRUE(server_->write(absl::string_view("last")).ok());
  ASSERT_TRUE(server_->shutdown().ok());
  EXPECT_FALSE(
      server_->write(absl::string_view("more")).ok());  // FailedPrecondition after shutdown()
  ASSERT_TRUE(client_->feed(server_->take_ciphertext()).ok());
  EXPECT_TRUE(client_->peer_closed());
  char buf[8];
  absl::StatusOr<size_t> n = client_->read(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "last");  // the bytes before close_notify first
  n = client_->read(absl::MakeSpan(buf));
  EXPECT_TRUE(IsCleanClose(n.status())) << n.status();
  EXPECT_TRUE(IsCleanClose(client_->feed_eof()));
  EXPECT_EQ(client_->state(), SessionState::kClosed);
  ASSERT_TRUE(client_->shutdown().ok());
  ASSERT_TRUE(server_->feed(client_->take_ciphertext()).ok());
  EXPECT_EQ(server_->state(), SessionState::kClosed);
}

TEST_P(SessionTest, EofWithoutCloseNotifyIsTruncation) {
  Connect();
  const absl::Status s = client_->feed_eof();
  EXPECT_EQ(GetTlsError(s), TlsError::kTruncated) << s;
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(client_->state(), SessionState::kFailed);
}

TEST_P(SessionTest, TruncatedRecordThenEofIsTruncation) {
  Connect();
  ASSERT_TRUE(server_->write(std::string(1000, 'z')).ok());
  const std::string record = server_->take_ciphertext();
  ASSERT_TRUE(client_->feed(absl::string_view(record).substr(0, record.size() / 2)).ok());
  EXPECT_TRUE(client_->plaintext().empty());
  EXPECT_EQ(GetTlsError(client_->feed_eof()), TlsError::kTruncated);
}

TEST_P(SessionTest, CorruptRecordFails) {
  Connect();
  ASSERT_TRUE(server_->write(absl::string_view("integrity")).ok());
  std::string record = server_->take_ciphertext();
  record[record.size() - 3] ^= 0x40;  // inside the tag
  const absl::Status s = client_->feed(record);
  EXPECT_EQ(GetTlsError(s), TlsError::kCorruptRecord) << s;
  EXPECT_EQ(client_->state(), SessionState::kFailed);
  EXPECT_FALSE(client_->ciphertext().empty());  // the bad_record_mac alert
  EXPECT_EQ(GetTlsError(server_->feed(client_->take_ciphertext())), TlsError::kPeerAlert);
  EXPECT_EQ(client_->feed(absl::string_view("more")).code(),
            s.code());  // the same status from now on
}

TEST_P(SessionTest, PlaintextBeforeACorruptRecordIsStillRead) {
  Connect();
  ASSERT_TRUE(server_->write(absl::string_view("good")).ok());
  std::string records = server_->take_ciphertext();
  ASSERT_TRUE(server_->write(absl::string_view("bad")).ok());
  std::string bad = server_->take_ciphertext();
  bad.back() ^= 1;
  records += bad;
  EXPECT_EQ(GetTlsError(client_->feed(records)), TlsError::kCorruptRecord);
  char buf[8];
  absl::StatusOr<size_t> n = client_->read(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(buf, *n), "good");
  EXPECT_EQ(GetTlsError(client_->read(absl::MakeSpan(buf)).status()), TlsError::kCorruptRecord);
  EXPECT_FALSE(client_->take_ciphertext().empty());  // the alert
  EXPECT_EQ(client_->buffered_capacity(), 0u);
}

TEST_P(SessionTest, GarbageInsteadOfAClientHelloIsAProtocolError) {
  absl::StatusOr<Session> s = Session::Create(ServerContext());
  ASSERT_TRUE(s.ok());
  const absl::Status st = s->feed(absl::string_view("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(GetTlsError(st), TlsError::kProtocol) << st;
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(SessionTest, EofDuringTheHandshakeIsTruncation) {
  absl::StatusOr<Session> s = Session::Create(ServerContext());
  ASSERT_TRUE(s.ok());
  absl::StatusOr<Session> c = Session::Create(ClientContext(), ForHost("localhost"));
  ASSERT_TRUE(c.ok());
  const std::string hello = c->take_ciphertext();
  ASSERT_TRUE(s->feed(absl::string_view(hello).substr(0, 20)).ok());
  EXPECT_EQ(GetTlsError(s->feed_eof()), TlsError::kTruncated);
}

// OpenSSL's error queue is per thread: a failure of one session must not
// become another's status, and no call leaves anything in the queue.
TEST_P(SessionTest, ErrorQueueDoesNotLeakBetweenSessions) {
  absl::StatusOr<Session> bad = Session::Create(ServerContext());
  ASSERT_TRUE(bad.ok());
  Connect();
  EXPECT_EQ(GetTlsError(bad->feed(absl::string_view("not a TLS record at all"))),
            TlsError::kProtocol);
  EXPECT_EQ(ERR_peek_error(), 0u);
  // A stale error someone else left in this thread's queue.
  ERR_raise(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER);
  ASSERT_TRUE(client_->write(absl::string_view("fine")).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
  ERR_raise(ERR_LIB_SSL, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
  ASSERT_TRUE(server_->feed(client_->take_ciphertext()).ok());
  EXPECT_EQ(DrainPlaintext(*server_), "fine");
  // Interleaved failures keep their own reasons.
  ASSERT_TRUE(server_->write(absl::string_view("x")).ok());
  std::string record = server_->take_ciphertext();
  record.back() ^= 1;
  absl::StatusOr<Session> other = Session::Create(ServerContext());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(GetTlsError(other->feed(std::string(300, '\x16'))), TlsError::kProtocol);
  EXPECT_EQ(GetTlsError(client_->feed(record)), TlsError::kCorruptRecord);
  EXPECT_EQ(GetTlsError(bad->status()), TlsError::kProtocol);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Versions, SessionTest, ::testing::Values(Version::kTls12, Version::kTls13),
                         [](const ::testing::TestParamInfo<Version>& info) {
                           return info.param == Version::kTls12 ? "Tls12" : "Tls13";
                         });

TEST(TlsStatus, NamesAndCodesRoundTrip) {
  const absl::Status s = MakeTlsStatus(TlsError::kHostnameMismatch, "m");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(GetTlsError(s), TlsError::kHostnameMismatch);
  EXPECT_EQ(TlsErrorName(TlsError::kInternal), "kInternal");
  EXPECT_EQ(GetTlsError(absl::OkStatus()), TlsError::kNone);
  EXPECT_EQ(GetTlsError(absl::DataLossError("x")), TlsError::kNone);
}

}  // namespace
}  // namespace gaio::tls
