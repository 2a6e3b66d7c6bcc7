#include "tests/coro/dns_test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "coro/socket.h"
#include "gtest/gtest.h"

namespace gaio::coro::testing {

namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int BoundUdp(int* port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(0);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// One query to 127.0.0.1:port; true if any answer came within `timeout`.
bool Answers(int port, absl::Duration timeout) {
  int unused = 0;
  const int fd = BoundUdp(&unused);
  if (fd < 0) return false;
  const std::string q = DnsQuery("ready.test", 1, 7);
  sockaddr_in to = Loopback(port);
  sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  pollfd p{fd, POLLIN, 0};
  const bool ok = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1;
  close(fd);
  return ok;
}

}  // namespace

int FreeUdpPort() {
  int port = 0;
  const int fd = BoundUdp(&port);
  if (fd >= 0) close(fd);
  return port;
}

namespace {

// A port for dnsmasq, which binds it for UDP and TCP on 127.0.0.1: one below
// the ephemeral range (32768 and up on Linux), free for both now. A port the
// kernel picks for a bind to port 0 (FreeUdpPort) is an ephemeral one, which
// the TCP connections of tests running in parallel (ctest -j, thousands of
// connections) may hold as their local port: dnsmasq's TCP bind then fails.
int FreeServerPort() {
  static uint32_t x = static_cast<uint32_t>(getpid()) * 2654435761u;
  for (int tries = 0; tries < 200; ++tries) {
    x = x * 1664525u + 1013904223u;
    const int port = 20000 + static_cast<int>((x >> 8) % 12000);
    bool free = true;
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
      const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
      sockaddr_in a = Loopback(port);
      free = free && fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
      if (fd >= 0) close(fd);
    }
    if (free) return port;
  }
  return FreeUdpPort();
}

}  // namespace

std::string DnsQuery(const std::string& name, int type, uint16_t id) {
  std::string q = {
      static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    q.push_back(static_cast<char>(label.size()));
    q.append(label.data(), label.size());
  }
  q.append({0, 0, static_cast<char>(type), 0, 1});
  return q;
}

absl::StatusOr<std::unique_ptr<Dnsmasq>> Dnsmasq::Start(const std::vector<std::string>& args) {
  if (access(kDnsmasq, X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(kDnsmasq, " is missing: install Debian's dnsmasq (./bazelw does)"));
  }
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto d = std::unique_ptr<Dnsmasq>(new Dnsmasq());
    d->port_ = FreeServerPort();
    std::vector<std::string> argv = {kDnsmasq,
                                     "--keep-in-foreground",
                                     "--conf-file=/dev/null",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--pid-file=",
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--local=/test/",
                                     absl::StrCat("--port=", d->port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargs;
    for (std::string& a : argv) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
    if (pid == 0) {
      const int null = open("/dev/null", O_RDWR);
      dup2(null, 1);
      dup2(null, 2);
      execv(cargs[0], cargs.data());
      _exit(127);
    }
    d->pid_ = pid;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if (Answers(d->port_, absl::Milliseconds(100))) return d;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {  // exited: the port was taken?
        d->pid_ = -1;
        break;
      }
    }
  }
  return absl::UnavailableError("dnsmasq did not start (or never answered)");
}

Dnsmasq::~Dnsmasq() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
}

std::string Dnsmasq::server() const { return absl::StrCat("127.0.0.1:", port_); }

FakeDnsServer::FakeDnsServer(Mode mode) : mode_(mode) {
  fd_ = BoundUdp(&port_);
  thread_ = std::thread([this] { Serve(); });
}

FakeDnsServer::~FakeDnsServer() {
  stop_ = true;
  thread_.join();
  if (fd_ >= 0) close(fd_);
}

std::string FakeDnsServer::server() const { return absl::StrCat("127.0.0.1:", port_); }

