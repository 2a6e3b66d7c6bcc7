// chat_server: a line chat on gaio::coro (the protocol of chat_server_raw).
// Every line (up to '\n') a client sends goes to every other connected
// client, in the order the server read them, never back to the sender. A
// client silent for --idle_s seconds, or whose unsent output exceeds
// --max_pending bytes, is dropped. SIGTERM or SIGINT ends the server (exit 0).
//
//   ./bazelw run //examples:chat_server -- --port=9002
//   nc 127.0.0.1 9002          # in two terminals: type in one, read in the other
//
// One task per client: it reads lines (Reader::read_lines with the idle
// timeout: no coroutine frame, read buffer or timer while it waits) and
// hands them to the other clients' BufferedWriters, which copy it and write
// it out without a task of their own. A writer whose client does not read fills up to
// --max_pending, fails, and shuts the socket down: that client's own task
// then sees the end of its stream and leaves.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "coro/coro.h"
#include "coro/writer.h"

ABSL_FLAG(int, port, 9002, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, takeover_us, -1,
          "WatcherOptions::poller_takeover in microseconds (-1 = the library default, 0 = off)");
ABSL_FLAG(int, idle_s, 300, "drop a client silent for this many seconds");
ABSL_FLAG(int64_t, max_pending, 1 << 20, "drop a client whose unsent output exceeds this");
ABSL_FLAG(int64_t, max_line, 64 << 10, "drop a client whose line grows past this");

namespace {

using gaio::coro::BufferedWriter;
using gaio::coro::Listener;
using gaio::coro::Socket;
using gaio::coro::SwapBytes;
using gaio::coro::Task;

// A connected client, in its task's frame, linked into the room.
struct Client {
  Client* prev = nullptr;
  Client* next = nullptr;
  BufferedWriter* out = nullptr;
};

class Room {
 public:
  Room()
      : max_line_(static_cast<size_t>(absl::GetFlag(FLAGS_max_line))),
        max_pending_(static_cast<size_t>(absl::GetFlag(FLAGS_max_pending))),
        idle_(absl::Seconds(absl::GetFlag(FLAGS_idle_s))) {}
  void Join(Client* c) {
    c->next = head_;
    if (head_ != nullptr) head_->prev = c;
    head_ = c;
  }
  void Leave(Client* c) {
    if (c->prev != nullptr) c->prev->next = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    if (head_ == c) head_ = c->next;
  }
  // `lines` (each with its '\n') to everyone but `from`. A send over a writer's cap
  // fails that writer, which shuts its socket down: its task leaves.
  void Broadcast(const Client* from, absl::string_view lines) {
    lines_ += static_cast<uint64_t>(std::count(lines.begin(), lines.end(), '\n'));
    for (Client* c = head_; c != nullptr; c = c->next) {
      if (c != from) c->out->send(lines).IgnoreError();
    }
  }
  uint64_t lines() const { return lines_; }
  size_t max_line() const { return max_line_; }
  size_t max_pending() const { return max_pending_; }
  absl::Duration idle() const { return idle_; }

 private:
  const size_t max_line_;
  const size_t max_pending_;
  const absl::Duration idle_;
  Client* head_ = nullptr;
  uint64_t lines_ = 0;
};

Task<> Serve(Room* room, Socket socket) {
  // The flags live in the Room, not in every client's frame.
  BufferedWriter out(socket, {.high_water = room->max_pending()});
  Client me;
  me.out = &out;
  room->Join(&me);
  gaio::coro::Reader in(socket);
  for (;;) {
    // Every complete line that has arrived (in order), relayed together.
    absl::StatusOr<SwapBytes> lines = co_await in.read_lines(room->max_line(), room->idle());
    // End of file (an unfinished last line is dropped), reset, idle timeout,
    // a line too long, our writer failed, or the server stopping: whatever
    // the status says, the client is gone.
    if (!lines.ok()) break;
    room->Broadcast(&me, lines->view());  // in place: often the swap buffer itself
  }
  room->Leave(&me);
}

Task<> Accept(Listener listener, Room* room) {
  gaio::coro::Scope clients;
  for (;;) {
    absl::StatusOr<Socket> s = co_await listener.accept();
    if (s.ok()) {
      // Lines go out as soon as they are read (the writer already coalesces
      // what arrives together): no Nagle delay waiting for the peer's ACK.
      s->set_nodelay(true).IgnoreError();
      clients.spawn(Serve(room, *std::move(s)));
      continue;
    }
    if (absl::IsCancelled(s.status())) break;  // stopping
    // The fd limit and the like: back off, the connection waits in the backlog.
    absl::Status slept = co_await gaio::coro::sleep(absl::Milliseconds(50));
    if (!slept.ok()) break;
  }
  co_await clients.join();
}

// Stops the loop on the first SIGINT or SIGTERM: every task is cancelled.
Task<> StopOnSignal(gaio::coro::Signals* signals) {
  absl::StatusOr<int> signo = co_await signals->next();
  if (signo.ok()) gaio::coro::EventLoop::current()->stop();
}

Task<> Main(Listener listener, gaio::coro::Signals* signals, Room* room) {
  gaio::coro::Scope scope;
  scope.spawn(StopOnSignal(signals));
  scope.spawn(Accept(std::move(listener), room));
  co_await scope.join();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  if (absl::GetFlag(FLAGS_takeover_us) >= 0) {
    options.poller_takeover = absl::Microseconds(absl::GetFlag(FLAGS_takeover_us));
  }
  absl::StatusOr<std::unique_ptr<gaio::coro::EventLoop>> loop =
      gaio::coro::EventLoop::Create(options);
  if (!loop.ok()) {
    std::fprintf(stderr, "chat_server: %s\n", loop.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<gaio::coro::Signals> signals =
      gaio::coro::Signals::Create(**loop, {SIGINT, SIGTERM});
  absl::StatusOr<Listener> listener =
      gaio::coro::listen(**loop, absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)));
  if (!signals.ok() || !listener.ok()) {
    std::fprintf(stderr, "chat_server: %s\n",
                 (signals.ok() ? listener.status() : signals.status()).ToString().c_str());
    return 1;
  }
  std::printf("chat_server on %s\n", listener->address().c_str());
  std::fflush(stdout);
  Room room;
  absl::Status status = (*loop)->run(Main(*std::move(listener), &*signals, &room));
  if (!status.ok() && !absl::IsCancelled(status)) {
    std::fprintf(stderr, "chat_server: %s\n", status.ToString().c_str());
    return 1;
  }
  const gaio::WatcherStats stats = (*loop)->watcher().stats();
  std::printf("chat_server: %llu lines relayed; poller takeovers %llu, hand-backs %llu\n",
              static_cast<unsigned long long>(room.lines()),
              static_cast<unsigned long long>(stats.takeovers),
              static_cast<unsigned long long>(stats.handbacks));
  return 0;
}
