// TlsSocket (//coro:tls) between our client and our server over loopback,
// TLS 1.2 and 1.3: data both ways, clean close, and misbehaving peers on one
// server (garbage for a ClientHello, a stalled handshake freed by its
// deadline, a truncated record, a close without close_notify, a
// one-byte-at-a-time handshake) while a good client is served throughout.
// Every operation has a deadline and every loop runs under a watchdog.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/tls/test_pki.h"
#include "tls/context.h"
#include "tls/session.h"
#include "tls/status.h"

namespace gaio::coro {
namespace {

using tls::GetTlsError;
using tls::TlsError;
using tls::testing::TestPki;
using tls::testing::TestPkiSuite;

constexpr absl::Duration kTimeout = absl::Seconds(15);

absl::Time Deadline() { return absl::Now() + kTimeout; }

// How one server-side connection ended, and the plaintext it received.
struct End {
  absl::Status status;
  std::string got;
  bool done = false;
};

// Handshakes within `handshake_deadline`, then echoes until the stream ends;
// answers the peer's close_notify with its own.
Task<> ServeOne(TlsSocket t, absl::Time handshake_deadline, End* end) {
  absl::Status h = co_await t.handshake(handshake_deadline);
  end->done = true;
  end->status = h;
  if (!h.ok()) co_return;
  for (;;) {
    absl::StatusOr<SwapBytes> in = co_await t.read(Deadline());
    if (!in.ok()) {
      end->status = in.status();
      break;
    }
    end->got.append(in->data(), in->size());
    absl::Status w = co_await t.write(*in, Deadline());
    if (!w.ok()) {
      end->status = w;
      co_return;
    }
  }
  if (tls::IsCleanClose(end->status)) {
    absl::Status closed = co_await t.shutdown(Deadline());
    closed.IgnoreError();
  }
}

// Accepts `ends.size()` connections in order; the first gets `first_deadline`
// for its handshake.
Task<> AcceptAll(const Listener* l, tls::Context context, absl::Span<End> ends,
                 absl::Duration first_deadline, Scope* scope) {
  for (size_t i = 0; i < ends.size(); ++i) {
    absl::StatusOr<Socket> s = co_await l->accept();
    if (!s.ok()) co_return;
    absl::StatusOr<TlsSocket> t = TlsSocket::Server(*std::move(s), context);
    if (!t.ok()) co_return;
    const absl::Time deadline = absl::Now() + (i == 0 ? first_deadline : kTimeout);
    scope->spawn(ServeOne(*std::move(t), deadline, &ends[i]));
  }
}

class CoroTlsTest : public TestPkiSuite<::testing::TestWithParam<tls::Version>> {
 protected:
  void SetUp() override {
    tls::ContextOptions s;
    s.certificate = pki_->server.pem;
    s.min_version = s.max_version = GetParam();
    absl::StatusOr<tls::Context> server = tls::Context::Server(s);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<tls::Context>(*std::move(server));
    tls::ContextOptions c;
    c.ca_file = pki_->ca_file;
    c.min_version = c.max_version = GetParam();
    absl::StatusOr<tls::Context> client = tls::Context::Client(c);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::make_unique<tls::Context>(*std::move(client));
  }
  std::unique_ptr<tls::Context> server_, client_;
};

// 100 KB (several records) each way, then close_notify both ways.
Task<absl::Status> RoundTrip(const Listener* l, tls::Context server, tls::Context client,
                             End* server_end, tls::Version* version) {
  Scope scope;
  scope.spawn(AcceptAll(l, server, absl::MakeSpan(server_end, 1), kTimeout, &scope));
  absl::StatusOr<TlsSocket> dialled =
      co_await dial_tls(l->address(), client, "localhost", Deadline());
  if (!dialled.ok()) co_return dialled.status();
  TlsSocket moved = *std::move(dialled);  // a moved-from TlsSocket is empty
  TlsSocket& from = *dialled;             // NOLINT(bugprone-use-after-move): what is tested
  absl::StatusOr<SwapBytes> empty = co_await from.read(Deadline());
  if (from.valid() || !absl::IsInvalidArgument(empty.status())) {
    co_return absl::InternalError("a moved-from TlsSocket is not empty");
  }
  TlsSocket* c = &moved;
  *version = c->session().version();
  std::string message(100 * 1024, '\0');
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<char>('a' + i % 26);
  absl::Status w = co_await c->write(message, Deadline());
  if (!w.ok()) co_return w;
  std::string back(message.size(), '\0');
  absl::Status r = co_await c->read_full(absl::MakeSpan(back), Deadline());
  if (!r.ok()) co_return r;
  if (back != message) co_return absl::DataLossError("echo differs");
  absl::Status s = co_await c->shutdown(Deadline());
  if (!s.ok()) co_return s;
  absl::StatusOr<SwapBytes> end = co_await c->read(Deadline());
  co_await scope.join();
  if (end.ok()) co_return absl::InternalError("bytes after the echo");
  co_return end.status();  // kClosed: the server answered close_notify
}

TEST_P(CoroTlsTest, OurClientAndServerEchoAndCloseCleanly) {
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  End server_end;
  tls::Version version = tls::Version::kTls12;
  const absl::Status client_end =
      testing::RunBounded(*loop, RoundTrip(&*l, *server_, *client_, &server_end, &version));
  EXPECT_TRUE(tls::IsCleanClose(client_end)) << client_end;
  EXPECT_TRUE(tls::IsCleanClose(server_end.status)) << server_end.status;
  EXPECT_EQ(server_end.got.size(), 100u * 1024);
  EXPECT_EQ(version, GetParam());
}

// A client that drives a Session by hand over a plain Socket, sending its
// ciphertext `chunk` bytes per write.
Task<absl::Status> SendChunked(const Socket* s, std::string bytes, size_t chunk) {
  for (size_t off = 0; off < bytes.size(); off += chunk) {
    const size_t n = std::min(chunk, bytes.size() - off);
    absl::Status w = co_await s->write(absl::string_view(bytes.data() + off, n), Deadline());
    if (!w.ok()) co_return w;
    if (chunk == 1) {
      absl::Status slept = co_await sleep(absl::Microseconds(300));  // let the server read it
      if (!slept.ok()) co_return slept;
    }
  }
  co_return absl::OkStatus();
}

Task<absl::Status> RawHandshake(const Socket* s, tls::Session* session, size_t chunk) {
  for (;;) {
    absl::Status sent = co_await SendChunked(s, session->take_ciphertext(), chunk);
    if (!sent.ok()) co_return sent;
    if (session->handshake_done()) co_return absl::OkStatus();
    absl::StatusOr<SwapBytes> in = co_await s->read(Deadline());
    if (!in.ok()) co_return in.status();
    absl::Status fed = session->feed(in->span());
    if (!fed.ok()) co_return fed;
  }
}

// Plaintext until `n` bytes came.
Task<absl::StatusOr<std::string>> RawReadAtLeast(const Socket* s, tls::Session* session, size_t n) {
  while (session->plaintext().size() < n) {
    absl::StatusOr<SwapBytes> in = co_await s->read(Deadline());
    if (!in.ok()) co_return in.status();
    absl::Status fed = session->feed(in->span());
    if (!fed.ok()) co_return fed;
  }
  std::string got(session->plaintext());
  session->consume_plaintext(got.size());
  co_return got;
}

struct BadPeerResults {
  std::array<End, 7> ends;
  std::vector<std::string> client_failures;  // what went wrong on the client side
};

void Check(BadPeerResults* r, const absl::Status& s, absl::string_view what) {
  if (!s.ok()) r->client_failures.push_back(absl::StrCat(what, ": ", s.ToString()));
}

// Connections, in accept order: 0 stalls its handshake; 1 sends garbage;
// 2 is a good client, served before, between and after the others; 3 sends
// a truncated record and closes; 4 closes without close_notify; 5 handshakes
// and echoes one byte per write; 6 connects late and closes cleanly.
Task<> BadPeers(const Listener* l, tls::Context server, tls::Context client_context,
                BadPeerResults* r) {
  Scope scope;
  scope.spawn(AcceptAll(l, server, absl::MakeSpan(r->ends), absl::Milliseconds(500), &scope));
  absl::StatusOr<Socket> stalled = co_await dial(l->address(), Deadline());
  Check(r, stalled.status(), "stalled dial");
  absl::StatusOr<Socket> garbage = co_await dial(l->address(), Deadline());
  Check(r, garbage.status(), "garbage dial");
  if (garbage.ok()) {
    Check(r, co_await garbage->write(absl::string_view("GET / HTTP/1.1\r\n\r\n"), Deadline()),
          "garbage write");
    garbage->close().IgnoreError();
  }
  absl::StatusOr<TlsSocket> good =
      co_await dial_tls(l->address(), client_context, "localhost", Deadline());
  Check(r, good.status(), "good dial");
  if (!good.ok()) co_return;
  Check(r, co_await good->write(absl::string_view("good"), Deadline()), "good write");
  char back[4];
  Check(r, co_await good->read_full(absl::MakeSpan(back), Deadline()), "good echo");

  // 3: a handshake, then 10 bytes short of a whole record, then the end.
  absl::StatusOr<Socket> trunc = co_await dial(l->address(), Deadline());
  absl::StatusOr<tls::Session> ts = tls::Session::Create(client_context);
  if (!trunc.ok() || !ts.ok()) {
    Check(r, absl::InternalError("setup"), "truncated");
    co_return;
  }
  Check(r, co_await RawHandshake(&*trunc, &*ts, 16384), "truncated handshake");
  Check(r, ts->write(absl::string_view("never seen")), "truncated write");
  std::string record = ts->take_ciphertext();
  record.resize(record.size() - 10);
  Check(r, co_await trunc->write(record, Deadline()), "truncated send");
  trunc->close().IgnoreError();

  // 4: data, then the transport ends without close_notify.
  absl::StatusOr<TlsSocket> abrupt =
      co_await dial_tls(l->address(), client_context, "localhost", Deadline());
  Check(r, abrupt.status(), "abrupt dial");
  if (!abrupt.ok()) co_return;
  Check(r, co_await abrupt->write(absl::string_view("abrupt"), Deadline()), "abrupt write");
  char six[6];
  Check(r, co_await abrupt->read_full(absl::MakeSpan(six), Deadline()), "abrupt echo");
  abrupt->close().IgnoreError();

  // 5: every byte of the handshake and of the data in its own write.
  absl::StatusOr<Socket> bytewise = co_await dial(l->address(), Deadline());
  absl::StatusOr<tls::Session> bs = tls::Session::Create(client_context);
  if (!bytewise.ok() || !bs.ok()) {
    Check(r, absl::InternalError("setup"), "bytewise");
    co_return;
  }
  Check(r, co_await RawHandshake(&*bytewise, &*bs, 1), "bytewise handshake");
  Check(r, bs->write(absl::string_view("bytewise")), "bytewise write");
  Check(r, co_await SendChunked(&*bytewise, bs->take_ciphertext(), 1), "bytewise send");
  absl::StatusOr<std::string> echoed = co_await RawReadAtLeast(&*bytewise, &*bs, 8);
  Check(r, echoed.status(), "bytewise echo");
  if (echoed.ok() && *echoed != "bytewise") Check(r, absl::DataLossError(*echoed), "bytewise");
  Check(r, bs->shutdown(), "bytewise shutdown");
  Check(r, co_await SendChunked(&*bytewise, bs->take_ciphertext(), 16384), "bytewise close");

  // The good client again, and a late one (connection 6).
  absl::StatusOr<TlsSocket> late =
      co_await dial_tls(l->address(), client_context, "localhost", Deadline());
  Check(r, late.status(), "late dial");
  Check(r, co_await good->write(absl::string_view("still"), Deadline()), "good write 2");
  char five[5];
  Check(r, co_await good->read_full(absl::MakeSpan(five), Deadline()), "good echo 2");
  Check(r, co_await good->shutdown(Deadline()), "good shutdown");
  absl::StatusOr<SwapBytes> end = co_await good->read(Deadline());
  if (!tls::IsCleanClose(end.status())) Check(r, absl::InternalError("no kClosed"), "good end");
  if (late.ok()) {
    Check(r, co_await late->shutdown(Deadline()), "late shutdown");
    absl::StatusOr<SwapBytes> late_end = co_await late->read(Deadline());
    if (!tls::IsCleanClose(late_end.status())) Check(r, late_end.status(), "late end");
  }
  co_await scope.join();  // the stalled handshake ends at its deadline
}

TEST_P(CoroTlsTest, MisbehavingPeersGetTheirStatusAndOthersAreServed) {
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  BadPeerResults r;
  ASSERT_TRUE(testing::RunBounded(*loop, BadPeers(&*l, *server_, *client_, &r)).ok());
  EXPECT_TRUE(r.client_failures.empty()) << absl::StrJoin(r.client_failures, "\n");
  for (const End& e : r.ends) EXPECT_TRUE(e.done);
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.ends[0].status)) << r.ends[0].status;
  EXPECT_EQ(GetTlsError(r.ends[1].status), TlsError::kProtocol) << r.ends[1].status;
  EXPECT_TRUE(tls::IsCleanClose(r.ends[2].status)) << r.ends[2].status;
  EXPECT_EQ(r.ends[2].got, "goodstill");
  EXPECT_EQ(GetTlsError(r.ends[3].status), TlsError::kTruncated) << r.ends[3].status;
  EXPECT_EQ(r.ends[3].got, "");
  EXPECT_EQ(GetTlsError(r.ends[4].status), TlsError::kTruncated) << r.ends[4].status;
  EXPECT_EQ(r.ends[4].got, "abrupt");
  EXPECT_TRUE(tls::IsCleanClose(r.ends[5].status)) << r.ends[5].status;
  EXPECT_EQ(r.ends[5].got, "bytewise");
  EXPECT_TRUE(tls::IsCleanClose(r.ends[6].status)) << r.ends[6].status;
}

INSTANTIATE_TEST_SUITE_P(Versions, CoroTlsTest,
                         ::testing::Values(tls::Version::kTls12, tls::Version::kTls13),
                         [](const ::testing::TestParamInfo<tls::Version>& info) {
                           return info.param == tls::Version::kTls12 ? "Tls12" : "Tls13";
                         });

}  // namespace
}  // namespace gaio::coro
