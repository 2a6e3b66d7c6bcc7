// gaio::net::SocketAddress: an IPv4 or IPv6 address with a port, parsed from
// numeric text ("239.1.2.3:5000", "[ff02::1%lo]:5000") and usable wherever the
// socket API takes a `const sockaddr*` and a length. Also InterfaceIndex(),
// which resolves a network interface given by name or by number.
//
// Numeric only: no name resolution (DNS) happens here, so nothing blocks.
// A SocketAddress is a plain value (copyable, 132 bytes); every function is
// thread-safe. Nothing throws: bad text is an InvalidArgument status, an
// interface that does not exist is NotFound.
#ifndef GAIO_NET_ADDRESS_H_
#define GAIO_NET_ADDRESS_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gaio::net {

class SocketAddress {
 public:
  // Empty: family() is AF_UNSPEC, size() is 0.
  SocketAddress() = default;

  // "a.b.c.d:port" or "[ipv6]:port"; an IPv6 address may carry a zone,
  // "[ff02::1%lo]:5000" or "[fe80::1%2]:5000" (interface name or index,
  // resolved at once: NotFound when no such interface). Port 0..65535.
  // InvalidArgument for anything else (a missing port, a host name, brackets
  // around IPv4, junk after the port).
  static absl::StatusOr<SocketAddress> Parse(absl::string_view text);

  // `ip` without a port ("127.0.0.1", "::1", "ff02::1%lo") and `port`.
  static absl::StatusOr<SocketAddress> FromIp(absl::string_view ip, uint16_t port);

  // A copy of an AF_INET or AF_INET6 sockaddr of `len` bytes (what
  // recvfrom/getsockname or OpResult::peer give). InvalidArgument for a null
  // pointer, another family or a length too short for the family.
  static absl::StatusOr<SocketAddress> FromSockaddr(const sockaddr* addr, socklen_t len);

  // The wildcard address of `family` (AF_INET: 0.0.0.0, AF_INET6: ::) and
  // `port`; an empty SocketAddress for any other family.
  static SocketAddress Any(int family, uint16_t port = 0);

  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  void set_port(uint16_t port);
  // IPv6 zone (interface index); 0 for IPv4 and for addresses without one.
  uint32_t scope_id() const;
  void set_scope_id(uint32_t scope_id);  // no effect on IPv4
  bool is_multicast() const;             // 224.0.0.0/4 or ff00::/8
  bool is_wildcard() const;              // 0.0.0.0 or ::

  // For the socket calls: bind(fd, a.get(), a.size()).
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const { return size_; }

  // "1.2.3.4:80", "[ff02::1%1]:80" (zone as a number); "" when empty.
  // Parse(ToString()) gives back an equal address.
  std::string ToString() const;
  // The address alone: "1.2.3.4", "ff02::1%1".
  std::string IpString() const;

  // Same family, address, port (and IPv6 scope id).
  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  sockaddr_storage storage_{};
  socklen_t size_ = 0;
};

// The index of a network interface given by name ("lo", "eth0") or by its
// decimal index ("1"). "" is 0: no interface, the kernel picks one by its
// routes. NotFound when no interface has that name or index.
absl::StatusOr<unsigned> InterfaceIndex(absl::string_view name_or_index);

}  // namespace gaio::net

#endif  // GAIO_NET_ADDRESS_H_
