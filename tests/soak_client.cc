#include "tests/soak_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/soak_common.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio::soak {
namespace {

enum class Phase { kIdle, kRoundTrip, kHalfClose, kClosing, kDone };

struct Conn {
  int fd = -1;
  Phase phase = Phase::kDone;
  bool read_pending = false;
  bool write_pending = false;
  bool long_idle = false;
  size_t msg_off = 0;
  size_t msg_len = 0;
  absl::Time sent_at;
  std::unique_ptr<char[]> echo;
};

class Client {
 public:
  Client(const ClientOptions& o, Watcher w) : o_(o), w_(std::move(w)), rng_(o.seed) {}
  int Run();

 private:
  void Connect(Conn* c);
  void StartNext(Conn* c);
  void StartRoundTrip(Conn* c);
  void Disconnect(Conn* c);
  void Close(Conn* c);
  void OnRead(Conn* c, const OpResult& r);
  void OnWrite(Conn* c, const OpResult& r);
  void AfterCompletion(Conn* c);
  void Submitted(const absl::Status& s, bool* pending);
  void Violation(const std::string& what);

  const ClientOptions o_;
  Watcher w_;
  std::mt19937_64 rng_;
  std::vector<Conn> conns_;
  bool stopping_ = false;
  int open_ = 0;
  uint64_t submitted_ = 0, completed_ = 0, connects_ = 0, messages_ = 0, bytes_ = 0;
  uint64_t idles_ = 0, long_idles_ = 0, server_timeouts_ = 0;
  uint64_t fin_ = 0, rst_ = 0, half_ = 0, violations_ = 0, slow_ = 0;
  absl::Duration max_rtt_;
};

void Client::Violation(const std::string& what) {
  if (++violations_ <= 10) std::fprintf(stderr, "soak client: VIOLATION: %s\n", what.c_str());
}

void Client::Submitted(const absl::Status& s, bool* pending) {
  if (!s.ok()) return Violation(absl::StrCat("submission refused: ", s.ToString()));
  ++submitted_;
  *pending = true;
}

void Client::Connect(Conn* c) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(o_.port));
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      c->fd = fd;
      ++open_;
      ++connects_;
      StartNext(c);
      return;
    }
    const int err = errno;
    if (fd >= 0) close(fd);
    if (attempt == 49) Violation(absl::StrCat("connect: ", std::strerror(err)));
    absl::SleepFor(absl::Milliseconds(20));
  }
  c->phase = Phase::kDone;
}

void Client::StartNext(Conn* c) {
  const uint64_t r = rng_() % 100;
  if (r < 90) return StartRoundTrip(c);
  // Idle: a swap-buffer read with a deadline serves as the timer. The
  // server never sends first, so it ends with DeadlineExceeded, or with EOF
  // when the idle outlasts the server's timeout.
  c->phase = Phase::kIdle;
  c->long_idle = r == 99;
  absl::Duration idle =
      c->long_idle ? kServerIdleTimeout + absl::Seconds(2) : absl::Milliseconds(200 + rng_() % 800);
  ++(c->long_idle ? long_idles_ : idles_);
  Submitted(w_.read_timeout(c, c->fd, nullptr, absl::Now() + idle), &c->read_pending);
}

void Client::StartRoundTrip(Conn* c) {
  c->phase = Phase::kRoundTrip;
  c->msg_len = PickMessageSize(rng_);
  c->msg_off = rng_() % (MessageBytes().size() - c->msg_len);
  c->sent_at = absl::Now();
  const char* msg = MessageBytes().data() + c->msg_off;
  Submitted(w_.write(c, c->fd, absl::Span<const char>(msg, c->msg_len)), &c->write_pending);
  Submitted(w_.read_full(c, c->fd, absl::Span<char>(c->echo.get(), c->msg_len),
                         absl::Now() + absl::Seconds(30)),
            &c->read_pending);
}

void Client::Disconnect(Conn* c) {
  switch (rng_() % 3) {
    case 0:
      ++fin_;
      return Close(c);
    case 1: {
      ++rst_;
      linger l{1, 0};
      setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      return Close(c);
    }
    default:
      // Half-close: the server sees EOF and closes; we wait for its EOF.
      ++half_;
      c->phase = Phase::kHalfClose;
      if (shutdown(c->fd, SHUT_WR) != 0)
        Violation(absl::StrCat("shutdown: ", std::strerror(errno)));
      Submitted(w_.read(c, c->fd, nullptr), &c->read_pending);
  }
}

void Client::Close(Conn* c) {
  c->phase = Phase::kClosing;
  if (absl::Status s = w_.free(c->fd); !s.ok()) Violation(absl::StrCat("free: ", s.ToString()));
  --open_;
  AfterCompletion(c);
}

void Client::AfterCompletion(Conn* c) {
  if (c->read_pending || c->write_pending) return;
  switch (c->phase) {
    case Phase::kClosing:  // every completion of the old connection is in
      c->phase = Phase::kDone;
      c->fd = -1;
      if (!stopping_) Connect(c);
      return;
    case Phase::kRoundTrip:
      if (stopping_) return Close(c);
      if (rng_() % 200 == 0) return Disconnect(c);
      return StartNext(c);
    default:
      return;
  }
}

