// DNS servers for the resolver tests: Debian's dnsmasq with fixed records
// (a child process, killed when the object goes away) and a tiny UDP server
// of our own that answers every query the same scripted way (garbage, TC
// bit, a huge answer, SERVFAIL, silence). Every wait has a deadline.
#ifndef GAIO_TESTS_CORO_DNS_TEST_UTIL_H_
#define GAIO_TESTS_CORO_DNS_TEST_UTIL_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coro/resolver_options.h"

namespace gaio::coro::testing {

inline constexpr char kDnsmasq[] = "/usr/sbin/dnsmasq";

// A free UDP port on 127.0.0.1 (bound, read, closed: free for a moment).
int FreeUdpPort();

// A minimal DNS query for `name` (type A = 1, AAAA = 28) with id `id`.
std::string DnsQuery(const std::string& name, int type, uint16_t id);

class Dnsmasq {
 public:
  // Starts dnsmasq on 127.0.0.1:<free port> with `args` added (its records)
  // and waits until it answers. FailedPrecondition naming the package when
  // the binary is missing (./bazelw installs it).
  static absl::StatusOr<std::unique_ptr<Dnsmasq>> Start(const std::vector<std::string>& args);
  ~Dnsmasq();  // SIGKILL and reap
  int port() const { return port_; }
  std::string server() const;  // "127.0.0.1:port"

 private:
  Dnsmasq() = default;
  pid_t pid_ = -1;
  int port_ = 0;
};

class FakeDnsServer {
 public:
  enum class Mode {
    kSilent,     // never answers
    kGarbage,    // our question and an answer record cut short (malformed)
    kMismatch,   // a header claiming an answer, then junk instead of our question
    kShort,      // 5 bytes
    kTruncated,  // the query back with QR and TC set, no answer (TCP: closed)
    kHuge,       // a valid answer of 4000 A records (~64 KB datagram)
    kServfail,   // rcode 2
    kRefused,    // rcode 5
  };
  explicit FakeDnsServer(Mode mode);  // binds 127.0.0.1:0, serves on a thread
  ~FakeDnsServer();
  std::string server() const;  // "127.0.0.1:port"
  int queries() const { return queries_.load(); }

 private:
  void Serve();
  Mode mode_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

// dnsmasq with the records of the resolver tests (multi.test: 127.0.0.2 and
// 127.0.0.3; both.test: 127.0.0.1 and ::1; v6.test: ::1; hole.test:
// 127.0.0.4 and 127.0.0.5; any other *.test: NXDOMAIN). A failure to start
// fails the calling test (nullptr).
std::unique_ptr<Dnsmasq> StartDnsmasq();
// Options for `server` alone, without /etc/hosts or a search list.
ResolverOptions Using(const std::string& server);

// Whether ::1 can be bound (some containers have no IPv6 loopback).
bool HaveIpv6Loopback();
// A blocking listening TCP socket on "ip:port" / "[ip6]:port" (port 0: any),
// with SO_REUSEADDR; -1 on error.
int ListenOn(const std::string& address, int backlog = 16);
int PortOf(int fd);
// Listeners on [::1]:P and 127.0.0.1:P, the same P; false when impossible.
bool ListenBoth(int* v6, int* v4, int v6_backlog = 16);
// Connections to host:port (host "1.2.3.4" or "[::1]") that fill a
// backlog-0 listener's accept queue, so that further SYNs are dropped.
std::vector<int> FillAcceptQueue(const std::string& host, int port);

}  // namespace gaio::coro::testing

#endif  // GAIO_TESTS_CORO_DNS_TEST_UTIL_H_
