#include "coro/socket.h"

#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "coro/internal/happy_eyeballs.h"

namespace gaio::coro {

namespace {

constexpr absl::string_view kBytesWrittenUrl = "gaio.coro/bytes_written";

// Closes an fd that `watcher` may own. NotFound from free(): never
// registered, ours to close. FailedPrecondition, or no Watcher any more (the
// loop is gone): the Watcher is closed and has closed every fd it owned, so
// close it only if it never went to the Watcher (the number may belong to
// someone else by now).
absl::Status CloseFd(Watcher* watcher, int fd, bool maybe_registered) {
  if (watcher == nullptr && maybe_registered) return absl::OkStatus();
  if (watcher != nullptr) {
    absl::Status s = watcher->free(fd);
    if (s.ok()) return s;
    if (absl::IsFailedPrecondition(s) && maybe_registered) return absl::OkStatus();
    if (!absl::IsNotFound(s) && !absl::IsFailedPrecondition(s)) return s;
  }
  if (::close(fd) != 0) return absl::ErrnoToStatus(errno, "close");
  return absl::OkStatus();
}

}  // namespace

size_t BytesWritten(const absl::Status& status) {
  if (status.ok()) return 0;
  absl::optional<absl::Cord> payload = status.GetPayload(kBytesWrittenUrl);
  size_t n = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &n)) return 0;
  return n;
}

namespace internal {
absl::Status WriteStatus(const OpResult& r) {
  if (r.status.ok() || r.size == 0) return r.status;
  absl::Status s = r.status;
  s.SetPayload(kBytesWrittenUrl, absl::Cord(absl::StrCat(r.size)));
  return s;
}
}  // namespace internal

namespace {
absl::StatusOr<SocketAddress> AddressOf(int fd, bool peer) {
  SocketAddress a;
  socklen_t len = sizeof(a.addr);
  auto* sa = reinterpret_cast<sockaddr*>(&a.addr);
  const int rc = peer ? getpeername(fd, sa, &len) : getsockname(fd, sa, &len);
  if (rc != 0) return absl::ErrnoToStatus(errno, peer ? "getpeername" : "getsockname");
  a.len = len;
  return a;
}
}  // namespace

absl::Status Socket::close() {
  if (fd_ < 0) return absl::OkStatus();
  const int fd = std::exchange(fd_, -1);
  return CloseFd(watcher(), fd, registered_);
}

int Socket::release() {
  if (fd_ < 0) return -1;
  const int fd = std::exchange(fd_, -1);
  Watcher* w = watcher();
  if (w == nullptr) return registered_ ? -1 : fd;               // the loop, gone, closed it
  absl::Status s = w->release(fd);                              // NotFound: never registered
  if (absl::IsFailedPrecondition(s) && registered_) return -1;  // closed with the Watcher
  return fd;
}

absl::Status Socket::set_nodelay(bool on) const {
  int v = on ? 1 : 0;
  if (setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) != 0) {
    return absl::ErrnoToStatus(errno, "setsockopt(TCP_NODELAY)");
  }
  return absl::OkStatus();
}

absl::StatusOr<SocketAddress> Socket::local_address() const { return AddressOf(fd_, false); }
absl::StatusOr<SocketAddress> Socket::peer_address() const { return AddressOf(fd_, true); }

size_t Socket::pending_write_bytes() const {
  Watcher* w = watcher();
  return w != nullptr && fd_ >= 0 ? w->pending_write_bytes(fd_) : 0;
}

absl::Status Listener::close() {
  if (fd_ < 0) return absl::OkStatus();
  const int fd = std::exchange(fd_, -1);
  EventLoop* loop = this->loop();
  return CloseFd(loop != nullptr ? &loop->watcher() : nullptr, fd, registered_);
}

absl::StatusOr<Listener> listen(EventLoop& loop, absl::string_view address, int backlog) {
  absl::StatusOr<SocketAddress> a = ParseAddress(address);
  if (!a.ok()) return a.status();
  const int fd = ::socket(a->family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, a->get(), a->len) != 0 || ::listen(fd, backlog) != 0) {
    absl::Status s = absl::ErrnoToStatus(errno, absl::StrCat("listen on ", address));
    ::close(fd);
    return s;
  }
  absl::StatusOr<SocketAddress> bound = AddressOf(fd, false);
  if (!bound.ok()) {
    ::close(fd);
    return bound.status();
  }
  return Listener(loop, fd, *bound);
}

absl::StatusOr<Listener> listen(absl::string_view address, int backlog) {
  EventLoop* loop = EventLoop::current();
  if (loop == nullptr) return absl::FailedPreconditionError("listen: no loop runs on this thread");
  return listen(*loop, address, backlog);
}

DialOp::DialOp(absl::string_view address, absl::Time deadline, const ResolverOptions* options)
    : address_(ParseAddress(address)), deadline_(deadline) {
  if (address_.ok()) return;
  // "name:port": a name has no ':' and no '[' (those are numeric addresses).
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return;
  const absl::string_view host = address.substr(0, colon);
  uint32_t port = 0;
  if (host.find_first_of(":[]") != absl::string_view::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return;
  }
  named_ = internal::DialByName(std::string(host), std::string(address.substr(colon + 1)), deadline,
                                options != nullptr ? *options : ResolverOptions{});
}

bool DialOp::Fail(absl::Status s) {
  internal::tls_completion = internal::SyntheticCompletion(std::move(s));
  return false;
}

absl::Status DialOp::open() {
  if (!address_.ok()) return address_.status();
  fd_ = ::socket(address_->family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return absl::ErrnoToStatus(errno, "socket");
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return absl::OkStatus();
}

absl::Status DialOp::submit(void* ctx) {
  absl::Status s = loop_->watcher().connect(ctx, fd_, address_->get(), address_->len, deadline_);
  submitted_ = s.ok();
  return s;
}

void DialOp::failed() {
  if (fd_ < 0) return;
  CloseFd(&loop_->watcher(), fd_, submitted_).IgnoreError();
  fd_ = -1;
}

absl::StatusOr<Socket> DialOp::await_resume() {
  if (named_.valid()) return std::move(named_.handle().promise().result());
  absl::Status status = Completion().status;
  if (!status.ok()) {
    // Owned by the Watcher since connect(): free() closes it.
    if (fd_ >= 0) CloseFd(&loop_->watcher(), fd_, true).IgnoreError();
    fd_ = -1;
    return status;
  }
  Socket s(*loop_, std::exchange(fd_, -1));
  s.registered_ = true;
  return s;
}

}  // namespace gaio::coro
