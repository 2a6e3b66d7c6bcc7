// udp_hostile_client: hammers a UDP echo server on 127.0.0.1 the way a
// hostile or careless network does, while a checked session verifies that
// the server still echoes every datagram it answers byte for byte.
//
//   udp_hostile_client --port=9000 --seconds=2 --max_datagram=1024
//
// Garbage (a thread of its own): bursts from many sockets of empty
// datagrams, single bytes, random sizes and contents, datagrams larger than
// the server's --max_datagram (up to 65507 bytes), from sockets that never
// read their echoes and from sockets closed right after sending (their
// echoes meet ICMP port-unreachable).
// Checked session (main thread, its own connected socket): random sizes
// (empty included); an echo with wrong bytes fails the run, a lost one is
// counted (a burst may overflow the server's receive buffer: UDP drops).
// Afterwards, with the garbage stopped, it checks the contract of the
// server exactly: an empty datagram comes back empty, and an oversized one
// is not echoed (the next echo is that of the datagram sent after it).
// Plain sockets; every wait is bounded. Exits 0 when all checks passed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

ABSL_FLAG(int, port, 9000, "server port on 127.0.0.1");
ABSL_FLAG(int, seconds, 2, "how long to hammer");
ABSL_FLAG(int, max_datagram, 1024, "the server's largest echoed datagram");
ABSL_FLAG(int, sockets, 64, "garbage sockets");

namespace {

sockaddr_in Server() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(absl::GetFlag(FLAGS_port)));
  return a;
}

int UdpSocket() { return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); }

std::atomic<uint64_t> g_garbage{0};

void Garbage(absl::Time until, int sockets, int max_datagram) {
  const sockaddr_in server = Server();
  std::mt19937 rng(42);
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(sockets));
  for (int i = 0; i < sockets; ++i) fds.push_back(UdpSocket());
  std::string junk(65507, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  for (uint64_t round = 0; absl::Now() < until; ++round) {
    for (int& fd : fds) {
      size_t len;
      switch (rng() % 6) {
        case 0:
          len = 0;
          break;
        case 1:
          len = 1;
          break;
        case 2:
          len = max_datagram + 1 + rng() % (junk.size() - max_datagram);
          break;
        case 3:
          len = static_cast<size_t>(max_datagram);
          break;
        default:
          len = rng() % 1473;
          break;
      }
      const size_t offset = rng() % (junk.size() - len + 1);
      if (sendto(fd, junk.data() + offset, len, 0, reinterpret_cast<const sockaddr*>(&server),
                 sizeof(server)) >= 0) {
        g_garbage.fetch_add(1, std::memory_order_relaxed);
      }
      if (rng() % 8 == 0) {  // gone before its echo comes
        close(fd);
        fd = UdpSocket();
      }
    }
    // Unread echoes pile up in the sockets' queues until the kernel drops
    // them; drain now and then so that memory stays bounded.
    if (round % 16 == 0) {
      char sink[65536];
      for (int fd : fds) {
        while (recv(fd, sink, sizeof(sink), 0) >= 0) {
        }
      }
    }
  }
  for (int fd : fds) close(fd);
}

struct Checker {
  int fd = -1;
  uint64_t ok = 0, lost = 0, wrong = 0;
  std::mt19937 rng{7};

