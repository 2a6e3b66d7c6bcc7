// The Asio coroutine peer: standalone Asio (Debian libasio-dev, 1.22) with
// C++20 coroutines (asio::awaitable, co_spawn, use_awaitable), the
// counterpart of examples/coro_echo_server. One io_context run by one thread,
// TCP_NODELAY, a coroutine per session reading with async_read_some into a
// 64 KiB buffer in its frame (as the callback peer, asio_echo_server.cc, so
// that large messages take one read) and writing back with async_write.
//
//   asio_coro_echo_server --port=9000
#include <cstddef>
#include <utility>

#include "asio.hpp"
#include "benchmarks/peers/listen.h"

namespace {

using asio::ip::tcp;

asio::awaitable<void> Session(tcp::socket socket) {
  char data[64 * 1024];
  for (;;) {
    asio::error_code ec;
    std::size_t n = co_await socket.async_read_some(asio::buffer(data),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    co_await asio::async_write(socket, asio::buffer(data, n),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

asio::awaitable<void> Listen(tcp::acceptor& acceptor) {
  for (;;) {
    asio::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) continue;
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(acceptor.get_executor(), Session(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int lfd = gaio_bench::ListenLoopback(gaio_bench::PortFlag(argc, argv, 9000), true);
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::v4(), lfd);
  asio::co_spawn(io, Listen(acceptor), asio::detached);
  io.run();
}
