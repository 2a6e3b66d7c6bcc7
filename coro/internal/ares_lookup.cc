#include "coro/internal/ares_lookup.h"

#include <ares.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coro/resolve.h"

namespace gaio::coro::internal {

struct AresLookup::Sock final : Operation {
  Sock(AresLookup* l, int fd) : lookup(l), fd(fd) {}
  void complete(const OpResult& r) noexcept override { lookup->OnSock(this, r); }
  void request_cancel() noexcept override {}
  AresLookup* lookup;
  int fd;
  bool open = true;
  bool registered = false;  // a request was accepted: the Watcher owns fd
  bool want_read = false, want_write = false;
  bool read_pending = false, write_pending = false;
};

namespace {

void EnsureLibrary() {
  // c-ares 1.18's ares_library_init is not thread-safe: once per process.
  static const int init = ares_library_init(ARES_LIB_INIT_ALL);
  (void)init;
}

AresLookup* Of(void* data) { return static_cast<AresLookup*>(data); }

ares_socket_t SockOpen(int domain, int type, int protocol, void* data) {
  const int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd >= 0) Of(data)->Opened(fd);
  return fd;
}
int SockClose(ares_socket_t fd, void* data) { return Of(data)->Close(fd); }
int SockConnect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) {
  return ::connect(fd, addr, len);
}
ares_ssize_t SockRecvFrom(ares_socket_t fd, void* buf, size_t n, int flags, sockaddr* from,
                          ares_socklen_t* from_len, void*) {
  return ::recvfrom(fd, buf, n, flags, from, from_len);
}
ares_ssize_t SockSendv(ares_socket_t fd, const iovec* iov, int n, void*) {
  return ::writev(fd, iov, n);
}
const ares_socket_functions kSocketFunctions = {SockOpen, SockClose, SockConnect, SockRecvFrom,
                                                SockSendv};

void OnSockState(void* data, ares_socket_t fd, int read, int write) {
  Of(data)->SockState(fd, read != 0, write != 0);
}
void OnAnswer(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) {
  Of(arg)->Answer(status, res);
}

}  // namespace

absl::Status AresStatus(int code, const char* what) {
  const std::string msg = absl::StrCat(what, ": ", ares_strerror(code));
  switch (code) {
    case ARES_SUCCESS:
      return absl::OkStatus();
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
      return absl::NotFoundError(msg);
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_ECONNREFUSED:
      return absl::UnavailableError(msg);
    case ARES_EBADRESP:
    case ARES_EFORMERR:
      return absl::DataLossError(msg);
    case ARES_ETIMEOUT:
      return absl::DeadlineExceededError(msg);
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return absl::CancelledError(msg);
    case ARES_ENOMEM:
      return absl::ResourceExhaustedError(msg);
    case ARES_EBADNAME:
    case ARES_EBADFAMILY:
    case ARES_EBADFLAGS:
    case ARES_EBADHINTS:
    case ARES_EBADSTR:
    case ARES_EBADQUERY:
    case ARES_ESERVICE:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::UnknownError(msg);
  }
}

AresLookup::AresLookup(std::string host, std::string service, const ResolverOptions& options,
                       absl::Time deadline)
    : host_(std::move(host)),
      service_(std::move(service)),
      options_(options),
      deadline_(deadline) {}

AresLookup::~AresLookup() {
  // Only a frame destroyed while suspended (a failed run leaks them instead)
  // could get here with a live channel.
  if (channel_ != nullptr) ares_destroy(channel_);
}

absl::Status AresLookup::Init() {
  EnsureLibrary();
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  opts.sock_state_cb = OnSockState;
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(options_.attempt_timeout), 1, 1 << 30));
  opts.tries = std::max(1, options_.tries);
  char lookups_fb[] = "fb";
  char lookups_b[] = "b";
  opts.lookups = options_.use_hosts_file ? lookups_fb : lookups_b;
  if (!options_.search_domains) {
    // No search list (overriding resolv.conf and $LOCALDOMAIN): the name as given.
    mask |= ARES_OPT_FLAGS | ARES_OPT_DOMAINS;
    opts.flags = ARES_FLAG_NOSEARCH;
    opts.domains = nullptr;
    opts.ndomains = 0;
  }
  ares_channel channel = nullptr;
  const int rc = ares_init_options(&channel, &opts, mask);
  if (rc != ARES_SUCCESS) return AresStatus(rc, "resolve: ares_init_options");
  channel_ = channel;
  ares_set_socket_functions(channel_, &kSocketFunctions, this);
  if (!options_.servers.empty()) {
    const std::string csv = absl::StrJoin(options_.servers, ",");
    const int src = ares_set_servers_ports_csv(channel_, csv.c_str());
    if (src != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("resolve: bad servers '", csv, "': ", ares_strerror(src)));
    }
  }
  return absl::OkStatus();
}

