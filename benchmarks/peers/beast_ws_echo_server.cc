// The Boost.Beast WebSocket peer (Debian libboost-dev, Beast 1.74, header-only
// over Boost.Asio): the classic callback echo session of Beast's examples
// (async_accept, async_read into a flat_buffer the session owns, async_write
// back as the same type: text or binary) on one io_context run by one thread,
// TCP_NODELAY. permessage-deflate off (Beast's default). With --cert/--key:
// wss, beast::ssl_stream over OpenSSL 3, TLS 1.3 only (the load client picks
// TLS_AES_128_GCM_SHA256, as with gaio's server).
//
//   beast_ws_echo_server --port=0 [--cert=CERT.pem --key=KEY.pem]
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "benchmarks/peers/listen.h"
#include "boost/asio.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/ssl.hpp"
#include "boost/beast/websocket.hpp"
#include "boost/beast/websocket/ssl.hpp"

namespace {

namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... Args>
  explicit Session(Args&&... args) : ws_(std::forward<Args>(args)...) {}

  void Start() {
    auto self = this->shared_from_this();
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      Accept();
    } else {
      ws_.next_layer().async_handshake(asio::ssl::stream_base::server,
                                       [this, self](beast::error_code ec) {
                                         if (!ec) Accept();
                                       });
    }
  }

 private:
  void Accept() {
    auto self = this->shared_from_this();
    ws_.async_accept([this, self](beast::error_code ec) {
      if (!ec) Read();
    });
  }
  void Read() {
    auto self = this->shared_from_this();
    ws_.async_read(buffer_, [this, self](beast::error_code ec, std::size_t) {
      if (ec) return;
      ws_.text(ws_.got_text());
      ws_.async_write(buffer_.data(), [this, self](beast::error_code ec, std::size_t) {
        if (ec) return;
        buffer_.consume(buffer_.size());
        Read();
      });
    });
  }
  beast::websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
};

void Accept(tcp::acceptor& acceptor, asio::ssl::context* tls) {
  acceptor.async_accept([&acceptor, tls](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      if (tls == nullptr) {
        std::make_shared<Session<tcp::socket>>(std::move(socket))->Start();
      } else {
        std::make_shared<Session<beast::ssl_stream<tcp::socket>>>(std::move(socket), *tls)->Start();
      }
    }
    Accept(acceptor, tls);
  });
}

std::string StringFlag(int argc, char** argv, const char* prefix) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0) {
      return argv[i] + std::strlen(prefix);
    }
  }
  return "";
}

}  // namespace

// Beast and Boost.Asio throw (an acceptor that cannot adopt the fd): the peer
// then dies with the exception's message, which is what a benchmark run needs.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
  const std::string cert = StringFlag(argc, argv, "--cert=");
  const std::string key = StringFlag(argc, argv, "--key=");
  std::unique_ptr<asio::ssl::context> tls;
  if (!cert.empty() || !key.empty()) {
    tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tlsv13_server);
    beast::error_code ec;
    (void)tls->use_certificate_chain_file(cert, ec);  // Boost returns ec too
    if (!ec) (void)tls->use_private_key_file(key, asio::ssl::context::pem, ec);
    if (ec) {
      std::fprintf(stderr, "beast_ws_echo_server: --cert/--key: %s\n", ec.message().c_str());
      return 1;
    }
  }
  const int lfd = gaio_bench::ListenLoopback(gaio_bench::PortFlag(argc, argv, 9000), true);
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::v4(), lfd);
  Accept(acceptor, tls.get());
  io.run();
}
