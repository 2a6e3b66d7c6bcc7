// The README's first example, compiled and run by `./bazelw test //...`
// (//examples:readme_echo_test also checks that README.md shows this code).
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "watcher/watcher.h"

int main() {
  std::string out;  // bytes being echoed; declared first, so it outlives any pending write
  absl::StatusOr<gaio::Watcher> watcher = gaio::Watcher::Create();  // 1 poller thread
  if (!watcher.ok()) return 1;
  int fds[2];  // fds[0] stands for an accepted connection, fds[1] for its client
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 1;
  // nullptr: the bytes land in the watcher's shared swap buffer.
  if (!watcher->read(nullptr, fds[0], nullptr).ok()) return 1;
  if (::write(fds[1], "hello", 5) != 5) return 1;

  for (bool echoed = false; !echoed;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = watcher->wait_io();
    if (!batch.ok()) return 1;
    for (const gaio::OpResult& r : *batch) {
      if (!r.status.ok()) return 1;  // EOF, reset, deadline, cancelled
      if (r.op == gaio::OpType::kRead) {
        out.assign(r.buffer.data(), r.size);  // swap bytes live until the next wait_io()
        if (!watcher->write(nullptr, r.fd, out).ok()) return 1;
      } else {
        echoed = true;  // a server would read(nullptr) again here
      }
    }
  }
  char reply[5];
  if (::read(fds[1], reply, 5) != 5) return 1;
  std::printf("echoed: %.5s\n", reply);
  return 0;  // ~Watcher closes fds[0]
}
