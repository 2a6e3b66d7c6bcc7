// Helpers for the tests of //ws: frames built by hand, and a driver that
// feeds bytes to a Session and collects its events as values.
#ifndef GAIO_TESTS_WS_WS_TEST_UTIL_H_
#define GAIO_TESTS_WS_WS_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ws/session.h"

namespace gaio::ws::testing {

// One frame: opcode (raw 4 bits), payload, FIN, RSV bits (RSV1 = 4), masked
// with a fixed key when `masked`.
std::string Frame(uint8_t opcode, absl::string_view payload, bool fin = true, bool masked = true,
                  uint8_t rsv = 0);

struct Received {
  Event::Type type;
  std::string data;
  uint16_t close_code = 0;
  bool zero_copy = false;
};

struct Outcome {
  std::vector<Received> events;
  absl::Status status;  // the first failure of next(), OK if none
};

// Feeds `bytes` in pieces of `piece` bytes (0: all at once), draining next()
// after each; stops at the first failure.
Outcome FeedAll(Session& session, absl::string_view bytes, size_t piece = 0);

// The session's pending output as a string; drains it.
std::string TakeOutput(Session& session);

// Parses frames written by a session (client frames are unmasked): returns
// (opcode, payload) pairs; RSV1 frames are reported with opcode | 0x40.
std::vector<std::pair<int, std::string>> ParseFrames(absl::string_view bytes);

}  // namespace gaio::ws::testing

#endif  // GAIO_TESTS_WS_WS_TEST_UTIL_H_
