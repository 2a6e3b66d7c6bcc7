// A coroutine program built against an installed gaio, in the other build
// mode than the library's (run.sh: a Debug program against a Release
// install): lines() and `co_await with_timeout(g.next(), d)` with another task
// awaiting meanwhile. Correct code: it must print "lines: one two three" and
// exit 0 whatever mix of NDEBUG the library and the program were built with
// (the swap-bytes check is the library's, docs/CORO.md; issue 19).
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "coro/coro.h"

using gaio::coro::AsyncGenerator;
using gaio::coro::Socket;
using gaio::coro::SwapBytes;
using gaio::coro::Task;

Task<> Busy(const bool* stop) {
  while (!*stop) co_await gaio::coro::yield();
}

Task<std::string> ReadLines(int fd) {
  Socket s(*gaio::coro::EventLoop::current(), fd);
  AsyncGenerator<SwapBytes> g = gaio::coro::lines(s);
  bool stop = false;
  gaio::coro::spawn(Busy(&stop)).detach();
  std::string out;
  for (;;) {
    absl::StatusOr<std::optional<SwapBytes>> line =
        co_await gaio::coro::with_timeout(g.next(), absl::Seconds(30));
    if (!line.ok() || !line->has_value()) break;
    out += " " + (*line)->ToString();  // valid until this task's next co_await
  }
  stop = true;
  co_return out;
}

int main() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 1;
  if (::write(fds[1], "one\ntwo\nthree\n", 14) != 14) return 1;
  ::close(fds[1]);  // EOF after the three lines
  absl::StatusOr<std::unique_ptr<gaio::coro::EventLoop>> loop = gaio::coro::EventLoop::Create();
  if (!loop.ok()) return 1;
  absl::StatusOr<std::string> out = (*loop)->run(ReadLines(fds[0]));
  if (!out.ok()) return 1;
  std::printf("lines:%s\n", out->c_str());
  return 0;
}
