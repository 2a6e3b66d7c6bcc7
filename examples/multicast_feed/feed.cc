#include "examples/multicast_feed/feed.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <ctime>

namespace feed {

int64_t NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

void Put64(uint64_t v, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
}

uint64_t Get64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

}  // namespace

void Encode(uint64_t seq, int64_t sent_ns, char* out) {
  Put64(seq, out);
  Put64(static_cast<uint64_t>(sent_ns), out + 8);
}

void Decode(const char* in, uint64_t* seq, int64_t* sent_ns) {
  *seq = Get64(in);
  *sent_ns = static_cast<int64_t>(Get64(in + 8));
}

void Histogram::Record(int64_t ns) {
  const uint64_t v = ns > 0 ? static_cast<uint64_t>(ns) : 0;
  size_t i;
  if (v < (1u << kSub)) {
    i = static_cast<size_t>(v);
  } else {
    const int shift = (63 - std::countl_zero(v)) - kSub;
    i = (static_cast<size_t>(shift + 1) << kSub) + ((v >> shift) & ((1u << kSub) - 1));
  }
  ++buckets_[i < kBuckets ? i : kBuckets - 1];
  ++count_;
  if (ns > max_) max_ = ns;
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  if (other.max_ > max_) max_ = other.max_;
}

int64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(p / 100.0 * static_cast<double>(count_));
  if (rank >= count_) rank = count_ - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen <= rank) continue;
    if (i < (1u << kSub)) return static_cast<int64_t>(i);
    const int shift = static_cast<int>(i >> kSub) - 1;
    const uint64_t upper = (((uint64_t{1} << kSub) | (i & ((1u << kSub) - 1))) + 1) << shift;
    return std::min<int64_t>(static_cast<int64_t>(upper), max_);
  }
  return max_;
}

void FeedStats::OnMessage(uint64_t seq, int64_t latency_ns) {
  received_.fetch_add(1, std::memory_order_relaxed);
  latency_.Record(latency_ns);
  const uint64_t next = next_.load(std::memory_order_relaxed);
  if (seq >= next) {
    if (seq > next) {  // skipped next .. seq-1: a gap (they may still come, late)
      gaps_.fetch_add(1, std::memory_order_relaxed);
      missing_.fetch_add(seq - next, std::memory_order_relaxed);
      for (uint64_t s = next; s < seq && s < next + kWindow; ++s) seen_[s % kWindow] = false;
    }
    seen_[seq % kWindow] = true;
    next_.store(seq + 1, std::memory_order_relaxed);
  } else if (next - seq > kWindow || seen_[seq % kWindow]) {
    duplicates_.fetch_add(1, std::memory_order_relaxed);  // (or too late to tell)
  } else {  // one of a gap's, late: it is no longer missing
    seen_[seq % kWindow] = true;
    reordered_.fetch_add(1, std::memory_order_relaxed);
    missing_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Consume(const char* data, size_t size, FeedStats* stats) {
  if (size < kHeader) {
    stats->OnMalformed();
    return;
  }
  uint64_t seq;
  int64_t sent_ns;
  Decode(data, &seq, &sent_ns);
  stats->OnMessage(seq, NowNanos() - sent_ns);
}

}  // namespace feed
