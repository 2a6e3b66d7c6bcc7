// The client half of the soak: runs in the child process, keeps
// `connections` TCP connections to the server busy with echo round trips of
// random sizes, idles some of them (a few past the server's idle timeout),
// disconnects and reconnects at random (FIN, RST or half-close first), and
// checks every echoed byte.
#ifndef GAIO_TESTS_SOAK_CLIENT_H_
#define GAIO_TESTS_SOAK_CLIENT_H_

#include <cstdint>

#include "absl/time/time.h"

namespace gaio::soak {

struct ClientOptions {
  int connections = 10000;
  absl::Duration duration = absl::Seconds(60);
  uint64_t seed = 1;
  int port = 0;
};

// Runs the client to the end and prints its summary. Returns 0 when every
// check held, 1 otherwise.
int RunClient(const ClientOptions& options);

}  // namespace gaio::soak

#endif  // GAIO_TESTS_SOAK_CLIENT_H_
