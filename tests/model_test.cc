// The model-checked random test: seeded sequences of reads, writes,
// deadlines, free() and peer faults, every completion checked against the
// reference model of model_driver.h, in the three engine modes.
//
// Reproduce a failure with the seed it prints:
//   bazel test //tests:model_test --test_env=GAIO_MODEL_SEED=<seed>
// Run longer: --test_env=GAIO_MODEL_RUNS=<seeds per mode> (from
// GAIO_MODEL_FIRST_SEED, default 1). Longer failure reports:
// --test_env=GAIO_MODEL_TRACE=<lines>.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/fault_util.h"
#include "tests/model_driver.h"

namespace gaio::model {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::vector<uint64_t> Seeds() {
  if (std::getenv("GAIO_MODEL_SEED") != nullptr) return {EnvOr("GAIO_MODEL_SEED", 1)};
  const uint64_t first = EnvOr("GAIO_MODEL_FIRST_SEED", 1);
  const uint64_t runs = EnvOr("GAIO_MODEL_RUNS", 12);
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < runs; ++i) seeds.push_back(first + i);
  return seeds;
}

class Model : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Modes, Model, ::testing::ValuesIn(testing::kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return testing::ModeName(info.param);
                         });

TEST_P(Model, RandomOperationsMatchTheReferenceModel) {
  DriverStats total;
  for (uint64_t seed : Seeds()) {
    SeededChoices choices(seed);
    DriverOptions options;
    options.mode = GetParam();
    options.max_steps = 400;
    options.trace_lines = EnvOr("GAIO_MODEL_TRACE", 40);
    DriverResult r = RunModel(choices, options);
    total.Add(r.stats);
    ASSERT_TRUE(r.ok) << "seed " << seed << ", mode " << GetParam()
                      << " (rerun: --test_env=GAIO_MODEL_SEED=" << seed << "):\n"
                      << r.failure;
  }
  std::printf("model, mode %d: %s\n", GetParam(), total.ToString().c_str());
  EXPECT_GT(total.completions, 0u);
}

// Issue 24, the fuzzer's report played as one exact sequence in
// caller-driven mode (where only the test's own calls expire deadlines): a
// TCP conn made by connect() (pending until polled), a read behind it whose
// deadline has passed, a zero-delay timer (after() expires every due
// deadline: the read's DeadlineExceeded is queued), then cancel() of the
// connect. The read keeps its DeadlineExceeded; the model must accept it.
TEST(ModelRegression, DeadlineExpiredBeforeACancelledConnectStands) {
  ScriptedChoices choices({
      2, 1, 0,     // swap 4096 bytes, graceful end, one conn
      0, 0,        // tcp, made by connect()
      0, 0, 4, 0,  // step: read on c0, deadline in the past, len 1
      100, 0, 1,   // step: timer, zero delay
      105, 0, 1,   // step: cancel on c0: pick #1 (the connect; after the read)
  });
  DriverOptions options;
  options.mode = testing::kCallerDriven;
  DriverResult r = RunModel(choices, options);
  ASSERT_TRUE(r.ok) << r.failure;
  EXPECT_EQ(r.stats.deadline_before_cancel, 1u) << r.stats.ToString();
  EXPECT_EQ(r.stats.deadline, 1u) << r.stats.ToString();
}

}  // namespace
}  // namespace gaio::model
