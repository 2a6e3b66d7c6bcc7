// In-memory drivers for the TLS tests: a client Session and a server Session
// joined by moving ciphertext between them, no sockets.
#ifndef GAIO_TESTS_TLS_SESSION_PAIR_H_
#define GAIO_TESTS_TLS_SESSION_PAIR_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "tls/session.h"

namespace gaio::tls::testing {

struct PairResult {
  absl::Status client = absl::OkStatus();  // the first failure each side reported
  absl::Status server = absl::OkStatus();
  int rounds = 0;
};

// Moves ciphertext between the two until neither has any to send (at most
// 64 rounds), feeding at most `chunk` bytes per feed() call (0: all at once).
// Failures are recorded, not fatal: the alert a failing side queued is still
// delivered to the other.
PairResult Exchange(Session& client, Session& server, size_t chunk = 0);

// All plaintext `session` has buffered, drained.
std::string DrainPlaintext(Session& session);

}  // namespace gaio::tls::testing

#endif  // GAIO_TESTS_TLS_SESSION_PAIR_H_
