// WsSocket (//coro:ws) against WebSocket implementations we did not write,
// run as child processes from tests/ws/peers/: Python websockets
// (ws_python_peer_test) or Node's ws (ws_node_peer_test, built with
// GAIO_WS_PEER_NODE). Both roles, ws and wss (certificates made with the
// openssl CLI), compression on and off: text and binary at the framing
// boundaries, a fragmented message, ping/pong, close 4001 both ways.
// A missing package fails the test with its name.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "coro/ws_socket.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/tls/peer_util.h"
#include "tests/tls/test_pki.h"
#include "tls/context.h"

namespace gaio::coro {
namespace {

using tls::testing::Child;
using tls::testing::TestPkiSuite;

#ifdef GAIO_WS_PEER_NODE
const std::vector<std::string> kInterpreter = {"/usr/bin/env", "NODE_PATH=/usr/share/nodejs",
                                               "node"};
constexpr char kExt[] = ".js";
constexpr char kCheck[] = "require('ws')";
#else
const std::vector<std::string> kInterpreter = {tls::testing::kPython};
constexpr char kExt[] = ".py";
constexpr char kCheck[] = "import websockets";
#endif

absl::Time Deadline() { return absl::Now() + absl::Seconds(15); }

absl::Span<const uint8_t> Bytes(absl::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<std::string> Script(const std::string& name, std::vector<std::string> args) {
  std::vector<std::string> argv = kInterpreter;
  argv.push_back(absl::StrCat("tests/ws/peers/", name, kExt));
  for (std::string& a : args) argv.push_back(std::move(a));
  return argv;
}

class WsPeerTest : public TestPkiSuite<::testing::TestWithParam<bool>> {  // wss?
 protected:
  void SetUp() override {
    std::vector<std::string> check = kInterpreter;
#ifdef GAIO_WS_PEER_NODE
    check.insert(check.end(), {"-e", kCheck});
#else
    check.insert(check.end(), {"-c", kCheck});
#endif
    absl::StatusOr<Child> c = Child::Start(check);
    ASSERT_TRUE(c.ok()) << c.status();
    absl::StatusOr<int> rc = c->Wait(absl::Seconds(20));
    ASSERT_TRUE(rc.ok() && *rc == 0)
        << "the peer's package is missing (bazelw installs python3-websockets, nodejs, "
           "node-ws): "
        << c->output();
    tls::ContextOptions s;
    s.certificate = pki_->server.pem;
    absl::StatusOr<tls::Context> server = tls::Context::Server(s);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<tls::Context>(*std::move(server));
    tls::ContextOptions cl;
    cl.ca_file = pki_->ca_file;
    absl::StatusOr<tls::Context> client = tls::Context::Client(cl);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::make_unique<tls::Context>(*std::move(client));
  }
  std::unique_ptr<tls::Context> server_, client_;
};

// Our client: the echoes, a fragmented message, a ping, close 4001.
Task<absl::Status> OurClient(std::string url, WsOptions options) {
  absl::StatusOr<WsSocket> ws = co_await ws_connect(url, options);
  if (!ws.ok()) co_return ws.status();
  if (ws->compressed() != options.deflate) co_return absl::InternalError("deflate not agreed");
  for (size_t n :
       {size_t{0}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}, size_t{1} << 20}) {
    for (ws::MessageType type : {ws::MessageType::kText, ws::MessageType::kBinary}) {
      std::string sent(n, '\0');
      for (size_t i = 0; i < n; ++i) sent[i] = static_cast<char>('a' + (i * 7 + n) % 26);
      absl::Status s = co_await ws->send(type, Bytes(sent));
      if (!s.ok()) co_return s;
      absl::StatusOr<WsMessage> m = co_await ws->receive(Deadline());
      if (!m.ok()) co_return m.status();
      if (m->type != type || m->data.view() != sent) {
        co_return absl::DataLossError(absl::StrCat("echo of ", n, " bytes differs"));
      }
    }
  }
  const std::string parts[] = {"frag", std::string(70000, 'm'), "ented"};
  for (int i = 0; i < 3; ++i) {
    absl::Status s = co_await ws->send_fragment(ws::MessageType::kBinary, Bytes(parts[i]), i == 2);
    if (!s.ok()) co_return s;
  }
  absl::StatusOr<WsMessage> whole = co_await ws->receive(Deadline());
  if (!whole.ok()) co_return whole.status();
  if (whole->data.view() != parts[0] + parts[1] + parts[2]) {
    co_return absl::DataLossError("fragmented message");
  }
  absl::Status p = co_await ws->ping(Bytes("p"));
  if (!p.ok()) co_return p;
  absl::Status s = co_await ws->send_text("after ping");
  if (!s.ok()) co_return s;
  absl::StatusOr<WsMessage> after = co_await ws->receive(Deadline());
  if (!after.ok()) co_return after.status();
  co_return co_await ws->close(4001, "bye", Deadline());  // OK: the peer answered
}

TEST_P(WsPeerTest, TheirServerOurClient) {
  std::vector<std::string> args;
  if (GetParam()) args = {pki_->server.cert_file, pki_->server.key_file};
  absl::StatusOr<Child> peer = Child::Start(Script("echo_server", args));
  ASSERT_TRUE(peer.ok()) << peer.status();
  ASSERT_TRUE(peer->WaitForOutput("listening on 127.0.0.1:", absl::Seconds(20)).ok())
      << peer->output();
  ASSERT_TRUE(peer->WaitForOutput("\n", absl::Seconds(5)).ok());
  const std::string& out = peer->output();
  const size_t at = out.find("127.0.0.1:");
  const std::string port = out.substr(at + 10, out.find('\n', at) - at - 10);
  for (bool deflate : {false, true}) {
    WsOptions o;
    o.deflate = deflate;
    o.tls = client_.get();
    o.deadline = Deadline();
    std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
    const std::string url = absl::StrCat(GetParam() ? "wss" : "ws", "://localhost:", port, "/p");
    const absl::Status done = testing::RunBounded(*loop, OurClient(url, o));
    EXPECT_TRUE(done.ok()) << done << " deflate=" << deflate << "\n" << peer->output();
  }
}

struct Served {
  std::vector<absl::Status> ends;
};

Task<> EchoOne(WsSocket ws, absl::Status* end) {
  for (;;) {
    absl::StatusOr<WsMessage> m = co_await ws.receive(Deadline());
    if (!m.ok()) {
      *end = m.status();
      co_return;
    }
    const std::string copy = m->data.ToString();
    absl::Status s = co_await ws.send(m->type, Bytes(copy));
    if (!s.ok()) {
      *end = s;
      co_return;
    }
  }
}

// Accepts `n` connections (ws or wss) and echoes each until it ends.
Task<> OurServer(const Listener* l, const tls::Context* tls, int n, Served* served) {
  Scope scope;
  served->ends.resize(n);
  WsServerOptions so;
  so.handshake.deflate = ws::DeflateParams{};
  so.max_message_size = 64 << 20;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<Socket> s = co_await l->accept();
    if (!s.ok()) break;
    absl::StatusOr<WsSocket> ws;
    if (tls != nullptr) {
      absl::StatusOr<TlsSocket> t = TlsSocket::Server(*std::move(s), *tls);
      if (!t.ok()) break;
      ws = co_await ws_accept(*std::move(t), so, Deadline());
    } else {
      ws = co_await ws_accept(*std::move(s), so, Deadline());
    }
    if (!ws.ok()) {
      served->ends[i] = ws.status();
      continue;
    }
    scope.spawn(EchoOne(*std::move(ws), &served->ends[i]));
  }
  co_await scope.join();
}

TEST_P(WsPeerTest, TheirClientOurServer) {
  std::unique_ptr<EventLoop> loop = testing::NewLoop(1);
  absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  Served served;
  absl::Status ran;
  std::thread server([&] {
    ran = testing::RunBounded(
        *loop, OurServer(&*l, GetParam() ? server_.get() : nullptr, 2, &served), absl::Seconds(60));
  });
  const std::string url = absl::StrCat(GetParam() ? "wss://localhost:" : "ws://localhost:",
                                       l->address().substr(l->address().rfind(':') + 1), "/any");
  absl::StatusOr<Child> peer =
      Child::Start(Script("echo_client", {url, GetParam() ? pki_->ca_file : "-"}));
  ASSERT_TRUE(peer.ok()) << peer.status();
  absl::StatusOr<int> rc = peer->Wait(absl::Seconds(50));
  if (!rc.ok() || *rc != 0) peer->Kill();
  server.join();
  ASSERT_TRUE(rc.ok()) << rc.status() << peer->output();
  EXPECT_EQ(*rc, 0) << peer->output();
  EXPECT_NE(peer->output().find("client ok"), std::string::npos) << peer->output();
  EXPECT_TRUE(ran.ok()) << ran;
  ASSERT_EQ(served.ends.size(), 2u);
  for (const absl::Status& end : served.ends) EXPECT_EQ(PeerCloseCode(end), 4001) << end;
}

INSTANTIATE_TEST_SUITE_P(WsAndWss, WsPeerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("wss") : std::string("ws");
                         });

}  // namespace
}  // namespace gaio::coro
