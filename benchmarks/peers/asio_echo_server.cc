// The boost.asio peer: the classic async echo session (async_read_some into
// a buffer the session owns, async_write it back, read again) on one
// io_context run by one thread, TCP_NODELAY. 64 KiB per-session buffer, the
// size gaio-cpp's swap buffer has, so that large messages take one read.
//
//   asio_echo_server --port=9000
#include <array>
#include <memory>
#include <utility>

#include "benchmarks/peers/listen.h"
#include "boost/asio.hpp"

namespace {

using boost::asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}
  void Start() { Read(); }

 private:
  void Read() {
    auto self = shared_from_this();
    socket_.async_read_some(boost::asio::buffer(data_),
                            [this, self](boost::system::error_code ec, std::size_t n) {
                              if (!ec) Write(n);
                            });
  }
  void Write(std::size_t n) {
    auto self = shared_from_this();
    boost::asio::async_write(socket_, boost::asio::buffer(data_, n),
                             [this, self](boost::system::error_code ec, std::size_t) {
                               if (!ec) Read();
                             });
  }
  tcp::socket socket_;
  std::array<char, 64 * 1024> data_;
};

void Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](boost::system::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket))->Start();
    }
    Accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  int lfd = gaio_bench::ListenLoopback(gaio_bench::PortFlag(argc, argv, 9000), true);
  boost::asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::v4(), lfd);
  Accept(acceptor);
  io.run();
}
