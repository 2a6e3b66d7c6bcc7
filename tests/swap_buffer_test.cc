// The swap buffer: validity until the next wait_io(), bounded memory, no tiny
// reads, and no readiness lost while reads wait for space.
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::FdPair;
using ::gaio::testing::Pattern;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WriteAll;

int BytesQueued(int fd) {
  int n = -1;
  ioctl(fd, FIONREAD, &n);
  return n;
}

Watcher Make(int pollers, size_t swap) {
  WatcherOptions o;
  o.num_pollers = pollers;
  o.swap_buffer_size = swap;
  absl::StatusOr<Watcher> w = Watcher::Create(o);
  EXPECT_TRUE(w.ok()) << w.status();
  return *std::move(w);
}

TEST(SwapBuffer, BytesStayUnchangedUntilTheNextWaitIo) {
  Watcher w = Make(1, 4096);
  absl::StatusOr<FdPair> first = UnixPair();
  ASSERT_TRUE(first.ok());
  const std::string original = Pattern(1000, 1);
  GAIO_ASSERT_OK(WriteAll(first->peer, original));
  GAIO_ASSERT_OK(w.read(nullptr, first->watched, nullptr));
  absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io();
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  const OpResult held = (*batch)[0];
  ASSERT_TRUE(held.is_swap_buffer);
  ASSERT_EQ(std::string(held.buffer.data(), held.size), original);

  // While the batch is held, many more swap reads complete (in the poller
  // thread, into swap memory) ...
  std::vector<FdPair> more;
  for (int i = 0; i < 30; ++i) {  // 3000 bytes: fits the free half
    absl::StatusOr<FdPair> p = UnixPair();
    ASSERT_TRUE(p.ok());
    GAIO_ASSERT_OK(WriteAll(p->peer, Pattern(100, 100 + i)));
    GAIO_ASSERT_OK(w.read(reinterpret_cast<void*>(i + 1), p->watched, nullptr));
    more.push_back(*p);
  }
  for (const FdPair& p : more) {
    const absl::Time give_up = absl::Now() + testing::kPatience;
    while (BytesQueued(p.watched) != 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
    ASSERT_EQ(BytesQueued(p.watched), 0);
  }
  // ... and the held bytes are untouched.
  EXPECT_EQ(std::string(held.buffer.data(), held.size), original);

  std::map<intptr_t, std::string> got;
  while (got.size() < more.size()) {
    batch = w.wait_io(testing::kPatience);
    ASSERT_TRUE(batch.ok());
    ASSERT_FALSE(batch->empty());
    for (const OpResult& r : *batch) {
      got[reinterpret_cast<intptr_t>(r.ctx)] = std::string(r.buffer.data(), r.size);
    }
  }
  for (int i = 0; i < 30; ++i) EXPECT_EQ(got[i + 1], Pattern(100, 100 + i)) << i;
  for (const FdPair& p : more) close(p.peer);
  close(first->peer);
}

// 100 connections with 1000 bytes each and a 4 KiB swap buffer: every read
// gets its whole message (no tiny reads), every batch stays within the swap
// bound, and the reads that wait for space are not lost.
TEST(SwapBuffer, BoundedPerBatchWithoutTinyReadsOrLostReadiness) {
  for (int pollers : {0, 1, 2}) {
    SCOPED_TRACE(pollers);
    const size_t kSwap = 4096;
    Watcher w = Make(pollers, kSwap);
    std::vector<FdPair> pairs;
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<FdPair> p = UnixPair();
      ASSERT_TRUE(p.ok());
      GAIO_ASSERT_OK(WriteAll(p->peer, Pattern(1000, i)));
      pairs.push_back(*p);
    }
    for (int i = 0; i < 100; ++i) {
      GAIO_ASSERT_OK(w.read(reinterpret_cast<void*>(i), pairs[i].watched, nullptr));
    }
    std::map<intptr_t, std::string> got;
    const absl::Time give_up = absl::Now() + testing::kPatience;
    while (got.size() < pairs.size() && absl::Now() < give_up) {
      absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(1));
      ASSERT_TRUE(batch.ok());
      size_t swap_bytes_per_poller[2] = {0, 0};
      for (const OpResult& r : *batch) {
        GAIO_ASSERT_OK(r.status);
        ASSERT_TRUE(r.is_swap_buffer);
        EXPECT_EQ(r.size, 1000u);  // the whole message in one read
        swap_bytes_per_poller[pollers > 1 ? r.fd % pollers : 0] += r.size;
        const intptr_t id = reinterpret_cast<intptr_t>(r.ctx);
        EXPECT_EQ(got.count(id), 0u) << "completed twice: " << id;
        got[id] = std::string(r.buffer.data(), r.size);
      }
      for (size_t bytes : swap_bytes_per_poller) EXPECT_LE(bytes, kSwap);
    }
    ASSERT_EQ(got.size(), pairs.size());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], Pattern(1000, i)) << i;
    for (const FdPair& p : pairs) close(p.peer);
  }
}

