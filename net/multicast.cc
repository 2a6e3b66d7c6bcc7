#include "net/multicast.h"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "poller/posix_error.h"

namespace gaio::net {
namespace {

// The family of socket fd: AF_INET or AF_INET6, else an error status.
absl::StatusOr<int> FamilyOf(int fd) {
  absl::StatusOr<SocketAddress> local = LocalAddress(fd);
  if (!local.ok()) return local.status();
  return local->family();
}

absl::Status CheckInterface(unsigned interface) {
  char name[IF_NAMESIZE];
  if (interface != 0 && if_indextoname(interface, name) == nullptr) {
    return absl::NotFoundError(absl::StrCat("no network interface with index ", interface));
  }
  return absl::OkStatus();
}

absl::Status CheckGroup(int family, const SocketAddress& group) {
  if (!group.is_multicast()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", group.IpString(), "\" is not a multicast address"));
  }
  if (group.family() != family) {
    return absl::InvalidArgumentError(
        absl::StrCat("group ", group.IpString(), " is not of the socket's address family"));
  }
  return absl::OkStatus();
}

absl::Status CheckSource(int family, const SocketAddress& source) {
  if (source.family() != family) {
    return absl::InvalidArgumentError(
        absl::StrCat("source \"", source.IpString(), "\" is not of the socket's address family"));
  }
  if (source.is_multicast() || source.is_wildcard()) {
    return absl::InvalidArgumentError(
        absl::StrCat("source \"", source.IpString(), "\" is not a unicast address"));
  }
  return absl::OkStatus();
}

int Level(int family) { return family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6; }

// An IPv6 zone stands for the interface when none is given.
unsigned InterfaceFor(const SocketAddress& group, unsigned interface) {
  return interface != 0 ? interface : group.scope_id();
}

// One membership call (RFC 3678): `option` is MCAST_JOIN_GROUP or
// MCAST_LEAVE_GROUP without a source, one of the *_SOURCE_* ones with.
absl::Status Membership(int fd, int option, const char* name, const SocketAddress& group,
                        const SocketAddress* source, unsigned interface) {
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat(name, ": bad fd ", fd));
  absl::StatusOr<int> family = FamilyOf(fd);
  if (!family.ok()) return family.status();
  if (absl::Status s = CheckGroup(*family, group); !s.ok()) return s;
  if (source != nullptr) {
    if (absl::Status s = CheckSource(*family, *source); !s.ok()) return s;
  }
  interface = InterfaceFor(group, interface);
  if (absl::Status s = CheckInterface(interface); !s.ok()) return s;
  int rc;
  if (source == nullptr) {
    group_req req{};
    req.gr_interface = interface;
    std::memcpy(&req.gr_group, group.get(), group.size());
    rc = setsockopt(fd, Level(*family), option, &req, sizeof(req));
  } else {
    group_source_req req{};
    req.gsr_interface = interface;
    std::memcpy(&req.gsr_group, group.get(), group.size());
    std::memcpy(&req.gsr_source, source->get(), source->size());
    rc = setsockopt(fd, Level(*family), option, &req, sizeof(req));
  }
  if (rc != 0) {
    const int err = errno;
    const std::string op = absl::StrCat("setsockopt(", name, " ", group.IpString(),
                                        source ? absl::StrCat(" source ", source->IpString()) : "",
                                        " if ", interface, ")");
    return internal::PosixError(err, op.c_str());
  }
  return absl::OkStatus();
}

// A multicast option of fd's family: the IPv4 one takes an unsigned char
// (what every system accepts), the IPv6 one an int.
struct Option {
  int v4, v6;
  const char *v4_name, *v6_name;
  const char* Name(int family) const { return family == AF_INET ? v4_name : v6_name; }
};
constexpr Option kTtl{IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS, "IP_MULTICAST_TTL",
                      "IPV6_MULTICAST_HOPS"};
