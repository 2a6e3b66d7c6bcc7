// WsSocket (//coro:ws): our client against our server over ws and wss:
// echo at the framing boundaries, fragmented sends, ping/pong, close codes
// both ways, deadlines and cancellation; and a raw peer (a ws::Session driven
// by hand over a Socket) for the automatic pong and the 1002/1007/1009 close
// frames. Every operation has a deadline and every loop runs under a watchdog.
#include <malloc.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/internal/ws_impl.h"
#include "coro/tls_socket.h"
#include "coro/ws_socket.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/tls/test_pki.h"
#include "tests/ws/ws_test_util.h"
#include "tls/context.h"
#include "ws/handshake.h"
#include "ws/session.h"
#include "ws/status.h"

namespace gaio::coro {
namespace {

using tls::testing::TestPkiSuite;

constexpr absl::Duration kTimeout = absl::Seconds(15);
absl::Time Deadline() { return absl::Now() + kTimeout; }

absl::Span<const uint8_t> Bytes(absl::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// What the server saw.
struct ServerEnd {
  absl::Status status;
  int messages = 0;
  bool close_first = false;  // the server closes after the first message
  bool straight = false;     // echo m->data itself, no copy of our own
  uint16_t close_code = 0;
  absl::Status close_status;
};

// Echoes each message as one of the same type until receive() fails.
Task<> Echo(WsSocket ws, ServerEnd* end) {
  for (;;) {
    absl::StatusOr<WsMessage> m = co_await ws.receive(Deadline());
    if (!m.ok()) {
      end->status = m.status();
      co_return;
    }
    ++end->messages;
    // Passed straight on, send() copies a view of a read's buffer and writes
    // an assembled message from where it lies.
    const std::string copy = end->straight ? std::string() : m->data.ToString();
    const absl::Span<const char> data = m->data.span();
    absl::Status s = co_await ws.send(
        m->type, end->straight ? absl::Span<const uint8_t>(
                                     reinterpret_cast<const uint8_t*>(data.data()), data.size())
                               : Bytes(copy));
    if (!s.ok()) {
      end->status = s;
      co_return;
    }
    if (end->close_first) {
      end->close_status = co_await ws.close(end->close_code, "server bye", Deadline());
      co_return;
    }
  }
}

Task<> ServeOne(const Listener* l, const tls::Context* tls, WsServerOptions options,
                ServerEnd* end) {
  absl::StatusOr<Socket> s = co_await l->accept();
  if (!s.ok()) {
    end->status = s.status();
    co_return;
  }
  absl::StatusOr<WsSocket> ws;
  if (tls != nullptr) {
    absl::StatusOr<TlsSocket> t = TlsSocket::Server(*std::move(s), *tls);
    if (!t.ok()) {
      end->status = t.status();
      co_return;
    }
    ws = co_await ws_accept(*std::move(t), options, Deadline());
  } else {
    ws = co_await ws_accept(*std::move(s), options, Deadline());
  }
  if (!ws.ok()) {
    end->status = ws.status();
    co_return;
  }
  co_await Echo(*std::move(ws), end);
}

class CoroWsTest : public TestPkiSuite<::testing::TestWithParam<bool>> {  // wss?
 protected:
  void SetUp() override {
    tls::ContextOptions s;
    s.certificate = pki_->server.pem;
    absl::StatusOr<tls::Context> server = tls::Context::Server(s);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<tls::Context>(*std::move(server));
    tls::ContextOptions c;
    c.ca_file = pki_->ca_file;
    absl::StatusOr<tls::Context> client = tls::Context::Client(c);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::make_unique<tls::Context>(*std::move(client));
    loop_ = testing::NewLoop(1);
    absl::StatusOr<Listener> l = listen(*loop_, "127.0.0.1:0");
    ASSERT_TRUE(l.ok()) << l.status();
    listener_ = std::make_unique<Listener>(*std::move(l));
  }
  const tls::Context* server_tls() const { return GetParam() ? server_.get() : nullptr; }
  WsOptions ClientOptions() const {
    WsOptions o;
    o.tls = client_.get();
    o.deadline = Deadline();
    return o;
  }
  std::string Url(absl::string_view path = "/echo") const {
    return absl::StrCat(GetParam() ? "wss://" : "ws://", listener_->address(), path);
  }
  std::unique_ptr<tls::Context> server_, client_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Listener> listener_;
};

struct EchoResult {
  std::vector<std::string> failures;
  absl::Status close;
};

Task<> EchoSizes(std::string url, WsOptions options, bool deflate, EchoResult* r) {
  options.deflate = deflate;
  absl::StatusOr<WsSocket> ws = co_await ws_connect(url, options);
  if (!ws.ok()) {
    r->failures.push_back(absl::StrCat("connect: ", ws.status().ToString()));
    co_return;
  }
  for (size_t n :
       {size_t{0}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}, size_t{1} << 20}) {
    for (ws::MessageType type : {ws::MessageType::kText, ws::MessageType::kBinary}) {
      const std::string sent = Pattern(n);
      absl::Status s = co_await ws->send(type, Bytes(sent));
      if (!s.ok()) {
        r->failures.push_back(absl::StrCat("send ", n, ": ", s.ToString()));
        co_return;
      }
      absl::StatusOr<WsMessage> m = co_await ws->receive(Deadline());
      if (!m.ok()) {
        r->failures.push_back(absl::StrCat("receive ", n, ": ", m.status().ToString()));
        co_return;
      }
      if (m->type != type || m->data.view() != sent) {
        r->failures.push_back(absl::StrCat("echo of ", n, " bytes differs"));
      }
    }
  }
  // A fragmented message (three frames) comes back as one.
  std::string parts[3] = {Pattern(10), Pattern(70000), Pattern(5)};
  for (int i = 0; i < 3; ++i) {
    absl::Status s = co_await ws->send_fragment(ws::MessageType::kText, Bytes(parts[i]), i == 2);
    if (!s.ok()) r->failures.push_back(absl::StrCat("fragment: ", s.ToString()));
  }
  absl::StatusOr<WsMessage> whole = co_await ws->receive(Deadline());
  if (!whole.ok() || whole->type != ws::MessageType::kText ||
      whole->data.view() != parts[0] + parts[1] + parts[2]) {
    r->failures.push_back("fragmented message not echoed whole");
  }
  // A ping is answered (the pong is consumed by receive), the echo follows.
  absl::Status p = co_await ws->ping(Bytes("are you there"));
  if (!p.ok()) r->failures.push_back(absl::StrCat("ping: ", p.ToString()));
  r->close = co_await ws->close(4001, "client bye", Deadline());
}

TEST_P(CoroWsTest, EchoAtFramingBoundariesThenCloseWithCode) {
  for (bool deflate : {false, true}) {
    ServerEnd end;
    WsServerOptions so;
    so.max_message_size = 4u << 20;
    so.handshake.deflate = ws::DeflateParams{};
    EchoResult r;
    // Server and client as two tasks of one loop.
    struct Both {
      static Task<absl::Status> Run(const Listener* l, const tls::Context* t, WsServerOptions so,
                                    ServerEnd* end, std::string url, WsOptions o, bool deflate,
                                    EchoResult* r) {
        Scope scope;
        scope.spawn(ServeOne(l, t, std::move(so), end));
        co_await EchoSizes(std::move(url), std::move(o), deflate, r);
        co_await scope.join();
        co_return absl::OkStatus();
      }
    };
    const absl::Status done = testing::RunBounded(
        *loop_,
        Both::Run(listener_.get(), server_tls(), so, &end, Url(), ClientOptions(), deflate, &r));
    ASSERT_TRUE(done.ok()) << done;
    EXPECT_TRUE(r.failures.empty()) << r.failures.front();
    EXPECT_TRUE(r.close.ok()) << r.close;
    EXPECT_EQ(end.messages, 13);
    EXPECT_EQ(PeerCloseCode(end.status), 4001) << end.status << " deflate " << deflate;
  }
}

// A burst of messages of mixed sizes sent by one task while another receives:
// several messages per read (the rest of a read kept for the next receive),
// echoes of views into the read's buffer, and large echoes written from the
// server's message buffer while the client is slow to read.
Task<> SendBurst(WsSocket* ws, int n, std::vector<std::string>* failures) {
  for (int i = 0; i < n; ++i) {
    const std::string sent = Pattern(i % 3 == 2 ? 70000 + i : 10 + i);
    absl::Status s = co_await ws->send_binary(Bytes(sent));
    if (!s.ok()) failures->push_back(absl::StrCat("send ", i, ": ", s.ToString()));
  }
}

constexpr int kBurstMessages = 60;

Task<> BurstClient(std::string url, WsOptions o, std::vector<std::string>* failures) {
  absl::StatusOr<WsSocket> ws = co_await ws_connect(std::move(url), std::move(o));
  if (!ws.ok()) {
    failures->push_back(absl::StrCat("connect: ", ws.status().ToString()));
    co_return;
  }
  Scope sender;
  sender.spawn(SendBurst(&*ws, kBurstMessages, failures));
  for (int i = 0; i < kBurstMessages; ++i) {
    absl::StatusOr<WsMessage> m = co_await ws->receive(Deadline());
    if (!m.ok()) {
      failures->push_back(absl::StrCat("receive ", i, ": ", m.status().ToString()));
      break;
    }
    if (m->data.view() != Pattern(i % 3 == 2 ? 70000 + i : 10 + i)) {
      failures->push_back(absl::StrCat("echo ", i, " differs"));
    }
    if (i % 7 == 0) {  // slow to read now and then: the server's writes wait
      absl::Status slept = co_await sleep(absl::Milliseconds(2));
      slept.IgnoreError();
    }
  }
  co_await sender.join();
  absl::Status c = co_await ws->close(ws::kCloseNormal, "", Deadline());
  if (!c.ok()) failures->push_back(absl::StrCat("close: ", c.ToString()));
}

// Two connections, so that the swap buffer is reused while an echo waits.
Task<absl::Status> Burst(const Listener* l, const tls::Context* t, std::string url, WsOptions o,
                         ServerEnd* ends, std::vector<std::string>* failures) {
  Scope scope;
  for (int i = 0; i < 2; ++i) {
    ends[i].straight = true;
    scope.spawn(ServeOne(l, t, WsServerOptions{}, &ends[i]));
  }
  for (int i = 0; i < 2; ++i) scope.spawn(BurstClient(url, o, failures));
  co_await scope.join();
  co_return absl::OkStatus();
}

TEST_P(CoroWsTest, BurstOfMixedSizesEchoedStraightFromReceive) {
  ServerEnd ends[2];
  std::vector<std::string> failures;
  const absl::Status done = testing::RunBounded(
      *loop_, Burst(listener_.get(), server_tls(), Url(), ClientOptions(), ends, &failures));
  ASSERT_TRUE(done.ok()) << done;
  EXPECT_TRUE(failures.empty()) << failures.front();
  for (const ServerEnd& end : ends) {
    EXPECT_EQ(end.messages, kBurstMessages);
    EXPECT_EQ(PeerCloseCode(end.status), ws::kCloseNormal) << end.status;
  }
}

// A peer we drive by hand: the upgrade, then `frames` as they are, then
// every event until the close frame or the end of the stream.
struct RawResult {
  std::vector<ws::Event::Type> types;
  std::string pong;
  uint16_t close_code = 0;
  absl::Status status;
};

Task<> RawPeer(std::string address, std::string frames, RawResult* r) {
  absl::StatusOr<Socket> s = co_await dial(address, Deadline());
  if (!s.ok()) {
    r->status = s.status();
    co_return;
  }
  ws::ClientOptions co;
  co.host = address;
  ws::ClientHandshake hs(co);
  ws::SessionOptions so;
  so.role = ws::Role::kClient;
  ws::Session session(so);
  absl::Status w = co_await s->write(hs.request(), Deadline());
  bool upgraded = false;
  while (w.ok() && r->close_code == 0) {
    absl::StatusOr<SwapBytes> in = co_await s->read(Deadline());
    if (!in.ok()) {
      r->status = in.status();
      co_return;
    }
    std::string bytes = in->ToString();
    size_t consumed = 0;
    if (!upgraded) {
      absl::StatusOr<bool> done = hs.feed(Bytes(bytes), &consumed);
      if (!done.ok()) {
        r->status = done.status();
        co_return;
      }
      if (!*done) continue;
      upgraded = true;
      w = co_await s->write(frames, Deadline());
    }
    session.feed(absl::MakeSpan(reinterpret_cast<uint8_t*>(bytes.data()) + consumed,
                                bytes.size() - consumed));
    for (;;) {
      absl::StatusOr<ws::Event> e = session.next();
      if (!e.ok()) {
        r->status = e.status();
        co_return;
      }
      if (e->type == ws::Event::Type::kNone) break;
      r->types.push_back(e->type);
      if (e->type == ws::Event::Type::kPong) r->pong = std::string(e->text());
      if (e->type == ws::Event::Type::kClose) r->close_code = e->close_code;
    }
  }
  if (!w.ok()) r->status = w;
}

Task<absl::Status> ServeRaw(const Listener* l, WsServerOptions so, ServerEnd* end,
                            std::string frames, RawResult* r) {
  Scope scope;
  scope.spawn(ServeOne(l, nullptr, std::move(so), end));
  co_await RawPeer(l->address(), std::move(frames), r);
  co_await scope.join();
  co_return absl::OkStatus();
}

using ws::testing::Frame;

TEST(CoroWsRawPeer, PingAnsweredAndProtocolErrorsCloseWithTheirCodes) {
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  struct Case {
    std::string frames;
    uint16_t code;
  };
  const Case cases[] = {
      {Frame(0x9, "hi") + Frame(0x8, std::string("\x03\xe8", 2)), ws::kCloseNormal},
      {Frame(0x3, ""), ws::kCloseProtocolError},      // reserved opcode
      {Frame(0x1, "ok\xff"), ws::kCloseInvalidData},  // invalid UTF-8
      {Frame(0x2, std::string(2000, 'b')), ws::kCloseTooBig},
      {Frame(0x1, "x", true, /*masked=*/false), ws::kCloseProtocolError},
  };
  for (const Case& c : cases) {
    WsServerOptions so;
    so.max_message_size = 1000;
    ServerEnd end;
    RawResult r;
    const absl::Status done = testing::RunBounded(*loop, ServeRaw(&*l, so, &end, c.frames, &r));
    ASSERT_TRUE(done.ok()) << done;
    EXPECT_EQ(r.close_code, c.code) << r.status;
    ASSERT_FALSE(r.types.empty());
    EXPECT_EQ(r.types.back(), ws::Event::Type::kClose);
    if (c.code == ws::kCloseNormal) {
      ASSERT_EQ(r.types.size(), 2u);
      EXPECT_EQ(r.types[0], ws::Event::Type::kPong);
      EXPECT_EQ(r.pong, "hi");
      EXPECT_EQ(PeerCloseCode(end.status), ws::kCloseNormal) << end.status;
    } else {
      EXPECT_EQ(ws::CloseCodeOf(end.status), c.code) << end.status;
    }
    EXPECT_EQ(end.messages, 0);
  }
}

// The server closes with 4002 after echoing one message; the client's next
// receive reports it; then deadlines and cancellation leave the socket usable.
Task<absl::Status> ServerCloses(const Listener* l, const tls::Context* t, std::string url,
                                WsOptions o, ServerEnd* end, std::vector<std::string>* failures) {
  Scope scope;
  end->close_first = true;
  end->close_code = 4002;
  scope.spawn(ServeOne(l, t, WsServerOptions{}, end));
  absl::StatusOr<WsSocket> ws = co_await ws_connect(url, o);
  if (!ws.ok()) co_return ws.status();
  absl::StatusOr<WsMessage> idle = co_await ws->receive(absl::Now() + absl::Milliseconds(100));
  if (!absl::IsDeadlineExceeded(idle.status())) failures->push_back("idle deadline");
  absl::StatusOr<WsMessage> cancelled =
      co_await with_timeout(ws->receive(), absl::Milliseconds(50));
  if (!absl::IsDeadlineExceeded(cancelled.status())) failures->push_back("cancelled receive");
  absl::Status s = co_await ws->send_text("after");
  if (!s.ok()) co_return s;
  absl::StatusOr<WsMessage> echo = co_await ws->receive(Deadline());
  if (!echo.ok() || echo->data.view() != "after") failures->push_back("echo after deadline");
  absl::StatusOr<WsMessage> closed = co_await ws->receive(Deadline());
  if (PeerCloseCode(closed.status()) != 4002) {
    failures->push_back(absl::StrCat("server close: ", closed.status().ToString()));
  }
  absl::StatusOr<WsMessage> again = co_await ws->receive(Deadline());
  if (PeerCloseCode(again.status()) != 4002) failures->push_back("close not sticky");
  co_await scope.join();
  co_return absl::OkStatus();
}

TEST_P(CoroWsTest, ServerCloseDeadlineAndCancel) {
  ServerEnd end;
  std::vector<std::string> failures;
  const absl::Status done = testing::RunBounded(
      *loop_, ServerCloses(listener_.get(), server_tls(), Url(), ClientOptions(), &end, &failures));
  ASSERT_TRUE(done.ok()) << done;
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_TRUE(end.close_status.ok()) << end.close_status;
  EXPECT_EQ(end.messages, 1);
}

// Idle connections with a receive pending hold no receive or send buffer;
// prints the heap bytes per connection end (both ends are ours).
struct Idle {
  int connected = 0;
  std::vector<WsSocket*> sockets;  // while their receive is pending
};

Task<> IdleClient(std::string url, Idle* idle) {
  WsOptions o;
  o.deadline = Deadline();
  absl::StatusOr<WsSocket> ws = co_await ws_connect(url, o);
  if (!ws.ok()) co_return;
  ++idle->connected;
  idle->sockets.push_back(&*ws);
  absl::StatusOr<WsMessage> m = co_await ws->receive(Deadline());
  (void)m;  // the close started by IdleMany
}

Task<absl::Status> IdleMany(const Listener* l, std::string url, int n, long* per_end) {
  Scope scope;
  std::vector<ServerEnd> ends(n);
  Idle idle;
  const long before = static_cast<long>(mallinfo2().uordblks);
  for (int i = 0; i < n; ++i) scope.spawn(ServeOne(l, nullptr, WsServerOptions{}, &ends[i]));
  for (int i = 0; i < n; ++i) scope.spawn(IdleClient(url, &idle));
  const absl::Time give_up = Deadline();
  while (idle.connected < n && absl::Now() < give_up) {
    absl::Status slept = co_await sleep(absl::Milliseconds(5));
    slept.IgnoreError();
  }
  absl::Status result = co_await sleep(absl::Milliseconds(50));  // all in receive()
  *per_end = (static_cast<long>(mallinfo2().uordblks) - before) / (2 * n);
  for (WsSocket* ws : idle.sockets) {
    if (ws->buffered_memory() != 0) {
      result = absl::InternalError(
          absl::StrCat("an idle socket holds ", ws->buffered_memory(), " buffer bytes"));
    }
  }
  // Closing from this task while each client's receive is pending: the
  // receive sees the server's answer.
  for (WsSocket* ws : idle.sockets) {
    absl::Status c = co_await ws->close(ws::kCloseGoingAway, "", Deadline());
    if (!c.ok()) result = c;
  }
  co_await scope.join();
  for (const ServerEnd& end : ends) {
    if (PeerCloseCode(end.status) != ws::kCloseGoingAway) result = end.status;
  }
  if (idle.connected != n) result = absl::InternalError("not all connected");
  co_return result;
}

// next_message()'s awaiter lives in the frame of every idle connection.
static_assert(sizeof(WsSocket::ReceiveOp) <= 64, "keep the receive awaiter small");
// So is the WsSocket's state (glibc hands it a 160-byte chunk).
static_assert(sizeof(WsSocket::Impl) <= 152, "keep an idle WsSocket small");

TEST(CoroWsIdle, IdleConnectionHoldsNoBuffers) {
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  long per_end = 0;
  const absl::Status done = testing::RunBounded(
      *loop, IdleMany(&*l, absl::StrCat("ws://", l->address(), "/"), 50, &per_end));
  ASSERT_TRUE(done.ok()) << done;
  std::printf("heap bytes per idle ws connection end (receive pending): %ld\n", per_end);
  std::printf("sizeof(WsSocket::Impl) = %zu bytes, of which ws::Session %zu\n",
              sizeof(WsSocket::Impl), sizeof(ws::Session));
  EXPECT_LT(per_end, 4096);
}

INSTANTIATE_TEST_SUITE_P(WsAndWss, CoroWsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("wss") : std::string("ws");
                         });

}  // namespace
}  // namespace gaio::coro
