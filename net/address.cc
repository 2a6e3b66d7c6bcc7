#include "net/address.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gaio::net {
namespace {

sockaddr_in* V4(sockaddr_storage* s) { return reinterpret_cast<sockaddr_in*>(s); }
const sockaddr_in* V4(const sockaddr_storage* s) { return reinterpret_cast<const sockaddr_in*>(s); }
sockaddr_in6* V6(sockaddr_storage* s) { return reinterpret_cast<sockaddr_in6*>(s); }
const sockaddr_in6* V6(const sockaddr_storage* s) {
  return reinterpret_cast<const sockaddr_in6*>(s);
}

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status BadAddress(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("address \"", text, "\": ", why));
}

}  // namespace

absl::StatusOr<unsigned> InterfaceIndex(absl::string_view name_or_index) {
  if (name_or_index.empty()) return 0u;
  char name[IF_NAMESIZE];
  if (AllDigits(name_or_index)) {
    unsigned index = 0;
    if (absl::SimpleAtoi(name_or_index, &index) && index > 0 &&
        if_indextoname(index, name) != nullptr) {
      return index;
    }
    return absl::NotFoundError(absl::StrCat("no network interface with index ", name_or_index));
  }
  if (name_or_index.size() < IF_NAMESIZE) {
    const std::string copy(name_or_index);
    if (const unsigned index = if_nametoindex(copy.c_str()); index != 0) return index;
  }
  return absl::NotFoundError(absl::StrCat("no network interface named \"", name_or_index, "\""));
}

absl::StatusOr<SocketAddress> SocketAddress::FromIp(absl::string_view ip, uint16_t port) {
  SocketAddress a;
  std::string host(ip.substr(0, ip.find('%')));
  if (host.find(':') == std::string::npos) {
    if (host.size() != ip.size()) return BadAddress(ip, "a zone (%...) needs an IPv6 address");
    sockaddr_in* sin = V4(&a.storage_);
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) {
      return BadAddress(ip, "not a numeric IPv4 or IPv6 address");
    }
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    a.size_ = sizeof(sockaddr_in);
    return a;
  }
  sockaddr_in6* sin6 = V6(&a.storage_);
  if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) {
    return BadAddress(ip, "not a numeric IPv6 address");
  }
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  a.size_ = sizeof(sockaddr_in6);
  if (host.size() != ip.size()) {
    const absl::string_view zone = ip.substr(host.size() + 1);
    if (zone.empty()) return BadAddress(ip, "empty zone after %");
    absl::StatusOr<unsigned> index = InterfaceIndex(zone);
    if (!index.ok()) return index.status();
    sin6->sin6_scope_id = *index;
  }
  return a;
}

absl::StatusOr<SocketAddress> SocketAddress::Parse(absl::string_view text) {
  absl::string_view ip, port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) return BadAddress(text, "no closing ]");
    ip = text.substr(1, close - 1);
    if (ip.find(':') == absl::string_view::npos) {
      return BadAddress(text, "brackets are for IPv6 addresses");
    }
    if (text.size() < close + 2 || text[close + 1] != ':') {
      return BadAddress(text, "expected ]:port");
    }
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.find(':');
    if (colon == absl::string_view::npos) return BadAddress(text, "no :port");
    if (text.find(':', colon + 1) != absl::string_view::npos) {
      return BadAddress(text, "write an IPv6 address as [address]:port");
    }
    ip = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  uint32_t port = 0;
  if (!AllDigits(port_text) || !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return BadAddress(text, "the port must be a number in 0..65535");
  }
  return FromIp(ip, static_cast<uint16_t>(port));
}

absl::StatusOr<SocketAddress> SocketAddress::FromSockaddr(const sockaddr* addr, socklen_t len) {
  if (addr == nullptr) return absl::InvalidArgumentError("null sockaddr");
  SocketAddress a;
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    a.size_ = sizeof(sockaddr_in);
  } else if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    a.size_ = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 or IPv6 sockaddr (family ",
                                                   addr->sa_family, ", ", len, " bytes)"));
  }
  std::memcpy(&a.storage_, addr, a.size_);
  return a;
}

SocketAddress SocketAddress::Any(int family, uint16_t port) {
  SocketAddress a;
  if (family == AF_INET) {
    V4(&a.storage_)->sin_family = AF_INET;
    V4(&a.storage_)->sin_addr.s_addr = htonl(INADDR_ANY);
    V4(&a.storage_)->sin_port = htons(port);
    a.size_ = sizeof(sockaddr_in);
  } else if (family == AF_INET6) {
    V6(&a.storage_)->sin6_family = AF_INET6;
    V6(&a.storage_)->sin6_addr = in6addr_any;
    V6(&a.storage_)->sin6_port = htons(port);
    a.size_ = sizeof(sockaddr_in6);
  }
  return a;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(V4(&storage_)->sin_port);
  if (family() == AF_INET6) return ntohs(V6(&storage_)->sin6_port);
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (family() == AF_INET) V4(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) V6(&storage_)->sin6_port = htons(port);
}

uint32_t SocketAddress::scope_id() const {
  return family() == AF_INET6 ? V6(&storage_)->sin6_scope_id : 0;
}

void SocketAddress::set_scope_id(uint32_t scope_id) {
  if (family() == AF_INET6) V6(&storage_)->sin6_scope_id = scope_id;
}

bool SocketAddress::is_multicast() const {
  if (family() == AF_INET) return IN_MULTICAST(ntohl(V4(&storage_)->sin_addr.s_addr));
  if (family() == AF_INET6) return IN6_IS_ADDR_MULTICAST(&V6(&storage_)->sin6_addr);
  return false;
}

bool SocketAddress::is_wildcard() const {
  if (family() == AF_INET) return V4(&storage_)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (family() == AF_INET6) return IN6_IS_ADDR_UNSPECIFIED(&V6(&storage_)->sin6_addr);
  return false;
}

std::string SocketAddress::IpString() const {
  char buf[INET6_ADDRSTRLEN];
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &V4(&storage_)->sin_addr, buf, sizeof(buf));
    return buf;
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &V6(&storage_)->sin6_addr, buf, sizeof(buf));
    if (scope_id() != 0) return absl::StrCat(buf, "%", scope_id());
    return buf;
  }
  return "";
}

std::string SocketAddress::ToString() const {
  if (family() == AF_INET) return absl::StrCat(IpString(), ":", port());
  if (family() == AF_INET6) return absl::StrCat("[", IpString(), "]:", port());
  return "";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family() || a.port() != b.port()) return false;
  if (a.family() == AF_INET) {
    return V4(&a.storage_)->sin_addr.s_addr == V4(&b.storage_)->sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    return std::memcmp(&V6(&a.storage_)->sin6_addr, &V6(&b.storage_)->sin6_addr,
                       sizeof(in6_addr)) == 0 &&
           a.scope_id() == b.scope_id();
  }
  return true;  // both empty
}

}  // namespace gaio::net