void FakeDnsServer::Serve() {
  char buf[512];
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 20) != 1) continue;
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n =
        recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 12) continue;
    ++queries_;
    std::string q(buf, static_cast<size_t>(n));
    std::string out;
    switch (mode_) {
      case Mode::kSilent:
        continue;
      case Mode::kShort:
        out = q.substr(0, 5);
        break;
      case Mode::kGarbage:  // our question, then an answer that is junk
        out = q;
        out[2] = static_cast<char>(out[2] | 0x80);  // QR
        out[3] = static_cast<char>(0x80);           // RA, rcode 0
        out[7] = 1;                                 // one answer
        // Name (a pointer to the question), type A, class IN, then one byte
        // of the TTL: the record ends early.
        out.append({static_cast<char>(0xc0), 12, 0, 1, 0, 1, static_cast<char>(0xff)});
        break;
      case Mode::kMismatch:  // an answer to another question
        out = q.substr(0, 12);
        out[2] = static_cast<char>(0x81);
        out[3] = static_cast<char>(0x80);
        out[5] = 1;
        out[7] = 1;
        out += "\x07garbage\xff\xff\xff\xff\x13\x37";
        break;
      case Mode::kTruncated:
        out = q;
        out[2] = static_cast<char>(out[2] | 0x82);  // QR, TC
        out[3] = static_cast<char>(0x80);
        break;
      case Mode::kServfail:
      case Mode::kRefused:
        out = q;
        out[2] = static_cast<char>(out[2] | 0x80);
        out[3] = static_cast<char>(0x80 | (mode_ == Mode::kServfail ? 2 : 5));
        break;
      case Mode::kHuge: {
        out = q;
        out[2] = static_cast<char>(out[2] | 0x84);  // QR, AA
        out[3] = static_cast<char>(0x80);
        const int count = 4000;
        out[6] = static_cast<char>(count >> 8);
        out[7] = static_cast<char>(count & 0xff);
        for (int i = 0; i < count; ++i) {
          // Name: a pointer to the question (offset 12); A, IN, TTL 60, 4 bytes.
          out.append({static_cast<char>(0xc0), 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10,
                      static_cast<char>(i >> 16), static_cast<char>(i >> 8), static_cast<char>(i)});
        }
        break;
      }
    }
    sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
}

std::unique_ptr<Dnsmasq> StartDnsmasq() {
  absl::StatusOr<std::unique_ptr<Dnsmasq>> d = Dnsmasq::Start({
      "--host-record=multi.test,127.0.0.2",
      "--host-record=multi.test,127.0.0.3",
      "--host-record=both.test,127.0.0.1,::1",
      "--host-record=v6.test,::1",
      "--host-record=hole.test,127.0.0.4",
      "--host-record=hole.test,127.0.0.5",
  });
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *std::move(d) : nullptr;
}

ResolverOptions Using(const std::string& server) {
  ResolverOptions o;
  o.servers = {server};
  o.use_hosts_file = false;
  o.search_domains = false;  // a CI host's search list would send nx.test on
  return o;
}

bool HaveIpv6Loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

int ListenOn(const std::string& address, int backlog) {
  absl::StatusOr<SocketAddress> a = ParseAddress(address);
  if (!a.ok()) return -1;
  const int fd = socket(a->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, a->get(), a->len) != 0 || ::listen(fd, backlog) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int PortOf(int fd) {
  SocketAddress a;
  a.len = sizeof(a.addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len);
  return a.port();
}

bool ListenBoth(int* v6, int* v4, int v6_backlog) {
  for (int i = 0; i < 20; ++i) {
    *v6 = ListenOn("[::1]:0", v6_backlog);
    if (*v6 < 0) return false;
    *v4 = ListenOn(absl::StrCat("127.0.0.1:", PortOf(*v6)));
    if (*v4 >= 0) return true;
    close(*v6);
  }
  return false;
}

std::vector<int> FillAcceptQueue(const std::string& host, int port) {
  std::vector<int> fds;
  absl::StatusOr<SocketAddress> a = ParseAddress(absl::StrCat(host, ":", port));
  if (!a.ok()) return fds;
  for (int i = 0; i < 4; ++i) {
    const int c = socket(a->family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c < 0) break;
    (void)connect(c, a->get(), a->len);  // EINPROGRESS
    fds.push_back(c);
  }
  return fds;
}

}  // namespace gaio::coro::testing