void Client::OnRead(Conn* c, const OpResult& r) {
  c->read_pending = false;
  const absl::Status& s = r.status;
  switch (c->phase) {
    case Phase::kIdle:
      if (absl::IsDeadlineExceeded(s)) {
        stopping_ ? Close(c) : StartRoundTrip(c);
      } else if (c->long_idle && (IsEof(s) || absl::IsUnavailable(s))) {
        ++server_timeouts_;
        Close(c);
      } else {
        Violation(absl::StrCat("idle read: ", s.ToString(), ", size ", r.size));
        Close(c);
      }
      return;
    case Phase::kRoundTrip:
      if (!s.ok() || r.size != c->msg_len ||
          std::memcmp(c->echo.get(), MessageBytes().data() + c->msg_off, c->msg_len) != 0) {
        Violation(absl::StrCat("echo of ", c->msg_len, " bytes: ", s.ToString(), ", size ", r.size,
                               s.ok() ? " (bytes differ)" : ""));
        return Close(c);
      }
      ++messages_;
      bytes_ += r.size;
      {
        const absl::Duration rtt = absl::Now() - c->sent_at;
        max_rtt_ = std::max(max_rtt_, rtt);
        if (rtt > absl::Seconds(1)) ++slow_;
      }
      return AfterCompletion(c);
    case Phase::kHalfClose:
      if (!IsEof(s)) Violation(absl::StrCat("after half-close: ", s.ToString()));
      return Close(c);
    default:
      return AfterCompletion(c);  // closing: whatever it was, it is over
  }
}

void Client::OnWrite(Conn* c, const OpResult& r) {
  c->write_pending = false;
  if (c->phase == Phase::kRoundTrip && !r.status.ok()) {
    Violation(absl::StrCat("write: ", r.status.ToString()));
    return Close(c);
  }
  AfterCompletion(c);
}

int Client::Run() {
  conns_.resize(static_cast<size_t>(o_.connections));
  for (Conn& c : conns_) {
    c.echo = std::make_unique<char[]>(kMaxMessage);
    std::memset(c.echo.get(), 0, kMaxMessage);  // touched now: flat RSS later
  }
  for (Conn& c : conns_) Connect(&c);
  const absl::Time stop_at = absl::Now() + o_.duration;
  const absl::Time give_up = stop_at + absl::Seconds(60);
  while (open_ > 0 || submitted_ != completed_) {
    if (!stopping_ && absl::Now() >= stop_at) {
      stopping_ = true;
      for (Conn& c : conns_) {
        if (c.phase == Phase::kIdle) Close(&c);  // cancels the idle read
      }
    }
    if (absl::Now() > give_up) {
      Violation(absl::StrCat("no wind-down: ", open_, " connections open, ",
                             submitted_ - completed_, " requests pending"));
      break;
    }
    absl::StatusOr<absl::Span<const OpResult>> batch = w_.wait_io(absl::Milliseconds(100));
    if (!batch.ok()) {
      Violation(absl::StrCat("wait_io: ", batch.status().ToString()));
      break;
    }
    for (const OpResult& r : *batch) {
      ++completed_;
      Conn* c = static_cast<Conn*>(r.ctx);
      bool& pending = r.op == OpType::kRead ? c->read_pending : c->write_pending;
      if (!pending) {
        Violation("a completion for a request that was not pending (duplicate)");
        continue;
      }
      r.op == OpType::kRead ? OnRead(c, r) : OnWrite(c, r);
    }
  }
  if (absl::Status s = w_.close(); !s.ok()) Violation(absl::StrCat("close: ", s.ToString()));
  absl::StatusOr<absl::Span<const OpResult>> after = w_.wait_io();
  if (after.ok()) Violation(absl::StrCat(after->size(), " completions after the last request"));
  if (submitted_ != completed_) {
    Violation(absl::StrCat("submitted ", submitted_, " != completed ", completed_));
  }
  std::printf(
      "soak client: %llu connections opened (%d at once), %llu round trips, %llu bytes echoed and "
      "checked (slowest %.0f ms, %llu over 1 s); %llu idles, %llu past the server timeout (%llu "
      "closed by it); disconnects: "
      "%llu FIN, %llu RST, %llu half-close; requests submitted %llu, completed %llu; "
      "violations %llu\n",
      (unsigned long long)connects_, o_.connections, (unsigned long long)messages_,
      (unsigned long long)bytes_, absl::ToDoubleMilliseconds(max_rtt_), (unsigned long long)slow_,
      (unsigned long long)idles_, (unsigned long long)long_idles_,
      (unsigned long long)server_timeouts_, (unsigned long long)fin_, (unsigned long long)rst_,
      (unsigned long long)half_, (unsigned long long)submitted_, (unsigned long long)completed_,
      (unsigned long long)violations_);
  return violations_ == 0 ? 0 : 1;
}

}  // namespace

int RunClient(const ClientOptions& options) {
  const int fd_baseline = testing::FdBaseline();
  int violations = 0;
  {
    absl::StatusOr<Watcher> w = Watcher::Create();
    if (!w.ok()) {
      std::fprintf(stderr, "soak client: Watcher::Create: %s\n", w.status().ToString().c_str());
      return 1;
    }
    Client client(options, *std::move(w));
    violations = client.Run();
  }
  std::fflush(stdout);
  const int fds = testing::CountOpenFds();
  if (fds != fd_baseline) {
    std::fprintf(stderr, "soak client: VIOLATION: %d fds open, %d before\n", fds, fd_baseline);
    return 1;
  }
  std::printf("soak client: open fds back to %d\n", fds);
  std::fflush(stdout);
  return violations;
}

}  // namespace gaio::soak
