// The Asio TLS peer: standalone Asio (Debian libasio-dev, 1.22) with
// asio::ssl over OpenSSL 3, the classic callback echo session
// (async_handshake, async_read_some into a 64 KiB buffer the session owns,
// async_write it back) on one io_context run by one thread, TCP_NODELAY.
// OpenSSL's defaults (TLS 1.2 and 1.3), as examples/coro_tls_echo_server;
// the load client picks the version and cipher suite.
//
//   asio_ssl_echo_server --port=9000 --cert=CERT.pem --key=KEY.pem
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "asio.hpp"
#include "asio/ssl.hpp"
#include "benchmarks/peers/listen.h"

namespace {

using asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, asio::ssl::context& context) : stream_(std::move(socket), context) {}
  void Start() {
    auto self = shared_from_this();
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [this, self](const asio::error_code& ec) {
                              if (!ec) Read();
                            });
  }

 private:
  void Read() {
    auto self = shared_from_this();
    stream_.async_read_some(asio::buffer(data_),
                            [this, self](const asio::error_code& ec, std::size_t n) {
                              if (!ec) Write(n);
                            });
  }
  void Write(std::size_t n) {
    auto self = shared_from_this();
    asio::async_write(stream_, asio::buffer(data_, n),
                      [this, self](const asio::error_code& ec, std::size_t) {
                        if (!ec) Read();
                      });
  }
  asio::ssl::stream<tcp::socket> stream_;
  std::array<char, 64 * 1024> data_;
};

void Accept(tcp::acceptor& acceptor, asio::ssl::context& context) {
  acceptor.async_accept([&acceptor, &context](const asio::error_code& ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket), context)->Start();
    }
    Accept(acceptor, context);
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

int main(int argc, char** argv) {
  asio::ssl::context context(asio::ssl::context::tls_server);
  asio::error_code ec;
  context.use_certificate_chain_file(StringFlag(argc, argv, "--cert="), ec);
  if (!ec)
    context.use_private_key_file(StringFlag(argc, argv, "--key="), asio::ssl::context::pem, ec);
  if (ec) {
    std::fprintf(stderr, "asio_ssl_echo_server: --cert/--key: %s\n", ec.message().c_str());
    return 1;
  }
  const int lfd = gaio_bench::ListenLoopback(gaio_bench::PortFlag(argc, argv, 9000), true);
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::v4(), lfd);
  Accept(acceptor, context);
  io.run();
}
