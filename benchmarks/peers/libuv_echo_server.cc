// The libuv peer: the canonical libuv echo server (alloc_cb hands out a
// malloc'd buffer of the suggested 64 KiB per read, uv_write echoes it and
// frees it when written) on the default loop, TCP_NODELAY, SIGPIPE ignored.
//
//   libuv_echo_server --port=9000
#include <uv.h>

#include <csignal>
#include <cstdlib>

#include "benchmarks/peers/listen.h"

namespace {

struct WriteReq {
  uv_write_t req;
  uv_buf_t buf;
};

void OnClose(uv_handle_t* handle) { std::free(handle); }

void Alloc(uv_handle_t*, size_t suggested, uv_buf_t* buf) {
  buf->base = static_cast<char*>(std::malloc(suggested));
  buf->len = suggested;
}

void OnWrite(uv_write_t* req, int) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  std::free(w->buf.base);
  std::free(w);
}

void OnRead(uv_stream_t* client, ssize_t nread, const uv_buf_t* buf) {
  if (nread > 0) {
    auto* w = static_cast<WriteReq*>(std::malloc(sizeof(WriteReq)));
    w->buf = uv_buf_init(buf->base, static_cast<unsigned>(nread));
    uv_write(&w->req, client, &w->buf, 1, OnWrite);
    return;
  }
  if (nread < 0) uv_close(reinterpret_cast<uv_handle_t*>(client), OnClose);
  std::free(buf->base);
}

void OnConnection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* client = static_cast<uv_tcp_t*>(std::malloc(sizeof(uv_tcp_t)));
  uv_tcp_init(uv_default_loop(), client);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) == 0) {
    uv_tcp_nodelay(client, 1);
    uv_read_start(reinterpret_cast<uv_stream_t*>(client), Alloc, OnRead);
  } else {
    uv_close(reinterpret_cast<uv_handle_t*>(client), OnClose);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // libuv writes with write(2), not send(MSG_NOSIGNAL): a peer that resets
  // mid-write would kill the server (libuv's documented advice).
  std::signal(SIGPIPE, SIG_IGN);
  int lfd = gaio_bench::ListenLoopback(gaio_bench::PortFlag(argc, argv, 9000), true);
  uv_tcp_t server;
  uv_tcp_init(uv_default_loop(), &server);
  uv_tcp_open(&server, lfd);
  uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, OnConnection);
  return uv_run(uv_default_loop(), UV_RUN_DEFAULT);
}
