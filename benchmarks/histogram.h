// LatencyHistogram: log-linear buckets (HDR-style, 64 sub-buckets per power
// of two, so <= 1.6% relative error) from 1 ns to ~1 hour, constant memory,
// O(1) record. Percentiles come from bucket counts, not a sorted sample.
#ifndef GAIO_BENCHMARKS_HISTOGRAM_H_
#define GAIO_BENCHMARKS_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstdint>

namespace gaio_bench {

class LatencyHistogram {
 public:
  void Record(uint64_t ns) {
    ++counts_[Index(ns)];
    ++total_;
    if (ns > max_) max_ = ns;
  }
  void Merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    if (o.max_ > max_) max_ = o.max_;
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  // The value at percentile p (0..100): the upper edge of the bucket that
  // holds the p-th percent of samples (never under-reports).
  uint64_t Percentile(double p) const {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(p / 100.0 * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen > rank) {
        uint64_t upper = UpperEdge(i);
        return upper < max_ ? upper : max_;
      }
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 6;  // 64 sub-buckets per power of two
  static constexpr int kMagnitudes = 42;
  static size_t Index(uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<size_t>(v);
    const int magnitude = 63 - std::countl_zero(v);  // >= kSubBits
    const int shift = magnitude - kSubBits;
    const uint64_t sub = (v >> shift) & ((1u << kSubBits) - 1);
    size_t i = (static_cast<size_t>(shift + 1) << kSubBits) + sub;
    return i < kBuckets ? i : kBuckets - 1;
  }
  static uint64_t UpperEdge(size_t i) {
    if (i < (1u << kSubBits)) return i;
    const int shift = static_cast<int>(i >> kSubBits) - 1;
    const uint64_t sub = i & ((1u << kSubBits) - 1);
    return (((uint64_t{1} << kSubBits) | sub) + 1) << shift;
  }
  static constexpr size_t kBuckets = (kMagnitudes + 1) << kSubBits;
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace gaio_bench

#endif  // GAIO_BENCHMARKS_HISTOGRAM_H_
