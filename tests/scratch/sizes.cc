#include <cstdio>
#include <sys/socket.h>
#include "coro/coro.h"
#include "coro/internal/frame_allocator.h"
using namespace gaio::coro;
int main() {
  auto loop = EventLoop::Create();
  int fds[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
  Socket s(**loop, fds[0]);
  {
    AsyncGenerator<SwapBytes> g = lines(s, 65536, absl::Seconds(300));
    std::printf("lines(Socket&) frame: %llu\n", (unsigned long long)internal::ThisThreadFramePoolStats().last_size);
  }
  Reader r(s);
  {
    AsyncGenerator<SwapBytes> g = r.lines(65536, absl::Seconds(300));
    std::printf("Reader::lines frame: %llu\n", (unsigned long long)internal::ThisThreadFramePoolStats().last_size);
  }
  BufferedWriter w(s);
  std::printf("writer memory: %zu, sizeof Reader %zu\n", w.memory_bytes(), sizeof(Reader));
}
struct Client { Client* prev; Client* next; BufferedWriter* out; };
struct Room { size_t max_line; absl::Duration idle; size_t high; };
Task<> Serve(Room* room, Socket socket) {
  BufferedWriter out(socket, {.high_water = room->high});
  Client me{nullptr,nullptr,&out};
  Reader in(socket);
  for (;;) {
    absl::StatusOr<SwapBytes> line = co_await in.read_until("\n", room->max_line, room->idle);
    if (!line.ok()) break;
  }
  (void)me;
}
int main2() {
  auto loop = EventLoop::Create();
  int fds[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
  Room room{}; Task<> t = Serve(&room, Socket(**loop, fds[0]));
  std::printf("PieceOp %zu\n", sizeof(Reader::PieceOp)); std::printf("Serve frame: %llu\n", (unsigned long long)internal::ThisThreadFramePoolStats().last_size);
  return 0;
}
static int x = main2();