constexpr Option kLoop{IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP, "IP_MULTICAST_LOOP",
                       "IPV6_MULTICAST_LOOP"};
#if defined(IP_MULTICAST_ALL) && defined(IPV6_MULTICAST_ALL)
constexpr Option kAll{IP_MULTICAST_ALL, IPV6_MULTICAST_ALL, "IP_MULTICAST_ALL",
                      "IPV6_MULTICAST_ALL"};
#endif

absl::Status SetOption(int fd, const Option& option, int value) {
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat(option.v4_name, ": bad fd ", fd));
  absl::StatusOr<int> family = FamilyOf(fd);
  if (!family.ok()) return family.status();
  int rc;
  if (*family == AF_INET) {
    const unsigned char byte = static_cast<unsigned char>(value);
    rc = setsockopt(fd, IPPROTO_IP, option.v4, &byte, sizeof(byte));
  } else {
    rc = setsockopt(fd, IPPROTO_IPV6, option.v6, &value, sizeof(value));
  }
  if (rc != 0) {
    const int err = errno;
    const std::string op = absl::StrCat("setsockopt(", option.Name(*family), " ", value, ")");
    return internal::PosixError(err, op.c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<int> GetOption(int fd, const Option& option) {
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat(option.v4_name, ": bad fd ", fd));
  absl::StatusOr<int> family = FamilyOf(fd);
  if (!family.ok()) return family.status();
  int rc;
  int value = 0;
  if (*family == AF_INET) {
    unsigned char byte = 0;
    socklen_t len = sizeof(byte);
    rc = getsockopt(fd, IPPROTO_IP, option.v4, &byte, &len);
    value = byte;
  } else {
    socklen_t len = sizeof(value);
    rc = getsockopt(fd, IPPROTO_IPV6, option.v6, &value, &len);
  }
  if (rc != 0) {
    const int err = errno;
    const std::string op = absl::StrCat("getsockopt(", option.Name(*family), ")");
    return internal::PosixError(err, op.c_str());
  }
  return value;
}

}  // namespace

absl::StatusOr<int> OpenMulticastReceiver(const SocketAddress& group,
                                          const MulticastReceiverOptions& options) {
  if (absl::Status s = CheckGroup(group.family(), group); !s.ok()) return s;
  SocketAddress bind_to = group;
  if (group.family() == AF_INET6 && group.scope_id() == 0) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(group.get());
    if (IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr) || IN6_IS_ADDR_MC_NODELOCAL(&sin6->sin6_addr)) {
      if (options.interface == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("link-local group ", group.IpString(),
                         " needs an interface: a zone ([group%eth0]:port) or options.interface"));
      }
      if (absl::Status s = CheckInterface(options.interface); !s.ok()) return s;
      bind_to.set_scope_id(options.interface);
    }
  }
  absl::StatusOr<int> fd = OpenUdpSocket(bind_to, options.udp);
  if (!fd.ok()) return fd;
  if (absl::Status s = SetMulticastAll(*fd, false); !s.ok() && !absl::IsUnimplemented(s)) {
    close(*fd);
    return s;
  }
  return fd;
}

absl::Status JoinGroup(int fd, const SocketAddress& group, unsigned interface) {
  return Membership(fd, MCAST_JOIN_GROUP, "MCAST_JOIN_GROUP", group, nullptr, interface);
}

absl::Status LeaveGroup(int fd, const SocketAddress& group, unsigned interface) {
  return Membership(fd, MCAST_LEAVE_GROUP, "MCAST_LEAVE_GROUP", group, nullptr, interface);
}

absl::Status JoinSourceGroup(int fd, const SocketAddress& group, const SocketAddress& source,
                             unsigned interface) {
  return Membership(fd, MCAST_JOIN_SOURCE_GROUP, "MCAST_JOIN_SOURCE_GROUP", group, &source,
                    interface);
}

