#include "tests/private_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gaio::testing {
namespace {

PrivateNetwork& Mutable() {
  static PrivateNetwork* network = new PrivateNetwork;
  return *network;
}

absl::Status Errno(const std::string& what) { return absl::ErrnoToStatus(errno, what); }

// Sets `add` in the interface flags of `name`.
absl::Status AddFlags(const char* name, short add) {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Errno("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  absl::Status status;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    status = Errno(absl::StrCat("SIOCGIFFLAGS ", name));
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | add);
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) status = Errno(absl::StrCat("SIOCSIFFLAGS ", name));
  }
  close(s);
  return status;
}

absl::Status AddIpv4(const char* name, const char* ip) {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Errno("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &sin.sin_addr);
  std::memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
  absl::Status status;
  if (ioctl(s, SIOCSIFADDR, &ifr) != 0) status = Errno(absl::StrCat("SIOCSIFADDR ", ip));
  close(s);
  return status;
}

// struct in6_ifreq of <linux/ipv6.h>, which does not mix with <netinet/in.h>.
struct In6Ifreq {
  in6_addr addr;
  uint32_t prefixlen;
  int ifindex;
};

// Adds ip/64 to interface `index` and waits (bounded) until it can be bound:
// a new IPv6 address is tentative until the kernel's address work has run
// (no duplicate detection on a NOARP device, but the work is queued).
absl::Status AddIpv6(unsigned index, const char* ip) {
  const int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Errno("socket(AF_INET6)");
  In6Ifreq req{};
  inet_pton(AF_INET6, ip, &req.addr);
  req.prefixlen = 64;
  req.ifindex = static_cast<int>(index);
  absl::Status status;
  if (ioctl(s, SIOCSIFADDR, &req) != 0) status = Errno(absl::StrCat("SIOCSIFADDR ", ip));
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = req.addr;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (status.ok() && bind(s, reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6)) != 0) {
    if (errno != EADDRNOTAVAIL || absl::Now() > give_up) {
      status = Errno(absl::StrCat("bind ", ip));
    } else {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  close(s);
  return status;
}

// The tun device: its fd, or why there is none.
absl::Status MakeTun(PrivateNetwork* n) {
  const char* name = "gaiomc0";
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Errno("open /dev/net/tun");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    absl::Status s = Errno("TUNSETIFF");
    close(fd);
    return s;
  }
  n->tun_fd = fd;  // the device lives as long as this fd
  n->tun = if_nametoindex(name);
  absl::Status s = AddFlags(name, IFF_UP | IFF_MULTICAST);
  if (s.ok()) s = AddIpv4(name, "10.99.0.1");
  if (s.ok()) s = AddIpv6(n->tun, "fd00:99::1");
  if (s.ok()) s = AddIpv6(n->tun, "fd00:99::2");
  return s;
}

}  // namespace

void EnterPrivateNetwork() {
  PrivateNetwork& n = Mutable();
  if (unshare(CLONE_NEWNET) != 0) {
    const int first = errno;
    // Unprivileged: a user namespace of our own gives the capabilities
    // inside it, where the system allows that.
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
      n.status = absl::UnavailableError(absl::StrCat(
          "no private network namespace here: unshare(CLONE_NEWNET): ", std::strerror(first),
          "; with CLONE_NEWUSER: ", std::strerror(errno)));
      return;
    }
  }
  n.status = AddFlags("lo", IFF_UP | IFF_MULTICAST);
  if (!n.status.ok()) return;
  n.lo = if_nametoindex("lo");
  n.tun_status = MakeTun(&n);
  if (!n.tun_status.ok()) {
    n.tun_status = absl::UnavailableError(
        absl::StrCat("no tun device in the private namespace: ", n.tun_status.message()));
  }
}

const PrivateNetwork& Network() { return Mutable(); }

std::vector<std::string> DrainTunPackets() {
  std::vector<std::string> packets;
  const int fd = Network().tun_fd;
  if (fd < 0) return packets;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) packets.emplace_back(buf, n);
  return packets;
}

}  // namespace gaio::testing
