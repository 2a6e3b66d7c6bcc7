// A private network namespace for a test process, with interfaces that carry
// multicast: nothing the tests send leaves the machine, and the host's
// interfaces and routes are untouched.
//
// EnterPrivateNetwork() moves the whole calling process into a new network
// namespace (unshare(CLONE_NEWNET); as a fallback, with a new user namespace
// too, for unprivileged users where the system allows that). Call it from
// main() before any thread starts. In the namespace it brings the loopback
// interface up with IFF_MULTICAST and makes a tun device, "gaiomc0", with
// 10.99.0.1/24 and fd00:99::1/64, fd00:99::2/64: a multicast-capable
// interface that is not loopback, so that IP_MULTICAST_LOOP means what it
// means on a real NIC (on lo the device itself delivers every datagram), and
// IPv6 multicast has a route (the kernel turns any route via lo into a
// reject route, so IPv6 multicast cannot use lo). Reading the tun fd shows
// what left "the wire".
#ifndef GAIO_TESTS_PRIVATE_NETWORK_H_
#define GAIO_TESTS_PRIVATE_NETWORK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace gaio::testing {

struct PrivateNetwork {
  // OK when this process is in a namespace of its own with lo up; else why
  // not (with the errno): the tests that need it skip with this message.
  absl::Status status = absl::FailedPreconditionError("EnterPrivateNetwork() was not called");
  unsigned lo = 0;  // interface index of the loopback
  // The tun device: OK with its index and fd (non-blocking), or why there is
  // none (the cases that need it skip with this message).
  absl::Status tun_status = absl::FailedPreconditionError("no private network");
  unsigned tun = 0;
  int tun_fd = -1;
};

// Sets up the namespace (see above) and records the outcome in Network().
void EnterPrivateNetwork();
const PrivateNetwork& Network();

// The IP packets that left by the tun device since the last call (read from
// its fd until it has no more), each as raw bytes.
std::vector<std::string> DrainTunPackets();

}  // namespace gaio::testing

#endif  // GAIO_TESTS_PRIVATE_NETWORK_H_