absl::Status LeaveSourceGroup(int fd, const SocketAddress& group, const SocketAddress& source,
                              unsigned interface) {
  return Membership(fd, MCAST_LEAVE_SOURCE_GROUP, "MCAST_LEAVE_SOURCE_GROUP", group, &source,
                    interface);
}

absl::Status BlockSource(int fd, const SocketAddress& group, const SocketAddress& source,
                         unsigned interface) {
  return Membership(fd, MCAST_BLOCK_SOURCE, "MCAST_BLOCK_SOURCE", group, &source, interface);
}

absl::Status UnblockSource(int fd, const SocketAddress& group, const SocketAddress& source,
                           unsigned interface) {
  return Membership(fd, MCAST_UNBLOCK_SOURCE, "MCAST_UNBLOCK_SOURCE", group, &source, interface);
}

absl::Status SetMulticastAll(int fd, bool on) {
#if defined(IP_MULTICAST_ALL) && defined(IPV6_MULTICAST_ALL)
  absl::Status s = SetOption(fd, kAll, on ? 1 : 0);
  // Kernels before 4.20 have no IPV6_MULTICAST_ALL: they always deliver all.
  if (internal::ErrnoOf(s) == ENOPROTOOPT) {
    return absl::UnimplementedError("IPV6_MULTICAST_ALL: not supported by this kernel");
  }
  return s;
#else
  (void)fd;
  (void)on;
  return absl::UnimplementedError("IP_MULTICAST_ALL: not on this system");
#endif
}

absl::StatusOr<int> OpenMulticastSender(const SocketAddress& local,
                                        const MulticastSenderOptions& options) {
  if (options.ttl < 0 || options.ttl > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("multicast TTL ", options.ttl, " not in 0..255"));
  }
  if (absl::Status s = CheckInterface(options.interface); !s.ok()) return s;
  absl::StatusOr<int> fd = OpenUdpSocket(local, options.udp);
  if (!fd.ok()) return fd;
  absl::Status s;
  if (options.interface != 0) s = SetMulticastInterface(*fd, options.interface);
  if (s.ok()) s = SetMulticastTtl(*fd, options.ttl);
  if (s.ok()) s = SetMulticastLoopback(*fd, options.loopback);
  if (!s.ok()) {
    close(*fd);
    return s;
  }
  return fd;
}

absl::Status SetMulticastInterface(int fd, unsigned interface) {
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("IP_MULTICAST_IF: bad fd ", fd));
  if (absl::Status s = CheckInterface(interface); !s.ok()) return s;
  absl::StatusOr<int> family = FamilyOf(fd);
  if (!family.ok()) return family.status();
  int rc;
  if (*family == AF_INET) {
    // By index (struct ip_mreqn: Linux and FreeBSD), not by the interface's
    // address, which an interface need not have.
    ip_mreqn req{};
    req.imr_ifindex = static_cast<int>(interface);
    rc = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &req, sizeof(req));
  } else {
    rc = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &interface, sizeof(interface));
  }
  if (rc != 0) {
    const int err = errno;
    const std::string op = absl::StrCat("setsockopt(IP_MULTICAST_IF if ", interface, ")");
    return internal::PosixError(err, op.c_str());
  }
  return absl::OkStatus();
}

absl::Status SetMulticastTtl(int fd, int ttl) {
  if (ttl < 0 || ttl > 255) {
    return absl::InvalidArgumentError(absl::StrCat("multicast TTL ", ttl, " not in 0..255"));
  }
  return SetOption(fd, kTtl, ttl);
}

absl::StatusOr<int> MulticastTtl(int fd) { return GetOption(fd, kTtl); }

absl::Status SetMulticastLoopback(int fd, bool on) { return SetOption(fd, kLoop, on ? 1 : 0); }

absl::StatusOr<bool> MulticastLoopback(int fd) {
  absl::StatusOr<int> v = GetOption(fd, kLoop);
  if (!v.ok()) return v.status();
  return *v != 0;
}

}  // namespace gaio::net
