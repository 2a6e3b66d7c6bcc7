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

}  // namespace
}  // namespace gaio::model
