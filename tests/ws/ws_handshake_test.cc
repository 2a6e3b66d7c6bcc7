// The opening handshake: the RFC's sample key, client request, server
// validation (400/405/426/431), subprotocols, permessage-deflate negotiation,
// redirects and other statuses, and bytes after the head handed on.
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/ws/ws_test_util.h"
#include "ws/handshake.h"
#include "ws/internal/sha1.h"
#include "ws/status.h"

namespace gaio::ws {
namespace {

absl::Span<const uint8_t> Bytes(absl::string_view s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Hex(const std::array<uint8_t, 20>& d) {
  std::string out;
  for (uint8_t b : d) {
    const char* digits = "0123456789abcdef";
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

TEST(Sha1, FipsVectors) {
  EXPECT_EQ(Hex(internal::Sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Hex(internal::Sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Hex(internal::Sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(Hex(internal::Sha1(std::string(1000000, 'a'))),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Handshake, RfcSampleKey) {
  EXPECT_EQ(AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

std::string Request(absl::string_view extra = "", absl::string_view version = "13") {
  return absl::StrCat("GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n",
                      "Connection: keep-alive, Upgrade\r\n",
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                      "Sec-WebSocket-Version: ", version, "\r\n", extra, "\r\n");
}

TEST(ServerHandshake, AcceptsAndHandsOnTrailingBytes) {
  ServerOptions options;
  options.subprotocols = {"superchat", "chat"};
  options.headers = {{"X-Server", "gaio"}};
  ServerHandshake server(options);
  const std::string req =
      Request("Sec-WebSocket-Protocol: chat, superchat\r\nOrigin: http://o\r\n");
  const std::string bytes = req + "\x81\x80";  // a frame begins right after
  size_t consumed = 0;
  absl::StatusOr<bool> done = server.feed(Bytes(bytes), &consumed);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_EQ(consumed, req.size());
  EXPECT_EQ(server.path(), "/chat");
  EXPECT_EQ(server.header("origin"), "http://o");
  const std::string response = server.accept();
  EXPECT_EQ(server.subprotocol(), "superchat");  // the server's preference
  EXPECT_EQ(response,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: superchat\r\nX-Server: gaio\r\n\r\n");
  EXPECT_EQ(server.session_options().role, Role::kServer);
}

TEST(ServerHandshake, ByteAtATime) {
  ServerHandshake server(ServerOptions{});
  const std::string req = Request();
  for (size_t i = 0; i < req.size(); ++i) {
    size_t consumed = 0;
    absl::StatusOr<bool> done = server.feed(Bytes(req.substr(i, 1)), &consumed);
    ASSERT_TRUE(done.ok());
    EXPECT_EQ(consumed, 1u);
    EXPECT_EQ(*done, i + 1 == req.size());
  }
}

int Rejected(absl::string_view request, ServerOptions options = {}) {
  ServerHandshake server(std::move(options));
  size_t consumed = 0;
  absl::StatusOr<bool> done = server.feed(Bytes(request), &consumed);
  if (done.ok()) return *done ? 101 : 0;
  EXPECT_TRUE(
      absl::StartsWith(server.rejection(), absl::StrCat("HTTP/1.1 ", HttpStatusOf(done.status()))));
  return HttpStatusOf(done.status());
}

TEST(ServerHandshake, Rejections) {
  EXPECT_EQ(Rejected(Request("", "8")), 426);
  EXPECT_EQ(Rejected("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"), 400);
  EXPECT_EQ(Rejected("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n"),
            400);  // no Host
  EXPECT_EQ(Rejected("POST / HTTP/1.1\r\nHost: h\r\n\r\n"), 405);
  EXPECT_EQ(Rejected("GET / HTTP/1.0\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(Rejected("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"), 400);
  std::string key_bad = Request();
  key_bad.replace(key_bad.find("dGhl"), 4, "AAAA=");
  EXPECT_EQ(Rejected(key_bad), 400);
  ServerOptions small;
  small.max_request_size = 64;
  EXPECT_EQ(Rejected(Request(), small), 431);
  EXPECT_EQ(Rejected(Request()), 101);
  EXPECT_NE(RejectResponse(426).find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_EQ(RejectResponse(403, "no"),
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno");
}

TEST(Handshake, ClientAndServerAgreeOnDeflateAndSubprotocol) {
  ClientOptions copt;
  copt.host = "example.com:8080";
  copt.path = "/ws?x=1";
  copt.origin = "https://example.com";
  copt.subprotocols = {"v2", "v1"};
  copt.deflate = DeflateParams{};
  copt.headers = {{"Authorization", "Bearer t"}};
  ClientHandshake client(copt);
  EXPECT_EQ(client.key().size(), 24u);
  EXPECT_TRUE(absl::StartsWith(client.request(), "GET /ws?x=1 HTTP/1.1\r\nHost: example.com:8080"));
  EXPECT_NE(client.request().find("Authorization: Bearer t\r\n"), std::string::npos);
  ServerOptions sopt;
  sopt.select_subprotocol = [](const std::vector<std::string>& offered) { return offered[1]; };
  sopt.deflate = DeflateParams{};
  sopt.deflate->server_no_context_takeover = true;
  ServerHandshake server(sopt);
  size_t consumed = 0;
  ASSERT_TRUE(*server.feed(Bytes(client.request()), &consumed));
  const std::string response = server.accept() + "\x81\x02hi";
  absl::StatusOr<bool> done = client.feed(Bytes(response), &consumed);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_EQ(consumed, response.size() - 4);
  EXPECT_EQ(client.subprotocol(), "v1");
  ASSERT_TRUE(client.deflate().has_value());
  EXPECT_TRUE(client.deflate()->server_no_context_takeover);
  // The trailing bytes are the first frame.
  Session session(client.session_options());
  testing::Outcome o = testing::FeedAll(session, absl::string_view(response).substr(consumed));
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0].data, "hi");
}

absl::Status ClientSees(absl::string_view response, ClientHandshake* client) {
  size_t consumed = 0;
  return client->feed(Bytes(response), &consumed).status();
}

TEST(ClientHandshake, RedirectOtherStatusesAndBadAnswers) {
  ClientOptions copt;
  copt.host = "h";
  ClientHandshake a(copt, "dGhlIHNhbXBsZSBub25jZQ==");
  absl::Status s = ClientSees("HTTP/1.1 301 Moved\r\nLocation: wss://other/x\r\n\r\n", &a);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(HttpStatusOf(s), 301);
  EXPECT_EQ(a.location(), "wss://other/x");
  EXPECT_NE(s.message().find("wss://other/x"), absl::string_view::npos);
  ClientHandshake b(copt, "dGhlIHNhbXBsZSBub25jZQ==");
  s = ClientSees("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", &b);
  EXPECT_EQ(HttpStatusOf(s), 403);
  const std::string good =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: UPGRADE\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  ClientHandshake c(copt, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_TRUE(ClientSees(good + "\r\n", &c).ok());
  ClientHandshake d(copt, "dGhlIHNhbXBsZSBub25jZQ==");
  s = ClientSees(
      "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
      "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
      &d);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  ClientHandshake e(copt, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_FALSE(ClientSees(good + "Sec-WebSocket-Protocol: chat\r\n\r\n", &e).ok());
  ClientHandshake f(copt, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_FALSE(ClientSees(good + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", &f).ok());
  ClientHandshake g(copt, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_FALSE(ClientSees("HTTP/1.1 101 OK\r\nConnection: upgrade\r\n\r\n", &g).ok());
}

}  // namespace
}  // namespace gaio::ws
