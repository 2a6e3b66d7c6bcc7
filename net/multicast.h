// UDP multicast for IPv4 and IPv6, modelled on Sonic's multicast peer:
// open a receiver bound to group:port and join the group (any source, or
// source-specific), leave it, block sources; open a sender with its outbound
// interface, TTL (hop limit) and loopback. The sockets are plain fds: submit
// recv_from/send_to on them to a gaio::Watcher, or use them directly.
//
//   auto group = SocketAddress::Parse("239.1.2.3:5000");
//   auto lo = InterfaceIndex("lo");
//   auto fd = OpenMulticastReceiver(*group);        // bound to 239.1.2.3:5000
//   JoinGroup(*fd, *group, *lo);                     // start receiving
//   watcher.recv_from(ctx, *fd, buf);                // the Watcher owns fd now
//
// Group and source are SocketAddresses whose port is ignored (a group's port
// is the receiver's bind). `interface` is an interface index (InterfaceIndex
// turns "eth0" into one); 0 lets the kernel pick by its routes, and for an
// IPv6 group a zone in the address ([ff02::1%eth0]:5000) stands for it. The
// socket's family (IPv4 or IPv6) is read from the fd and must match the
// addresses'.
//
// Errors: nothing throws, nothing crashes on bad input. InvalidArgument for
// a bad fd, a group that is not multicast, a multicast source, a family
// mismatch or a TTL outside 0..255; NotFound for an interface index no
// interface has; otherwise the errno status of the failed call (ErrnoOf in
// watcher/op_result.h returns the errno), its message naming the call and
// its arguments, e.g. "setsockopt(MCAST_JOIN_GROUP 239.1.2.3 if 1): Address
// already in use" for a second join. Functions that open a socket leave no
// fd open on failure; the others change nothing on failure. All are
// thread-safe (they act on the fd only). Linux is where they are tested.
#ifndef GAIO_NET_MULTICAST_H_
#define GAIO_NET_MULTICAST_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/address.h"
#include "net/udp.h"

namespace gaio::net {

// ---- Receiving

struct MulticastReceiverOptions {
  // The interface an IPv6 link-local group (ff02::/16, ff01::/16) is bound
  // on when it has no zone; unused otherwise.
  unsigned interface = 0;
  // Socket options. By default several receivers may bind the same
  // group:port (SO_REUSEADDR + SO_REUSEPORT), and each gets every datagram.
  UdpOptions udp = {.reuse_address = true, .reuse_port = true};
};

// A UDP socket bound to group:port, so that it gets only datagrams sent to
// that group and port. On Linux IP_MULTICAST_ALL (IPV6_MULTICAST_ALL) is
// turned off: the socket gets only the groups it joined itself, not those
// other sockets of the host joined (Linux's default). Joins nothing: call
// JoinGroup or JoinSourceGroup. The caller owns the fd.
// InvalidArgument when group is not a multicast address, or is an IPv6
// link-local group with neither a zone nor options.interface.
absl::StatusOr<int> OpenMulticastReceiver(const SocketAddress& group,
                                          const MulticastReceiverOptions& options = {});

// Any-source membership (MCAST_JOIN_GROUP / MCAST_LEAVE_GROUP, RFC 3678):
// after JoinGroup, datagrams sent to the group from any source reach fd; after
// LeaveGroup, none does. Joining twice is an error (EADDRINUSE), as is
// leaving a group not joined (EADDRNOTAVAIL).
absl::Status JoinGroup(int fd, const SocketAddress& group, unsigned interface = 0);
absl::Status LeaveGroup(int fd, const SocketAddress& group, unsigned interface = 0);

// Source-specific membership (MCAST_JOIN_SOURCE_GROUP /
// MCAST_LEAVE_SOURCE_GROUP): only datagrams from `source` (an address of the
// sending host, port ignored) reach fd. Join several sources one call each;
// leaving the last one leaves the group. Not to be mixed with JoinGroup on
// the same group and fd (the kernel refuses: EADDRINUSE).
absl::Status JoinSourceGroup(int fd, const SocketAddress& group, const SocketAddress& source,
                             unsigned interface = 0);
absl::Status LeaveSourceGroup(int fd, const SocketAddress& group, const SocketAddress& source,
                              unsigned interface = 0);

// After JoinGroup: stop (MCAST_BLOCK_SOURCE) or resume (MCAST_UNBLOCK_SOURCE)
// receiving the group's datagrams from `source`.
absl::Status BlockSource(int fd, const SocketAddress& group, const SocketAddress& source,
                         unsigned interface = 0);
absl::Status UnblockSource(int fd, const SocketAddress& group, const SocketAddress& source,
                           unsigned interface = 0);

// IP_MULTICAST_ALL / IPV6_MULTICAST_ALL (Linux): whether a socket bound to a
// wildcard address gets the groups other sockets joined. OpenMulticastReceiver
// turns it off. Unimplemented where the system has no such option.
absl::Status SetMulticastAll(int fd, bool on);

// ---- Sending

struct MulticastSenderOptions {
  // IP_MULTICAST_IF / IPV6_MULTICAST_IF: the interface datagrams to a group
  // leave by. 0: the kernel routes them (and fails with ENETUNREACH where no
  // route covers the group).
  unsigned interface = 0;
  // IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS, 0..255. 1 (the system default)
  // keeps datagrams on the local network; 0 keeps them on this host.
  int ttl = 1;
  // IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: whether receivers on this host
  // get the datagrams too (the system default, on). See docs/DATAGRAMS.md
  // for the loopback interface, where the device itself delivers them.
  bool loopback = true;
  UdpOptions udp;
};

// A UDP socket bound to `local` (SocketAddress::Any(AF_INET) for any address
// and port; a specific address makes it the datagrams' source) with the
// multicast options set. The caller owns the fd.
absl::StatusOr<int> OpenMulticastSender(const SocketAddress& local,
                                        const MulticastSenderOptions& options = {});

absl::Status SetMulticastInterface(int fd, unsigned interface);
absl::Status SetMulticastTtl(int fd, int ttl);
absl::StatusOr<int> MulticastTtl(int fd);
absl::Status SetMulticastLoopback(int fd, bool on);
absl::StatusOr<bool> MulticastLoopback(int fd);

}  // namespace gaio::net

#endif  // GAIO_NET_MULTICAST_H_
