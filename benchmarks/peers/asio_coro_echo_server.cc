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

// Asio 1.22 enables co_await under clang only with libc++'s
// <experimental/coroutine>; clang with libstdc++'s <coroutine> (the tsan and
// fuzz configurations) works the same way as gcc does, so say so.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && __has_include(<coroutine>) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#endif

// gcc 12 at -O1 and above reports asio's coroutine frame operator delete as
// mismatched with its operator new (-Wmismatched-new-delete, a false positive
// on awaitable_frame_base's sized delete); the warning is raised at this
// file's instantiations, so it is silenced for the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

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
