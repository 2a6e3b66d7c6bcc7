#include "coro/resolve.h"

#include <arpa/inet.h>

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "coro/internal/ares_lookup.h"

namespace gaio::coro {

namespace {

// "1.2.3.4" / "::1" / "[::1]" with a numeric port, without c-ares; nullopt
// when either is not numeric.
std::optional<SocketAddress> NumericAddress(absl::string_view host, absl::string_view service,
                                            int family) {
  uint32_t port = 0;
  if (!absl::SimpleAtoi(service, &port) || port > 65535) return std::nullopt;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string h(host);
  SocketAddress a;
  if (family != AF_INET6 && inet_pton(AF_INET, h.c_str(), &a.addr.v4.sin_addr) == 1) {
    a.addr.v4.sin_family = AF_INET;
    a.addr.v4.sin_port = htons(static_cast<uint16_t>(port));
    a.len = sizeof(sockaddr_in);
    return a;
  }
  if (family != AF_INET && inet_pton(AF_INET6, h.c_str(), &a.addr.v6.sin6_addr) == 1) {
    a.addr.v6.sin6_family = AF_INET6;
    a.addr.v6.sin6_port = htons(static_cast<uint16_t>(port));
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

// "1.2.3.4", "::1" or "[::1]": the literal without brackets; else nullopt.
std::optional<std::string> IpLiteral(absl::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
  in6_addr buf;
  if (inet_pton(AF_INET, h.c_str(), &buf) == 1 || inet_pton(AF_INET6, h.c_str(), &buf) == 1) {
    return h;
  }
  return std::nullopt;
}

}  // namespace

absl::Status ValidateHostName(absl::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // fully qualified
  if (host.empty()) return absl::InvalidArgumentError("resolve: empty host name");
  if (host.size() > kMaxHostNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("resolve: host name of ", host.size(), " bytes (more than 253)"));
  }
  size_t label = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0) return absl::InvalidArgumentError("resolve: empty label in host name");
      if (label > 63) return absl::InvalidArgumentError("resolve: label longer than 63 bytes");
      label = 0;
      continue;
    }
    const char c = host[i];
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return absl::InvalidArgumentError(absl::StrCat(
          "resolve: byte 0x", absl::Hex(static_cast<unsigned char>(c)), " in host name"));
    }
    ++label;
  }
  return absl::OkStatus();
}

Task<absl::StatusOr<std::vector<SocketAddress>>> resolve(std::string host, std::string service,
                                                         absl::Time deadline,
                                                         ResolverOptions options) {
  if (std::optional<SocketAddress> a = NumericAddress(host, service, options.family)) {
    co_return std::vector<SocketAddress>{*a};
  }
  if (service.empty()) co_return absl::InvalidArgumentError("resolve: empty service");
  if (std::optional<std::string> literal = IpLiteral(host)) {
    host = *std::move(literal);  // with a service name: c-ares maps the service only
  } else if (absl::Status s = ValidateHostName(host); !s.ok()) {
    co_return s;
  }
  internal::AresLookup lookup(std::move(host), std::move(service), options, deadline);
  absl::StatusOr<std::vector<SocketAddress>> r = co_await lookup;
  co_return r;
}

}  // namespace gaio::coro
