// ResolverOptions: how resolve() (resolve.h) and dial() with a name
// (socket.h) look names up. The defaults are the system's: the servers of
// /etc/resolv.conf, /etc/hosts first, both address families.
#ifndef GAIO_CORO_RESOLVER_OPTIONS_H_
#define GAIO_CORO_RESOLVER_OPTIONS_H_

#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace gaio::coro {

struct ResolverOptions {
  // DNS servers, "IPv4[:port]" or "[IPv6][:port]", tried in order; empty:
  // those of /etc/resolv.conf.
  std::vector<std::string> servers;
  // /etc/hosts before DNS (false: DNS only).
  bool use_hosts_file = true;
  // The search list of /etc/resolv.conf (or $LOCALDOMAIN) for names with
  // fewer dots than its ndots (false: the name as given only).
  bool search_domains = true;
  // AF_UNSPEC (IPv6 and IPv4), AF_INET or AF_INET6.
  int family = AF_UNSPEC;
  // c-ares's wait for one server's answer, and how many rounds over the
  // servers it makes; the lookup's deadline bounds the whole lookup anyway.
  absl::Duration attempt_timeout = absl::Seconds(2);
  int tries = 2;
};

}  // namespace gaio::coro

#endif  // GAIO_CORO_RESOLVER_OPTIONS_H_