bool AresLookup::Start(std::coroutine_handle<> h, Fiber* fiber) {
  if (fiber->cancelled()) {
    status_ = absl::CancelledError("resolve: task cancelled");
    return false;
  }
  loop_ = EventLoop::current();
  if (loop_ == nullptr) {
    status_ = absl::FailedPreconditionError("resolve: no loop on this thread");
    return false;
  }
  if (options_.family != AF_UNSPEC && options_.family != AF_INET && options_.family != AF_INET6) {
    status_ = absl::InvalidArgumentError("resolve: bad family");
    return false;
  }
  absl::Status s = Init();
  if (!s.ok()) {
    status_ = std::move(s);
    if (channel_ != nullptr) ares_destroy(std::exchange(channel_, nullptr));
    return false;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = options_.family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  // An IP literal (with a service name): its own family, or c-ares 1.18
  // sends a query for it.
  in6_addr literal;
  const int literal_family = inet_pton(AF_INET, host_.c_str(), &literal) == 1    ? AF_INET
                             : inet_pton(AF_INET6, host_.c_str(), &literal) == 1 ? AF_INET6
                                                                                 : AF_UNSPEC;
  if (literal_family != AF_UNSPEC) {
    if (hints.ai_family != AF_UNSPEC && hints.ai_family != literal_family) {
      status_ = absl::NotFoundError(absl::StrCat("resolve ", host_, ": not of the family asked"));
      ares_destroy(std::exchange(channel_, nullptr));
      return false;
    }
    hints.ai_family = literal_family;
    hints.ai_flags |= ARES_AI_NUMERICHOST;
  }
  ares_getaddrinfo(channel_, host_.c_str(), service_.c_str(), &hints, OnAnswer, this);
  AfterAres();
  if (channel_ == nullptr && pending_ == 0) return false;
  waiter_ = h;
  fiber_ = fiber;
  fiber_->set_hook(this);
  return true;
}

absl::StatusOr<std::vector<SocketAddress>> AresLookup::await_resume() {
  if (!status_.ok()) return status_;
  return std::move(addresses_);
}

AresLookup::Sock* AresLookup::Find(int fd) {
  for (auto& s : socks_) {
    if (s->open && s->fd == fd) return s.get();
  }
  return nullptr;
}

AresLookup::Sock* AresLookup::Opened(int fd) {
  socks_.push_back(std::make_unique<Sock>(this, fd));
  return socks_.back().get();
}

int AresLookup::Close(int fd) {
  Sock* s = Find(fd);
  if (s != nullptr) {
    s->open = false;
    if (s->registered) {
      // The Watcher closes it; its pending requests report Cancelled. After
      // Watcher::close (FailedPrecondition) it is closed already.
      absl::Status st = loop_->watcher().free(fd);
      if (st.ok() || absl::IsFailedPrecondition(st)) return 0;
    }
  }
  return ::close(fd);
}

void AresLookup::SockState(int fd, bool read, bool write) {
  Sock* s = Find(fd);
  if (s == nullptr) s = Opened(fd);  // a socket c-ares made without asocket
  s->want_read = read;
  s->want_write = write;
}

void AresLookup::Answer(int code, ares_addrinfo* res) {
  if (!done_) {
    done_ = true;
    if (code == ARES_SUCCESS && res != nullptr) {
      for (ares_addrinfo_node* n = res->nodes;
           n != nullptr && addresses_.size() < kMaxResolvedAddresses; n = n->ai_next) {
        if (n->ai_addr == nullptr || n->ai_addrlen > sizeof(SocketAddress::addr)) continue;
        if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
        SocketAddress a;
        std::memcpy(&a.addr, n->ai_addr, n->ai_addrlen);
        a.len = n->ai_addrlen;
        addresses_.push_back(a);
      }
      if (addresses_.empty() && status_.ok()) {
        status_ = absl::NotFoundError(absl::StrCat("resolve ", host_, ": no address"));
      }
    } else if (status_.ok()) {
      status_ = AresStatus(code == ARES_SUCCESS ? ARES_ENODATA : code,
                           absl::StrCat("resolve ", host_).c_str());
    }
  }
  if (res != nullptr) ares_freeaddrinfo(res);
}

// Ends a lookup still under way with `s`; one that has its answer keeps it
// (a cancel that comes after the answer loses).
void AresLookup::Fail(absl::Status s) {
  if (done_) return;
  status_ = std::move(s);
  if (channel_ != nullptr) ares_cancel(channel_);  // Answer(ECANCELLED): kept as status_
  done_ = true;
}

void AresLookup::AfterAres() {
  if (channel_ == nullptr) return;
  if (!done_) {
    Pump();
    if (!done_) return;
  }
  ares_destroy(std::exchange(channel_, nullptr));  // closes its sockets (Close)
  if (timer_pending_) loop_->watcher().cancel(-1, timer_.ctx()).IgnoreError();
}

void AresLookup::Pump() {
  Watcher& w = loop_->watcher();
  for (auto& s : socks_) {
    if (!s->open) continue;
    if (s->want_read && !s->read_pending) {
      absl::Status st = w.wait_readable(s->ctx(), s->fd);
      if (!st.ok()) return Fail(std::move(st));
      s->registered = s->read_pending = true;
      ++pending_;
    }
    if (s->want_write && !s->write_pending) {
      absl::Status st = w.wait_writable(s->ctx(), s->fd);
      if (!st.ok()) return Fail(std::move(st));
      s->registered = s->write_pending = true;
      ++pending_;
    }
  }
  Rearm();
}

void AresLookup::Rearm() {
  const absl::Time now = absl::Now();
  absl::Time due = deadline_;
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) != nullptr) {
    due = std::min(due, now + absl::DurationFromTimeval(tv));
  }
  if (timer_pending_) {
    // An earlier due: cancel; the Cancelled completion re-arms.
    if (due < timer_due_) loop_->watcher().cancel(-1, timer_.ctx()).IgnoreError();
    return;
  }
  if (due == absl::InfiniteFuture()) return;
  absl::Status st = loop_->watcher().after(timer_.ctx(), std::max(due - now, absl::ZeroDuration()));
  if (!st.ok()) return Fail(std::move(st));
  timer_pending_ = true;
  timer_due_ = due;
  ++pending_;
}

