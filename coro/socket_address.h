// SocketAddress and ParseAddress(): the numeric IPv4 / IPv6 socket addresses
// of socket.h (dial, listen, Socket::local_address, peer_address).
//
// Addresses are numeric, "IPv4:port" or "[IPv6]:port": "127.0.0.1:8080",
// "[::1]:0". ParseAddress() gives InvalidArgument for anything else (no
// names: dial() resolves those, resolve.h). A SocketAddress is a plain value:
// copy it freely, from any thread.
#ifndef GAIO_CORO_SOCKET_ADDRESS_H_
#define GAIO_CORO_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gaio::coro {

// A numeric socket address (IPv4 or IPv6).
struct SocketAddress {
  union {
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr{};
  socklen_t len = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr); }
  int family() const { return get()->sa_family; }
  int port() const;
  std::string ToString() const;  // "127.0.0.1:80", "[::1]:80"
};
// Parses "a.b.c.d:port" or "[v6]:port"; InvalidArgument otherwise.
absl::StatusOr<SocketAddress> ParseAddress(absl::string_view address);

}  // namespace gaio::coro

#endif  // GAIO_CORO_SOCKET_ADDRESS_H_
