#include "coro/socket_address.h"

#include <arpa/inet.h>

#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gaio::coro {

int SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(addr.v4.sin_port);
  if (family() == AF_INET6) return ntohs(addr.v6.sin6_port);
  return 0;
}

std::string SocketAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &addr.v4.sin_addr, buf, sizeof(buf));
    return absl::StrCat(buf, ":", port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &addr.v6.sin6_addr, buf, sizeof(buf));
    return absl::StrCat("[", buf, "]:", port());
  }
  return "";
}

absl::StatusOr<SocketAddress> ParseAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address without a port: '", address, "'"));
  }
  absl::string_view host = address.substr(0, colon);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in '", address, "'"));
  }
  SocketAddress out;
  std::string host_str;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host_str = std::string(host.substr(1, host.size() - 2));
    if (inet_pton(AF_INET6, host_str.c_str(), &out.addr.v6.sin6_addr) == 1) {
      out.addr.v6.sin6_family = AF_INET6;
      out.addr.v6.sin6_port = htons(static_cast<uint16_t>(port));
      out.len = sizeof(sockaddr_in6);
      return out;
    }
  } else {
    host_str = std::string(host);
    if (inet_pton(AF_INET, host_str.c_str(), &out.addr.v4.sin_addr) == 1) {
      out.addr.v4.sin_family = AF_INET;
      out.addr.v4.sin_port = htons(static_cast<uint16_t>(port));
      out.len = sizeof(sockaddr_in);
      return out;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not a numeric IPv4 or [IPv6] address: '", address, "' (no DNS)"));
}

}  // namespace gaio::coro
