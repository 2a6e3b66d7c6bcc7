// libFuzzer target: the input is the decision stream of the model driver
// (tests/model_driver.h), which plays it against a Watcher and checks every
// completion against the reference model. A violation aborts with the
// model's report, so libFuzzer saves the input as a crash.
//
//   ./bazelw build --config=fuzz //tests:watcher_fuzzer
//   bazel-bin/tests/watcher_fuzzer -max_total_time=600 CORPUS_DIR
//   GAIO_FUZZ_MODE=0 bazel-bin/tests/watcher_fuzzer INPUT   (mode 0..3 forced)
//
// Built without --config=fuzz, the same file links with fuzz_replay_main.cc
// and replays the inputs named on the command line (files or directories).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/time/time.h"
#include "tests/model_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gaio::model::ByteChoices choices(data, size);
  gaio::model::DriverOptions options;  // the input picks the engine mode,
  // unless GAIO_FUZZ_MODE names one (0..3, testing::Mode): to replay an
  // input in every mode.
  static const int forced_mode = [] {
    const char* v = std::getenv("GAIO_FUZZ_MODE");
    return v != nullptr && *v != '\0' ? std::atoi(v) : -1;
  }();
  options.mode = forced_mode;
  options.max_steps = 256;
  options.max_deadline = absl::Milliseconds(5);
  options.max_wait = absl::Microseconds(500);
  options.patience = absl::Seconds(10);
  gaio::model::DriverResult result = gaio::model::RunModel(choices, options);
  if (!result.ok) {
    std::fprintf(stderr, "gaio model violation: %s\n", result.failure.c_str());
    std::abort();
  }
  return 0;
}
