// resolve(): name resolution on the loop's Watcher, over c-ares.
//
//   absl::StatusOr<std::vector<SocketAddress>> a =
//       co_await resolve("example.com", "443", absl::Now() + absl::Seconds(5));
//
// A lookup is driven by the loop thread alone: c-ares's sockets are waited
// on with Watcher readiness requests and its retransmissions with a Watcher
// timer (no thread per lookup, no blocking call; docs/CORO.md, "Names").
// /etc/hosts is read first unless ResolverOptions::use_hosts_file is false.
// A numeric host ("127.0.0.1", "::1", "[::1]") with a numeric service
// returns its one address at once, without c-ares; with a service name
// ("http", looked up in /etc/services) c-ares maps the name only.
//
// Results, in the order to try them (c-ares sorts them by RFC 6724), at most
// kMaxResolvedAddresses (the rest of a larger answer is dropped), or:
//   InvalidArgument   empty host, a name longer than 253 bytes, an empty
//                     label or one longer than 63 bytes, a byte other than
//                     [A-Za-z0-9-_.], a bad service, a bad server or family
//                     in the options (all before any query is sent)
//   NotFound          NXDOMAIN, or the name has no address of the family
//   Unavailable       SERVFAIL, REFUSED, no server reachable (a truncated
//                     UDP answer whose TCP retry is refused; a UDP answer
//                     larger than c-ares reads counts as a failed server)
//   DataLoss          a malformed answer to our question (c-ares EBADRESP,
//                     EFORMERR)
//   DeadlineExceeded  `deadline` passed, or every try timed out (c-ares
//                     ignores a datagram that does not echo our question,
//                     or is too short for a header: that server looks silent)
//   Cancelled         the task was cancelled (the lookup is stopped, its
//                     sockets closed before the co_await returns)
//   ResourceExhausted out of memory; Unknown for any other c-ares error,
//                     with c-ares's message.
//
// Each lookup has its own c-ares channel (its own sockets), created when it
// starts and destroyed before the co_await returns: no state is kept across
// lookups or loops, and nothing is cached. Loop thread only, inside
// EventLoop::run(). The strings are copied (temporaries are fine).
#ifndef GAIO_CORO_RESOLVE_H_
#define GAIO_CORO_RESOLVE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coro/resolver_options.h"
#include "coro/socket.h"
#include "coro/task.h"

namespace gaio::coro {

inline constexpr size_t kMaxResolvedAddresses = 32;
inline constexpr size_t kMaxHostNameLength = 253;

Task<absl::StatusOr<std::vector<SocketAddress>>> resolve(
    std::string host, std::string service, absl::Time deadline = absl::InfiniteFuture(),
    ResolverOptions options = {});

// OK, or InvalidArgument saying what is wrong with `host` as a DNS name
// (the rules above). Synchronous.
absl::Status ValidateHostName(absl::string_view host);

}  // namespace gaio::coro

#endif  // GAIO_CORO_RESOLVE_H_