// A swap read is offered at least a quarter of the buffer: with 10000 bytes
// waiting and a 4096-byte buffer, consecutive reads on one fd take 4096,
// then the rest in pieces no smaller than min(available, 1024).
TEST(SwapBuffer, ReadsAreOfferedAtLeastAQuarterOfTheBuffer) {
  Watcher w = Make(1, 4096);
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  const std::string data = Pattern(10000, 3);
  GAIO_ASSERT_OK(WriteAll(p->peer, data));
  for (int i = 0; i < 20; ++i) GAIO_ASSERT_OK(w.read(nullptr, p->watched, nullptr));
  std::string got;
  size_t remaining = data.size();
  const absl::Time give_up = absl::Now() + testing::kPatience;
  while (got.size() < data.size() && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(1));
    ASSERT_TRUE(batch.ok());
    for (const OpResult& r : *batch) {
      GAIO_ASSERT_OK(r.status);
      EXPECT_GE(r.size, std::min<size_t>(remaining, 1024));
      remaining -= r.size;
      got.append(r.buffer.data(), r.size);
    }
  }
  EXPECT_TRUE(got == data);
  w.close().IgnoreError();
  close(p->peer);
}

// Swap bytes passed straight to write(): what the socket takes at once is
// written from the swap buffer; the rest is copied before the swap bytes are
// reused, so the peer gets exactly the bytes that were read, even though
// later reads overwrite that part of the swap buffer meanwhile.
TEST(SwapBuffer, WriteFromSwapBytesOutlivesTheNextWaitIo) {
  for (int pollers : {0, 1}) {
    SCOPED_TRACE(pollers);
    Watcher w = Make(pollers, 64 * 1024);
    absl::StatusOr<FdPair> in = UnixPair();
    absl::StatusOr<FdPair> out = UnixPair();
    ASSERT_TRUE(in.ok());
    ASSERT_TRUE(out.ok());
    int small = 4096;  // the socket takes a few KiB at once, not 60000 bytes
    ASSERT_EQ(setsockopt(out->watched, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    const std::string first = Pattern(60000, 7);
    absl::StatusOr<absl::Span<const OpResult>> batch;
    GAIO_ASSERT_OK(WriteAll(in->peer, first));
    GAIO_ASSERT_OK(w.read(nullptr, in->watched, nullptr));
    const OpResult* read = nullptr;
    while (read == nullptr) {
      batch = w.wait_io(testing::kPatience);
      ASSERT_TRUE(batch.ok());
      ASSERT_FALSE(batch->empty());
      for (const OpResult& r : *batch) {
        if (r.op == OpType::kRead) read = &r;
      }
    }
    GAIO_ASSERT_OK(read->status);
    ASSERT_TRUE(read->is_swap_buffer);
    ASSERT_EQ(read->size, first.size());
    GAIO_ASSERT_OK(w.write(reinterpret_cast<void*>(1), out->watched, read->buffer.first(read->size)));
    // Overwrite both halves of the swap buffer with other bytes.
    for (int i = 0; i < 4; ++i) {
      GAIO_ASSERT_OK(WriteAll(in->peer, Pattern(60000, 100 + i)));
      GAIO_ASSERT_OK(w.read(nullptr, in->watched, nullptr));
      bool seen = false;
      while (!seen) {
        batch = w.wait_io(testing::kPatience);
        ASSERT_TRUE(batch.ok());
        ASSERT_FALSE(batch->empty());
        for (const OpResult& r : *batch) seen |= r.op == OpType::kRead;
      }
    }
    // Now drain the writer's peer while the watcher finishes the write.
    std::string echoed;
    bool written = false;
    const absl::Time give_up = absl::Now() + testing::kPatience;
    while ((!written || echoed.size() < first.size()) && absl::Now() < give_up) {
      char buf[8192];
      ssize_t n = recv(out->peer, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) echoed.append(buf, static_cast<size_t>(n));
      batch = w.wait_io(absl::Milliseconds(1));
      ASSERT_TRUE(batch.ok());
      for (const OpResult& r : *batch) {
        if (r.op != OpType::kWrite) continue;
        GAIO_ASSERT_OK(r.status);
        EXPECT_EQ(r.size, first.size());
        written = true;
      }
    }
    EXPECT_TRUE(written);
    EXPECT_TRUE(echoed == first) << echoed.size() << " bytes";
    w.close().IgnoreError();
    close(in->peer);
    close(out->peer);
  }
}

}  // namespace
}  // namespace gaio
