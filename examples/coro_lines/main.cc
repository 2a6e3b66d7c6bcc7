// coro_lines: a line iterator over two dialed streams, chained (asyncigo's
// DialLines + Chain README example, same output). The two streams are served
// by listeners in the same program, on the same loop.
//
//   ./bazelw run //examples:coro_lines
#include <cstdio>
#include <optional>
#include <string>

#include "coro/coro.h"

using gaio::coro::AsyncGenerator;
using gaio::coro::Listener;
using gaio::coro::Socket;
using gaio::coro::SwapBytes;
using gaio::coro::Task;

constexpr absl::string_view kStream1 =
    "Lorem ipsum dolor sit amet.\n"
    "Donec non velit consequat.\n"
    "Donec interdum in nulla ac scelerisque.\n"
    "Duis commodo, neque ac luctus eleifend.\n"
    "Fusce lacinia id quam ac porttitor.\n";
constexpr absl::string_view kStream2 =
    "生麦生米生卵\n"
    "すもももももももものうち\n"
    "東京特許許可局長今日急遽休暇許可却下\n"
    "斜め77度の並びで泣く泣く嘶くナナハン7台難なく並べて長眺め\n";

// Sends `text` to every connection, then closes it.
Task<> ServeText(const Listener* listener, absl::string_view text) {
  for (;;) {
    absl::StatusOr<Socket> s = co_await listener->accept();
    if (!s.ok()) co_return;  // Cancelled: we are done
    absl::Status written = co_await s->write(text);
    (void)written;
  }
}

Task<absl::Status> Main() {
  absl::StatusOr<Listener> a = gaio::coro::listen("127.0.0.1:0");
  absl::StatusOr<Listener> b = gaio::coro::listen("127.0.0.1:0");
  if (!a.ok()) co_return a.status();
  if (!b.ok()) co_return b.status();
  gaio::coro::Scope servers;
  servers.spawn(ServeText(&*a, kStream1));
  servers.spawn(ServeText(&*b, kStream2));

  AsyncGenerator<SwapBytes> lines =
      gaio::coro::chain(gaio::coro::dial_lines(a->address()), gaio::coro::dial_lines(b->address()));
  while (std::optional<SwapBytes> line = co_await lines.next()) {
    std::printf("got line: %.*s\n", static_cast<int>(line->size()), line->data());
  }
  servers.cancel();
  co_await servers.join();
  co_return lines.status();
}

int main() {
  auto loop = gaio::coro::EventLoop::Create();
  if (!loop.ok()) return 1;
  absl::Status s = (*loop)->run(Main());
  if (!s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
  return s.ok() ? 0 : 1;
}
