// Shared by the two processes of the soak (tests/soak_main.cc): the message
// bytes, message sizes, and memory/fd measurements.
#ifndef GAIO_TESTS_SOAK_COMMON_H_
#define GAIO_TESTS_SOAK_COMMON_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "absl/time/time.h"

namespace gaio::soak {

// Largest message; both sides size their buffers for it.
inline constexpr size_t kMaxMessage = 16 * 1024;

// The server frees a connection whose next message does not come within
// this; a few client connections idle longer on purpose. An active
// connection must never time out: with 10k connections echoing flat out on
// 2 cores the slowest round trip takes about 1 s.
inline constexpr absl::Duration kServerIdleTimeout = absl::Seconds(5);

// A message is a slice of this pattern, [offset, offset + size).
const std::string& MessageBytes();  // 1 MiB + kMaxMessage bytes

// 70% up to 512 bytes, 25% up to 4 KiB, 5% up to kMaxMessage.
size_t PickMessageSize(std::mt19937_64& rng);

// VmRSS of `pid` (0: this process) in KiB, or -1.
long RssKiB(pid_t pid = 0);

}  // namespace gaio::soak

#endif  // GAIO_TESTS_SOAK_COMMON_H_
