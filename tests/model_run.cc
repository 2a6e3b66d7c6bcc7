// The operations of a model run, and how a run ends.
#include "tests/model_run.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/fault_util.h"
#include "tests/model_driver.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio::model {
namespace {

void* Ctx(uint64_t id) { return reinterpret_cast<void*>(static_cast<uintptr_t>(id)); }

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kRead:
      return "read";
    case Kind::kSwapRead:
      return "swap-read";
    case Kind::kReadFull:
      return "read_full";
    case Kind::kWrite:
      return "write";
    case Kind::kWritev:
      return "writev";
    case Kind::kConnect:
      return "connect";
    case Kind::kTimer:
      return "timer";
    case Kind::kPost:
      return "post";
    case Kind::kReadable:
      return "wait_readable";
    case Kind::kWritable:
      return "wait_writable";
  }
  return "?";
}

}  // namespace

DriverResult RunModel(Choices& choices, const DriverOptions& options) {
  Run run(choices, options);
  return run.Play();
}

Run::Run(Choices& choices, const DriverOptions& options) : choices_(choices), options_(options) {}

Run::~Run() { Cleanup(); }

DriverResult Run::Play() {
  Setup();
  while (!failed() && stats_.steps < static_cast<uint64_t>(options_.max_steps) &&
         !choices_.Exhausted()) {
    Step();
    ++stats_.steps;
  }
  if (!failed()) abrupt_ ? EndAbruptly() : EndGracefully();
  Cleanup();
  if (!failed() && testing::CountOpenFds() != fd_baseline_) {
    Fail(absl::StrCat("fd leak: ", testing::CountOpenFds(), " open fds, ", fd_baseline_,
                      " before the run"));
  }
  return DriverResult{!failed(), failure_, stats_};
}

void Run::Setup() {
  mode_ = options_.mode >= 0 ? options_.mode
                                           : static_cast<int>(choices_.Next(std::size(testing::kAllModes)));
  static constexpr size_t kSwapSizes[] = {64, 256, 4096, 64 * 1024};
  swap_size_ = kSwapSizes[choices_.Next(4)];
  abrupt_ = choices_.Next(4) == 0;
  fd_baseline_ = testing::FdBaseline();
  WatcherOptions o = testing::ModeOptions(mode_);
  o.swap_buffer_size = swap_size_;
  absl::StatusOr<Watcher> w = Watcher::Create(o);
  if (!w.ok()) return Fail(absl::StrCat("Watcher::Create: ", w.status().ToString()));
  watcher_.emplace(*std::move(w));
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener_, 64) != 0) {
    return Fail(absl::StrCat("listener: ", std::strerror(errno)));
  }
  const int n = 1 + static_cast<int>(choices_.Next(6));
  for (int i = 0; i < n && !failed(); ++i) slots_.push_back(NewConn());
}