  // Sends `out` and waits up to `patience` for a datagram (into *in).
  bool Exchange(const std::string& out, std::string* in, absl::Duration patience) {
    if (send(fd, out.data(), out.size(), 0) != static_cast<ssize_t>(out.size())) return false;
    return Await(in, patience);
  }
  bool Await(std::string* in, absl::Duration patience) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(patience))) != 1) return false;
    char buf[65536];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) return false;
    in->assign(buf, static_cast<size_t>(n));
    return true;
  }
  // One random checked round trip. Late echoes of earlier lost rounds are
  // told apart by their sequence number and skipped.
  void Round(uint64_t seq, size_t size) {
    std::string out = std::to_string(seq) + ":";
    while (out.size() < size) out.push_back(static_cast<char>('a' + rng() % 26));
    std::string in;
    const absl::Time give_up = absl::Now() + absl::Milliseconds(300);
    if (!Exchange(out, &in, absl::Milliseconds(300))) {
      ++lost;
      return;
    }
    while (in != out && in.substr(0, in.find(':') + 1) != out.substr(0, out.find(':') + 1)) {
      // An echo of an earlier round: wait for ours.
      if (!Await(&in, give_up - absl::Now())) {
        ++lost;
        return;
      }
    }
    if (in == out) {
      ++ok;
    } else {
      ++wrong;
      std::fprintf(stderr, "wrong echo for round %llu: %zu bytes, sent %zu\n",
                   static_cast<unsigned long long>(seq), in.size(), out.size());
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int max_datagram = absl::GetFlag(FLAGS_max_datagram);
  if (max_datagram < 16 || max_datagram > 65000) {
    std::fprintf(stderr, "udp_hostile_client: --max_datagram in [16, 65000]\n");
    return 2;
  }
  Checker c;
  c.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const sockaddr_in server = Server();
  if (c.fd < 0 || connect(c.fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) != 0) {
    std::perror("udp_hostile_client: socket/connect");
    return 1;
  }
  const absl::Time until = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::thread garbage(Garbage, until, absl::GetFlag(FLAGS_sockets), max_datagram);
  uint64_t seq = 0;
  while (absl::Now() < until) c.Round(++seq, c.rng() % static_cast<size_t>(max_datagram + 1));
  garbage.join();
  const uint64_t during_ok = c.ok, during_lost = c.lost;

  // Quiet now: the exact contract. Each check is retried a few times, as a
  // datagram may still be lost to the tail of the hammering.
  bool contract = true;
  auto check = [&](const char* what, auto&& attempt) {
    for (int i = 0; i < 5; ++i) {
      if (attempt()) return;
    }
    std::fprintf(stderr, "udp_hostile_client: FAILED: %s\n", what);
    contract = false;
  };
  char sink[65536];
  auto drain = [&] {
    while (recv(c.fd, sink, sizeof(sink), MSG_DONTWAIT) >= 0) {
    }
  };
  check("an empty datagram is echoed empty", [&] {
    drain();
    std::string in = "x";
    return c.Exchange("", &in, absl::Seconds(1)) && in.empty();
  });
  check("an oversized datagram is not echoed (the next echo is the next datagram)", [&] {
    drain();
    const std::string big(static_cast<size_t>(max_datagram) + 1, 'B');
    if (send(c.fd, big.data(), big.size(), 0) != static_cast<ssize_t>(big.size())) return false;
    std::string in;
    return c.Exchange("after-big", &in, absl::Seconds(1)) && in == "after-big";
  });
  check("a datagram of exactly --max_datagram bytes is echoed whole", [&] {
    drain();
    const std::string full(static_cast<size_t>(max_datagram), 'F');
    std::string in;
    return c.Exchange(full, &in, absl::Seconds(1)) && in == full;
  });
  for (int i = 0; i < 20; ++i) {
    check("a quiet round trip", [&] {
      drain();
      const uint64_t before = c.ok;
      c.Round(++seq, static_cast<size_t>(i) * 50);
      return c.ok == before + 1;
    });
  }
  std::printf(
      "udp_hostile_client: %llu garbage datagrams; checked session %llu echoed, %llu lost while "
      "hammered, %llu wrong; contract %s\n",
      static_cast<unsigned long long>(g_garbage.load()), static_cast<unsigned long long>(during_ok),
      static_cast<unsigned long long>(during_lost), static_cast<unsigned long long>(c.wrong),
      contract ? "ok" : "FAILED");
  close(c.fd);
  return c.wrong == 0 && contract && during_ok > 0 ? 0 : 1;
}
