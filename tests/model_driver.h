// The model-checked random driver shared by model_test (seeded) and
// watcher_fuzzer (libFuzzer input).
//
// RunModel() builds a Watcher and a few connected pairs (AF_UNIX or TCP), then
// plays a sequence of operations drawn from `Choices`: reads of every kind
// (own buffer, swap buffer, read_full, with and without deadlines), writes
// and write_timeouts, free(), and peer-side writes, reads, half-closes,
// closes and resets, with wait_io()/poll_io() in between. Every completion is
// checked against a reference model:
//   - exactly one completion per accepted request, with its ctx, fd, op and
//     buffer;
//   - per fd and kind, submission order (a DeadlineExceeded without progress
//     may overtake);
//   - the bytes: reads deliver the peer's stream in order with nothing lost
//     or invented; the peer receives exactly the prefixes the writes report;
//   - the status is one the state allows (EOF only after the peer's
//     half-close and only once every byte was delivered, DeadlineExceeded
//     only for requests with a passed deadline, Cancelled only after free or
//     close, ECONNRESET/EPIPE only after a peer close or reset);
//   - swap-buffer bytes stay unchanged until the next wait_io().
// The run ends gracefully (drain everything, free every fd) or abruptly
// (close() with requests pending); either way every request must be reported
// and the process's open fds must be back to where they were.
#ifndef GAIO_TESTS_MODEL_DRIVER_H_
#define GAIO_TESTS_MODEL_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace gaio::model {

// Where the driver's decisions come from.
class Choices {
 public:
  virtual ~Choices() = default;
  // A value in [0, bound); bound >= 1. Returns 0 once exhausted.
  virtual uint32_t Next(uint32_t bound) = 0;
  // True when no more decisions are available (fuzz input consumed).
  virtual bool Exhausted() const = 0;
};

// A seeded pseudo-random source: the same seed gives the same operations.
class SeededChoices : public Choices {
 public:
  explicit SeededChoices(uint64_t seed) : rng_(seed) {}
  uint32_t Next(uint32_t bound) override {
    return static_cast<uint32_t>(rng_() % (bound == 0 ? 1 : bound));
  }
  bool Exhausted() const override { return false; }

 private:
  std::mt19937_64 rng_;
};

// Decisions decoded from fuzz input: a byte per decision under 256 choices,
// two bytes above.
class ByteChoices : public Choices {
 public:
  ByteChoices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint32_t Next(uint32_t bound) override;
  bool Exhausted() const override { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// A fixed list of decisions, for a regression test that must play one exact
// sequence: each Next() takes the next value (which must be below its
// bound), then the run ends.
class ScriptedChoices : public Choices {
 public:
  explicit ScriptedChoices(std::vector<uint32_t> values) : values_(std::move(values)) {}
  uint32_t Next(uint32_t bound) override {
    if (pos_ >= values_.size()) return 0;
    const uint32_t v = values_[pos_++];
    return v < bound ? v : bound - 1;
  }
  bool Exhausted() const override { return pos_ >= values_.size(); }

 private:
  std::vector<uint32_t> values_;
  size_t pos_ = 0;
};

struct DriverOptions {
  // Engine mode (testing::Mode, fault_util.h); -1 lets the choices pick.
  int mode = -1;
  // Operations before the run ends (fewer if the choices run out).
  int max_steps = 300;
  // Deadlines are drawn in [0, max_deadline) from now.
  absl::Duration max_deadline = absl::Milliseconds(20);
  // A wait step calls wait_io() with a timeout in [0, max_wait).
  absl::Duration max_wait = absl::Milliseconds(3);
  // How long the run waits for completions that must come before calling
  // them lost.
  absl::Duration patience = absl::Seconds(20);
  // Operations and completions listed in a failure report.
  size_t trace_lines = 40;
};

struct DriverStats {
  uint64_t requests = 0;     // accepted submissions
  uint64_t completions = 0;  // completions checked
  uint64_t bytes_read = 0;   // bytes delivered by reads and checked
  uint64_t bytes_written = 0;
  uint64_t ok = 0, eof = 0, deadline = 0, cancelled = 0, errors = 0;
  // Requests behind a connect that cancel() ended which completed with
  // DeadlineExceeded: their deadline had come first (a subset of deadline).
  uint64_t deadline_before_cancel = 0;
  // Faults injected.
  uint64_t peer_shutdowns = 0, peer_closes = 0, peer_resets = 0, frees = 0, closes = 0;
  uint64_t steps = 0;

  void Add(const DriverStats& o);
  std::string ToString() const;
};

struct DriverResult {
  bool ok = true;
  std::string failure;  // the first violation, with the last operations
  DriverStats stats;
};

DriverResult RunModel(Choices& choices, const DriverOptions& options);

}  // namespace gaio::model

#endif  // GAIO_TESTS_MODEL_DRIVER_H_