void AresLookup::OnTimer(const OpResult& r) {
  --pending_;
  timer_pending_ = false;
  if (channel_ != nullptr) {
    if (absl::Now() >= deadline_) {
      Fail(absl::DeadlineExceededError(absl::StrCat("resolve ", host_, ": deadline exceeded")));
    } else if (!r.status.ok() && !absl::IsCancelled(r.status)) {
      Fail(r.status);
    } else {
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // its timeouts
    }
    AfterAres();
  }
  MaybeResume();
}

void AresLookup::OnSock(Sock* s, const OpResult& r) {
  --pending_;
  const bool readable = r.op == OpType::kReadable;
  (readable ? s->read_pending : s->write_pending) = false;
  if (channel_ != nullptr) {
    if (r.status.ok() && s->open) {
      ares_process_fd(channel_, readable ? s->fd : ARES_SOCKET_BAD,
                      readable ? ARES_SOCKET_BAD : s->fd);
    } else if (!r.status.ok() && !absl::IsCancelled(r.status)) {
      Fail(r.status);  // the Watcher failed
    }
    AfterAres();
  }
  MaybeResume();
}

void AresLookup::MaybeResume() {
  if (channel_ != nullptr || pending_ != 0 || !waiter_) return;
  fiber_->clear_hook();
  std::exchange(waiter_, nullptr).resume();  // last: may destroy *this
}

void AresLookup::request_cancel() noexcept {
  Fail(absl::CancelledError(absl::StrCat("resolve ", host_, ": task cancelled")));
  AfterAres();
  if (pending_ == 0 && waiter_) {
    fiber_->clear_hook();
    loop_->schedule(std::exchange(waiter_, nullptr));
  }
}

}  // namespace gaio::coro::internal