Conn* Run::NewConn() {
  auto c = std::make_unique<Conn>();
  c->index = static_cast<int>(conns_.size());
  c->tcp = choices_.Next(4) == 0;
  // One TCP conn in two is made by the watcher's connect(): its reads and
  // writes may queue behind the connect.
  const bool by_connect = c->tcp && choices_.Next(2) == 0;
  absl::StatusOr<testing::FdPair> p =
      by_connect ? absl::StatusOr<testing::FdPair>(testing::FdPair{})
                 : (c->tcp ? testing::TcpPair() : testing::UnixPair());
  if (!p.ok()) {
    Fail(absl::StrCat("cannot make a pair: ", p.status().ToString()));
    c->watched_closed = true;
  } else if (!by_connect) {
    c->watched = p->watched;
    c->peer = p->peer;
  }
  c->in_key = next_key_;
  next_key_ += 2;  // even: peer streams; odd (id * 2 + 1): write data
  conns_.push_back(std::move(c));
  Conn* conn = conns_.back().get();
  if (by_connect && !failed()) {
    conn->watched = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    auto q = std::make_unique<Req>();
    q->id = next_id_++;
    q->conn = conn;
    q->fd = conn->watched;
    q->kind = Kind::kConnect;
    const uint64_t id = q->id;
    absl::Status st =
        watcher_->connect(Ctx(id), conn->watched, reinterpret_cast<sockaddr*>(&addr), len);
    Accept(std::move(q), st);
    if (st.ok()) conn->connecting = id;
    // The kernel completes the handshake whatever the watcher does.
    conn->peer = accept(listener_, nullptr, nullptr);
    if (conn->peer < 0) Fail(absl::StrCat("accept: ", std::strerror(errno)));
    int one = 1;
    setsockopt(conn->peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  Trace(absl::StrCat("new c", conn->index, conn->tcp ? " tcp" : " unix",
                     by_connect ? " by connect()" : "", " fd ", conn->watched, " peer ",
                     conn->peer));
  return conn;
}

Conn* Run::PickConn() { return slots_[choices_.Next(static_cast<uint32_t>(slots_.size()))]; }

void Run::Step() {
  const uint32_t op = choices_.Next(114);
  Conn* c = PickConn();
  if (op < 12) {
    SubmitRead(c, Kind::kRead);
  } else if (op < 24) {
    SubmitRead(c, Kind::kSwapRead);
  } else if (op < 32) {
    SubmitRead(c, Kind::kReadFull);
  } else if (op < 46) {
    SubmitWrite(c);
  } else if (op < 62) {
    PeerWrite(c);
  } else if (op < 74) {
    PeerRead(c, 1 + choices_.Next(64 * 1024));
  } else if (op < 90) {
    const uint32_t us =
        choices_.Next(4) == 0
            ? 0
            : choices_.Next(static_cast<uint32_t>(absl::ToInt64Microseconds(options_.max_wait)));
    Trace(absl::StrCat("wait ", us, "us"));
    absl::Status error;
    if (!Wait(absl::Microseconds(us), &error)) Fail(absl::StrCat("wait_io: ", error.ToString()));
  } else if (op < 92) {
    PeerShutdown(c);
  } else if (op < 93) {
    PeerClose(c, /*reset=*/false);
  } else if (op < 94) {
    PeerClose(c, /*reset=*/true);
  } else if (op < 97) {
    Free(c);
  } else if (op < 98) {
    FreeUnowned(c);
  } else if (op < 100) {
    const int64_t us =
        choices_.Next(static_cast<uint32_t>(absl::ToInt64Microseconds(options_.max_deadline)));
    Trace(absl::StrCat("sleep ", us, "us"));
    absl::SleepFor(absl::Microseconds(us));
  } else if (op < 103) {
    SubmitTimer();
  } else if (op < 105) {
    SubmitPost();
  } else if (op < 108) {
    CancelOne(c);
  } else if (op < 109) {
    CancelTimer();
  } else if (op < 110) {
    Release(c);
  } else {
    SubmitReadiness(c, /*write=*/op >= 112);
  }
}

absl::Time Run::PickDeadline() {
  const uint32_t r = choices_.Next(8);
  if (r < 4) return absl::InfiniteFuture();
  if (r == 4) return absl::Now() - absl::Milliseconds(1);
  return absl::Now() + absl::Microseconds(choices_.Next(static_cast<uint32_t>(
                           absl::ToInt64Microseconds(options_.max_deadline))));
}

void Run::Accept(std::unique_ptr<Req> q, const absl::Status& s) {
  Trace(absl::StrCat(KindName(q->kind), " #", q->id,
                     q->conn ? absl::StrCat(" c", q->conn->index, " fd ", q->fd) : "", " len ",
                     q->len, q->deadline == absl::InfiniteFuture() ? "" : " with deadline",
                     q->drain ? " (drain)" : "", s.ok() ? "" : " refused: " + s.ToString()));
  if (!s.ok()) return Fail(absl::StrCat("submission refused: ", s.ToString()));
  if (Conn* c = q->conn) {
    c->registered = true;
    (q->in_reads() ? c->reads : c->writes).push_back(q->id);
  } else if (q->kind == Kind::kTimer) {
    timers_.push_back(q->id);
  } else {
    posts_.push_back(q->id);
  }
  ++stats_.requests;
  pending_[q->id] = std::move(q);
}

void Run::SubmitTimer() {
  if (timers_.size() >= 64) return;
  auto q = std::make_unique<Req>();
  q->id = next_id_++;
  q->kind = Kind::kTimer;
  const uint32_t r = choices_.Next(8);
  const absl::Duration delay =
      r == 0 ? absl::InfiniteDuration()
             : r == 1 ? absl::ZeroDuration()
                      : absl::Microseconds(choices_.Next(static_cast<uint32_t>(
                            absl::ToInt64Microseconds(options_.max_deadline))));
  q->due = delay == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + delay;
  const uint64_t id = q->id;
  absl::Status s = watcher_->after(Ctx(id), delay);
  Accept(std::move(q), s);
}

void Run::SubmitPost() {
  auto q = std::make_unique<Req>();
  q->id = next_id_++;
  q->kind = Kind::kPost;
  const uint64_t id = q->id;
  absl::Status s = watcher_->post(Ctx(id));
  Accept(std::move(q), s);
}

void Run::CancelOne(Conn* c) {
  if (!c->registered || (c->reads.empty() && c->writes.empty())) return;
  const uint32_t n = static_cast<uint32_t>(c->reads.size() + c->writes.size());
  const uint32_t k = choices_.Next(n);
  const uint64_t id = k < c->reads.size() ? c->reads[k] : c->writes[k - c->reads.size()];
  Req& q = *pending_[id];
  absl::Status s = watcher_->cancel(c->watched, Ctx(id));
  // The cancel took effect at some instant before this.
  const absl::Time returned = absl::Now();
  std::string due;
  if (s.ok()) {
    q.must_cancel = q.cancel_ok = true;
    if (q.kind == Kind::kConnect) {
      // What waits behind a connect goes with it: Cancelled, unless its own
      // deadline came first. The model cannot see when the engine expired a
      // deadline, only that a DeadlineExceeded result is never early
      // (CheckStatus) and that a cancel takes effect before it returns. So
      // the window it allows: a request whose deadline is at or before the
      // moment cancel() returned may end DeadlineExceeded (its expiry may
      // have been queued before the cancel); one whose deadline is later
      // must end Cancelled.
      for (const auto* queue : {&c->reads, &c->writes}) {
        for (uint64_t other : *queue) {
          Req& o = *pending_[other];
          if (other == id) continue;
          o.cancel_ok = true;
          o.must_cancel = true;
          if (o.deadline <= returned) {
            o.deadline_may_win = true;
            absl::StrAppend(&due, " #", other);
          }
        }
      }
    }
  }
  Trace(absl::StrCat("cancel #", id, " c", c->index, ": ", s.ToString(),
                     due.empty() ? "" : absl::StrCat(" (deadline passed behind it:", due, ")")));
  if (!s.ok() && !absl::IsNotFound(s)) {
    Fail(absl::StrCat("cancel #", id, ": ", s.ToString()));
  }
  // NotFound: it completed already; its own result is on its way.
}

void Run::CancelTimer() {
  if (timers_.empty()) return;
  const uint64_t id = timers_[choices_.Next(static_cast<uint32_t>(timers_.size()))];
  absl::Status s = watcher_->cancel(-1, Ctx(id));
  Trace(absl::StrCat("cancel timer #", id, ": ", s.ToString()));
  if (s.ok()) {
    pending_[id]->must_cancel = pending_[id]->cancel_ok = true;
  } else if (!absl::IsNotFound(s)) {
    Fail(absl::StrCat("cancel timer #", id, ": ", s.ToString()));
  }
}

// release(): the requests end Cancelled, the fd stays open and blocking as
// it was made, and its streams go on (later requests register it anew).
void Run::Release(Conn* c) {
  if (!c->registered) return;
  for (uint64_t id : c->reads) pending_[id]->cancel_ok = true;
  for (uint64_t id : c->writes) pending_[id]->cancel_ok = true;
  absl::Status s = watcher_->release(c->watched);
  Trace(absl::StrCat("release c", c->index, " fd ", c->watched, ": ", s.ToString()));
  if (!s.ok()) return Fail(absl::StrCat("release(", c->watched, "): ", s.ToString()));
  c->registered = false;
  if (!testing::FdIsOpen(c->watched)) return Fail("release() closed the fd");
  if (fcntl(c->watched, F_GETFL) & O_NONBLOCK) return Fail("release() left O_NONBLOCK set");
  if (absl::Status again = watcher_->free(c->watched); !absl::IsNotFound(again)) {
    Fail(absl::StrCat("free() after release(): ", again.ToString()));
  }
}

void Run::SubmitRead(Conn* c, Kind kind, bool drain) {
  if (!drain && c->reads.size() >= 32) return;
  auto q = std::make_unique<Req>();
  q->id = next_id_++;
  q->conn = c;
  q->fd = c->watched;
  q->kind = kind;
  q->drain = drain;
  q->deadline = drain ? absl::InfiniteFuture() : PickDeadline();
  const bool timed = q->deadline != absl::InfiniteFuture();
  Watcher& w = *watcher_;
  absl::Status s;
  if (kind == Kind::kSwapRead) {
    const bool null = choices_.Next(2) == 0;
    if (null) {
      s = timed ? w.read_timeout(Ctx(q->id), q->fd, nullptr, q->deadline)
                : w.read(Ctx(q->id), q->fd, nullptr);
    } else {
      s = timed ? w.read_timeout(Ctx(q->id), q->fd, absl::Span<char>(), q->deadline)
                : w.read(Ctx(q->id), q->fd, absl::Span<char>());
    }
  } else {
    q->len = 1 + choices_.Next(kind == Kind::kRead ? 4096 : 8192);
    q->buf = std::make_unique<char[]>(q->len);
    const absl::Span<char> buf(q->buf.get(), q->len);
    if (kind == Kind::kReadFull) {
      s = w.read_full(Ctx(q->id), q->fd, buf, q->deadline);
    } else {
      s = timed ? w.read_timeout(Ctx(q->id), q->fd, buf, q->deadline)
                : w.read(Ctx(q->id), q->fd, buf);
    }
  }
  Accept(std::move(q), s);
}

void Run::SubmitReadiness(Conn* c, bool write) {
  if ((write ? c->writes : c->reads).size() >= 32) return;
  auto q = std::make_unique<Req>();
  q->id = next_id_++;
  q->conn = c;
  q->fd = c->watched;
  q->kind = write ? Kind::kWritable : Kind::kReadable;
  q->deadline = PickDeadline();
  const absl::Status s = write ? watcher_->wait_writable(Ctx(q->id), q->fd, q->deadline)
                               : watcher_->wait_readable(Ctx(q->id), q->fd, q->deadline);
  Accept(std::move(q), s);
}

void Run::SubmitWrite(Conn* c) {
  if (c->writes.size() >= 32) return;
  auto q = std::make_unique<Req>();
  q->id = next_id_++;
  q->conn = c;
  q->fd = c->watched;
  q->kind = choices_.Next(3) == 0 ? Kind::kWritev : Kind::kWrite;
  q->len = 1 + choices_.Next(choices_.Next(2) == 0 ? 512 : 64 * 1024);
  q->buf = std::make_unique<char[]>(q->len);
  const uint64_t key = (q->id << 1) | 1;
  for (size_t i = 0; i < q->len; ++i) q->buf[i] = static_cast<char>(StreamByte(key, i));
  q->deadline = PickDeadline();
  const absl::Span<const char> data(q->buf.get(), q->len);
  absl::Status s;
  if (q->kind == Kind::kWritev) {
    // Up to three pieces, some possibly empty.
    const size_t a = choices_.Next(static_cast<uint32_t>(q->len + 1));
    const size_t b = a + choices_.Next(static_cast<uint32_t>(q->len - a + 1));
    s = watcher_->writev_timeout(Ctx(q->id), q->fd,
                                 {data.subspan(0, a), data.subspan(a, b - a), data.subspan(b)},
                                 q->deadline);
  } else {
    s = q->deadline == absl::InfiniteFuture()
            ? watcher_->write(Ctx(q->id), q->fd, data)
            : watcher_->write_timeout(Ctx(q->id), q->fd, data, q->deadline);
  }
  Accept(std::move(q), s);
}

void Run::PeerWrite(Conn* c) {
  if (c->peer_state != PeerState::kOpen) return;
  const size_t n = 1 + choices_.Next(choices_.Next(2) == 0 ? 256 : 64 * 1024);
  std::string data(n, '\0');
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>(StreamByte(c->in_key, c->sent + i));
  const ssize_t k = send(c->peer, data.data(), n, MSG_DONTWAIT | MSG_NOSIGNAL);
  Trace(absl::StrCat("peer write c", c->index, " ", n, " -> ", k));
  if (k > 0) {
    c->sent += static_cast<uint64_t>(k);
  } else if (k < 0 && errno != EAGAIN) {
    Fail(absl::StrCat("peer send on c", c->index, ": ", std::strerror(errno)));
  }
}

void Run::PeerRead(Conn* c, size_t max) {
  if (c->peer < 0) return;
  if (peer_buf_.size() < max) peer_buf_.resize(max);  // reused: no 64 KiB fill per call
  char* const buf = peer_buf_.data();
  const ssize_t k = recv(c->peer, buf, max, MSG_DONTWAIT);
  if (k > 0) {
    Trace(absl::StrCat("peer read c", c->index, " ", k));
    c->unmatched.append(buf, static_cast<size_t>(k));
    c->peer_received += static_cast<uint64_t>(k);
    Match(c);
  } else if (k == 0) {
    Fail(absl::StrCat("peer of c", c->index, " saw EOF while the watched fd is open"));
  } else if (errno != EAGAIN) {
    Fail(absl::StrCat("peer recv on c", c->index, ": ", std::strerror(errno)));
  }
}

size_t Run::PeerReadAll(Conn* c) {
  const uint64_t before = c->peer_received;
  for (uint64_t seen = ~uint64_t{0}; seen != c->peer_received && !failed();) {
    seen = c->peer_received;
    PeerRead(c, 64 * 1024);
  }
  return c->peer_received - before;
}

void Run::PeerShutdown(Conn* c) {
  if (c->peer_state != PeerState::kOpen) return;
  Trace(absl::StrCat("peer shutdown c", c->index));
  if (shutdown(c->peer, SHUT_WR) != 0)
    return Fail(absl::StrCat("shutdown: ", std::strerror(errno)));
  c->peer_state = PeerState::kShutWr;
  ++stats_.peer_shutdowns;
}

void Run::PeerClose(Conn* c, bool reset) {
  if (c->peer < 0) return;
  // Data the peer has not read (or that may still reach it) makes the close
  // reset the connection: the watched side's reads may then fail with
  // ECONNRESET. Over TCP any later write of the watched side resets it too
  // (data for a closed socket), and a reset drops what the peer's kernel
  // had not sent yet.
  const bool unread = testing::InQueue(c->peer) > 0 || !c->writes.empty() ||
                      (c->tcp && testing::OutQueue(c->watched) > 0);
  if (unread || c->tcp) c->reset_possible = true;
  if (c->tcp && testing::OutQueue(c->peer) != 0) c->lossy_in = true;
  Trace(absl::StrCat(reset ? "peer reset c" : "peer close c", c->index, unread ? " (unread)" : ""));
  if (reset && c->tcp) {
    testing::ResetClose(c->peer);
  } else {
    close(c->peer);
  }
  c->peer = -1;
  c->peer_state = PeerState::kClosed;
  ++(reset ? stats_.peer_resets : stats_.peer_closes);
}

void Run::FreeUnowned(Conn* c) {
  // free() of an fd the watcher does not own: NotFound, fd untouched.
  for (int fd : {c->peer, c->registered ? -1 : c->watched}) {
    if (fd < 0) continue;
    absl::Status s = watcher_->free(fd);
    Trace(absl::StrCat("free unowned fd ", fd, ": ", s.ToString()));
    if (!absl::IsNotFound(s)) return Fail(absl::StrCat("free(unowned ", fd, "): ", s.ToString()));
    if (!testing::FdIsOpen(fd)) return Fail(absl::StrCat("free(unowned ", fd, ") closed it"));
  }
}

void Run::Free(Conn* c) {
  if (!c->registered) return FreeUnowned(c);
  // Over TCP our close resets the connection when data is unread on our
  // side (or still on its way): bytes the writes reported may be dropped.
  if (c->tcp &&
      (testing::InQueue(c->watched) > 0 || (c->peer >= 0 && testing::OutQueue(c->peer) != 0))) {
    c->lossy_out = true;
  }
  for (uint64_t id : c->reads) pending_[id]->cancel_ok = true;
  for (uint64_t id : c->writes) pending_[id]->cancel_ok = true;
  absl::Status s = watcher_->free(c->watched);
  Trace(absl::StrCat("free c", c->index, " fd ", c->watched, ": ", s.ToString()));
  if (!s.ok()) return Fail(absl::StrCat("free(", c->watched, "): ", s.ToString()));
  c->watched_closed = true;
  if (testing::FdIsOpen(c->watched)) return Fail("free() left the fd open");
  ++stats_.frees;
  retired_.push_back(c);
  std::replace(slots_.begin(), slots_.end(), c, NewConn());
}

void Run::Finalize(Conn* c) {
  Trace(absl::StrCat("finalize c", c->index));
  const bool peer_open = c->peer >= 0;
  if (peer_open) {
    // The watched end is closed: the peer reads what is left, then EOF (or
    // the reset our close caused).
    const absl::Time give_up = absl::Now() + options_.patience;
    char buf[64 * 1024];
    for (;;) {
      const ssize_t k = recv(c->peer, buf, sizeof(buf), MSG_DONTWAIT);
      if (k > 0) {
        c->unmatched.append(buf, static_cast<size_t>(k));
        c->peer_received += static_cast<uint64_t>(k);
        Match(c);
        continue;
      }
      if (k == 0 || (errno != EAGAIN && errno != EINTR)) break;  // EOF or reset
      const absl::Duration left = give_up - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return Fail(absl::StrCat("peer of c", c->index, " never saw the watched end close"));
      }
      pollfd p{c->peer, POLLIN, 0};
      poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    }
    close(c->peer);
    c->peer = -1;
  }
  if (failed()) return;
  if (!c->unmatched.empty()) {
    return Fail(absl::StrCat("peer of c", c->index, " received ", c->unmatched.size(),
                             " bytes that no write reported"));
  }
  if (peer_open && !c->lossy_out && !c->segments.empty()) {
    uint64_t missing = 0;
    for (const Segment& s : c->segments) missing += s.left;
    Fail(absl::StrCat("peer of c", c->index, " never received ", missing,
                      " bytes that writes reported written"));
  }
}

void Run::EndGracefully() {
  Trace("end: drain");
  // Timers that would fire late or never go first.
  for (uint64_t id : std::vector<uint64_t>(timers_.begin(), timers_.end())) {
    if (pending_[id]->due <= absl::Now() + options_.max_deadline) continue;
    if (watcher_->cancel(-1, Ctx(id)).ok()) pending_[id]->must_cancel = pending_[id]->cancel_ok = true;
  }
  for (Conn* c : slots_) PeerShutdown(c);
  for (Conn* c : slots_) SubmitRead(c, Kind::kSwapRead, /*drain=*/true);
  // Patience counts from the last completion: a drain that makes progress
  // may be long (a 64-byte swap buffer moves 64 bytes per fd and batch, and
  // the peers may have sent megabytes), one that makes none is a hang.
  absl::Time give_up = absl::Now() + options_.patience;
  uint64_t completions = stats_.completions;
  while (!pending_.empty() && !failed()) {
    if (stats_.completions != completions) {
      completions = stats_.completions;
      give_up = absl::Now() + options_.patience;
    }
    if (absl::Now() > give_up) {
      std::string ids;
      for (const auto& [id, q] : pending_) absl::StrAppend(&ids, " #", id);
      return Fail(absl::StrCat("requests never completed (nothing completed for ",
                               absl::FormatDuration(options_.patience), "):", ids));
    }
    for (Conn* c : slots_) PeerReadAll(c);
    if (!Wait(absl::Milliseconds(2))) return Fail("wait_io failed while draining");
  }
  for (Conn* c : slots_) {
    if (failed()) return;
    absl::Status s = watcher_->free(c->watched);
    if (!s.ok()) return Fail(absl::StrCat("free(", c->watched, ") at the end: ", s.ToString()));
    c->watched_closed = true;
    retired_.push_back(c);
  }
  slots_.clear();
  Wait(absl::ZeroDuration());  // nothing was pending: any completion is a duplicate
  RetireDone();
  if (failed()) return;
  if (!watcher_->close().ok()) return Fail("close() failed");
  absl::Status end;
  if (Wait(absl::ZeroDuration(), &end) || !absl::IsFailedPrecondition(end)) {
    Fail(absl::StrCat("wait_io() after close(): ", end.ToString()));
  }
}

void Run::EndAbruptly() {
  Trace("end: close() with requests pending");
  for (Conn* c : slots_) {
    if (c->tcp && c->registered &&
        (testing::InQueue(c->watched) > 0 || (c->peer >= 0 && testing::OutQueue(c->peer) != 0))) {
      c->lossy_out = true;
    }
  }
  for (auto& [id, q] : pending_) q->cancel_ok = true;
  if (!watcher_->close().ok()) return Fail("close() failed");
  ++stats_.closes;
  for (Conn* c : slots_) {
    if (c->registered) {
      if (testing::FdIsOpen(c->watched)) return Fail("close() left a watched fd open");
    } else {
      close(c->watched);  // never the watcher's: still ours
    }
    c->watched_closed = true;
    retired_.push_back(c);
  }
  slots_.clear();
  const absl::Time give_up = absl::Now() + options_.patience;
  absl::Status end;
  while (Wait(absl::Milliseconds(100), &end) && !failed()) {
    if (absl::Now() > give_up) return Fail("wait_io() never reported the end after close()");
  }
  if (failed()) return;
  if (!absl::IsFailedPrecondition(end))
    return Fail(absl::StrCat("after close(): ", end.ToString()));
  if (!pending_.empty()) {
    std::string ids;
    for (const auto& [id, q] : pending_) absl::StrAppend(&ids, " #", id);
    return Fail(absl::StrCat("close() lost requests:", ids));
  }
  RetireDone();
}

void Run::Cleanup() {
  if (watcher_.has_value()) {
    watcher_->close().IgnoreError();
    watcher_.reset();  // no watcher thread touches a buffer after this
  }
  if (listener_ >= 0) close(listener_);
  listener_ = -1;
  pending_.clear();
  for (const std::unique_ptr<Conn>& c : conns_) {
    if (c->peer >= 0) close(c->peer);
    if (!c->watched_closed && !c->registered && c->watched >= 0) close(c->watched);
    c->peer = -1;
    c->watched_closed = true;
  }
}

}  // namespace gaio::model
