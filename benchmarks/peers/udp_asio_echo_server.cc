// The boost.asio UDP peer: the canonical asio UDP echo server (one
// async_receive_from into a buffer the server owns, async_send_to back to
// the sender, receive again) on one io_context run by one thread.
//
//   udp_asio_echo_server --port=9000 [--rcvbuf_kib=N]
#include <array>
#include <utility>  // before asio: Boost 1.74 uses std::exchange without it

#include "benchmarks/peers/udp_bind.h"
#include "boost/asio.hpp"

namespace {

using boost::asio::ip::udp;

class Server {
 public:
  explicit Server(udp::socket& socket) : socket_(socket) {}
  void Receive() {
    socket_.async_receive_from(boost::asio::buffer(data_), sender_,
                               [this](boost::system::error_code ec, std::size_t n) {
                                 if (ec) {
                                   Receive();
                                 } else {
                                   Send(n);
                                 }
                               });
  }

 private:
  void Send(std::size_t n) {
    socket_.async_send_to(boost::asio::buffer(data_, n), sender_,
                          [this](boost::system::error_code, std::size_t) { Receive(); });
  }
  udp::socket& socket_;
  udp::endpoint sender_;
  std::array<char, 64 * 1024> data_;
};

}  // namespace

int main(int argc, char** argv) {
  const int fd = gaio_bench::BindUdpLoopback(gaio_bench::PortFlag(argc, argv, 9000),
                                             gaio_bench::IntFlag(argc, argv, "--rcvbuf_kib=", 0),
                                             /*nonblocking=*/false);
  boost::asio::io_context io(1);
  udp::socket socket(io, udp::v4(), fd);
  Server server(socket);
  server.Receive();
  io.run();
}
