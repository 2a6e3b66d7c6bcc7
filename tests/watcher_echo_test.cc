// gaio's own test set carried over: tiny-buffer echo, 100 MiB echo and
// read_full, bidirectional traffic, parallel echo at 1k..8k connections,
// and read deadlines on 1k..8k silent connections.
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/echo_harness.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::Collect;
using ::gaio::testing::Completion;
using ::gaio::testing::Connect;
using ::gaio::testing::EchoServer;
using ::gaio::testing::FdPair;
using ::gaio::testing::Listen;
using ::gaio::testing::Listener;
using ::gaio::testing::Pattern;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::ReadMode;
using ::gaio::testing::TcpPair;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WriteAll;

// Streams `data` through an echo server on one TCP connection and checks
// that exactly the same bytes come back.
void EchoThrough(ReadMode mode, const std::string& data, size_t chunk) {
  absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Start({}, mode);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<FdPair> p = TcpPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK((*server)->Add(p->watched));
  std::thread writer([&] {
    for (size_t off = 0; off < data.size(); off += chunk) {
      ASSERT_TRUE(WriteAll(p->peer, absl::string_view(data).substr(off, chunk)).ok());
    }
  });
  std::string echoed;
  echoed.reserve(data.size());
  bool same = true;
  for (size_t off = 0; off < data.size() && same; off += chunk) {
    const size_t n = std::min(chunk, data.size() - off);
    absl::StatusOr<std::string> got = ReadExactly(p->peer, n);
    ASSERT_TRUE(got.ok()) << got.status() << " at offset " << off;
    same = absl::string_view(data).substr(off, n) == *got;
    EXPECT_TRUE(same) << "mismatch in the chunk at offset " << off;
  }
  writer.join();
  EXPECT_EQ((*server)->WaitEchoed(data.size()), data.size());
  EXPECT_EQ((*server)->errors(), 0u);
  close(p->peer);
}

TEST(Echo, OneByteBuffer) { EchoThrough(ReadMode::kOneByte, Pattern(16 * 1024), 1024); }

TEST(Echo, HundredMebibytesByteForByte) {
  EchoThrough(ReadMode::kSwap, Pattern(100 << 20, 5), 1 << 20);
}

TEST(Echo, ReadFullOfHundredMebibytes) {
  absl::StatusOr<Watcher> w = Watcher::Create();
  ASSERT_TRUE(w.ok());
  absl::StatusOr<FdPair> p = TcpPair();
  ASSERT_TRUE(p.ok());
  const std::string data = Pattern(100 << 20, 9);
  std::string buf(data.size(), '\0');
  GAIO_ASSERT_OK(w->read_full(nullptr, p->watched, absl::MakeSpan(buf)));
  std::thread writer([&] { EXPECT_TRUE(WriteAll(p->peer, data).ok()); });
  std::vector<Completion> c = Collect(*w, 1);
  writer.join();
  ASSERT_EQ(c.size(), 1u);
  GAIO_EXPECT_OK(c[0].status);
  EXPECT_EQ(c[0].size, data.size());
  EXPECT_TRUE(buf == data);
  close(p->peer);
}

TEST(Echo, BidirectionalTrafficOnOneWatcher) {
  for (int pollers : {0, 1, 2}) {
    SCOPED_TRACE(pollers);
    WatcherOptions o;
    o.num_pollers = pollers;
    absl::StatusOr<Watcher> w = Watcher::Create(o);
    ASSERT_TRUE(w.ok());
    absl::StatusOr<FdPair> p = UnixPair();  // both ends watched
    ASSERT_TRUE(p.ok());
    const std::string a_to_b = Pattern(8 << 20, 1), b_to_a = Pattern(8 << 20, 2);
    std::string at_b(a_to_b.size(), '\0'), at_a(b_to_a.size(), '\0');
    GAIO_ASSERT_OK(w->read_full(&at_a, p->watched, absl::MakeSpan(at_a)));
    GAIO_ASSERT_OK(w->read_full(&at_b, p->peer, absl::MakeSpan(at_b)));
    GAIO_ASSERT_OK(w->write(nullptr, p->watched, a_to_b));
    GAIO_ASSERT_OK(w->write(nullptr, p->peer, b_to_a));
    std::vector<Completion> c = Collect(*w, 4);
    ASSERT_EQ(c.size(), 4u);
    for (const Completion& x : c) {
      GAIO_EXPECT_OK(x.status);
      EXPECT_EQ(x.size, size_t{8} << 20);
    }
    EXPECT_TRUE(at_b == a_to_b);
    EXPECT_TRUE(at_a == b_to_a);
  }
}

struct ParallelCase {
  int conns;
  size_t message;
};

class ParallelEcho : public ::testing::TestWithParam<ParallelCase> {};

// N client connections, each driven by a client-side watcher: write one
// message, read_full the echo, compare.
TEST_P(ParallelEcho, EveryConnectionGetsItsBytesBack) {
  const auto [conns, message] = GetParam();
  absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Start({}, ReadMode::kSwap);
  ASSERT_TRUE(server.ok());
  absl::StatusOr<Listener> listener = Listen();
  ASSERT_TRUE(listener.ok());
  absl::StatusOr<Watcher> client = Watcher::Create();
  ASSERT_TRUE(client.ok());

  std::vector<std::string> sent(conns), echoed(conns);
  for (int i = 0; i < conns; ++i) {
    absl::StatusOr<int> fd = Connect(listener->port);
    ASSERT_TRUE(fd.ok()) << fd.status() << " at connection " << i;
    int accepted = accept4(listener->fd, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(accepted, 0);
    GAIO_ASSERT_OK((*server)->Add(accepted));
    sent[i] = Pattern(message, i);
    echoed[i].assign(message, '\0');
    GAIO_ASSERT_OK(client->write(nullptr, *fd, sent[i]));
    GAIO_ASSERT_OK(client->read_full(&echoed[i], *fd, absl::MakeSpan(echoed[i]),
                                     absl::Now() + absl::Seconds(60)));
  }
  close(listener->fd);
  std::vector<Completion> c = Collect(*client, 2 * conns, absl::Seconds(60));
  ASSERT_EQ(c.size(), 2u * conns);
  int reads = 0;
  for (const Completion& x : c) {
    ASSERT_TRUE(x.status.ok()) << x.status;
    ASSERT_EQ(x.size, message);
    if (x.op == OpType::kRead) ++reads;
  }
  EXPECT_EQ(reads, conns);
  for (int i = 0; i < conns; ++i) ASSERT_EQ(echoed[i], sent[i]) << "connection " << i;
  EXPECT_EQ((*server)->WaitEchoed(static_cast<uint64_t>(conns) * message), static_cast<uint64_t>(conns) * message);
  EXPECT_EQ((*server)->errors(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Gaio, ParallelEcho,
    ::testing::Values(ParallelCase{1024, 1024}, ParallelCase{2048, 1024}, ParallelCase{4096, 1024},
                      ParallelCase{8192, 1024}, ParallelCase{1024, 16}, ParallelCase{2048, 16},
                      ParallelCase{4096, 16}, ParallelCase{8192, 16}),
    [](const ::testing::TestParamInfo<ParallelCase>& info) {
      return std::to_string(info.param.conns) + "Conns" + std::to_string(info.param.message) +
             "Bytes";
    });

class SilentDeadlines : public ::testing::TestWithParam<int> {};

TEST_P(SilentDeadlines, EveryReadReportsDeadlineExceeded) {
  const int conns = GetParam();
  absl::StatusOr<Watcher> w = Watcher::Create();
  ASSERT_TRUE(w.ok());
  std::vector<int> peers;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(200);
  for (int i = 0; i < conns; ++i) {
    absl::StatusOr<FdPair> p = UnixPair();
    ASSERT_TRUE(p.ok()) << p.status();
    peers.push_back(p->peer);
    GAIO_ASSERT_OK(w->read_timeout(reinterpret_cast<void*>(i), p->watched, nullptr, deadline));
  }
  std::vector<Completion> c = Collect(*w, conns, absl::Seconds(60));
  ASSERT_EQ(c.size(), static_cast<size_t>(conns));
  std::vector<bool> seen(conns, false);
  for (const Completion& x : c) {
    EXPECT_TRUE(absl::IsDeadlineExceeded(x.status)) << x.status;
    const intptr_t i = reinterpret_cast<intptr_t>(x.ctx);
    EXPECT_FALSE(seen[i]);
    seen[i] = true;
  }
  EXPECT_GE(absl::Now(), deadline);
  EXPECT_TRUE(Collect(*w, 1, absl::Milliseconds(20)).empty());  // exactly once
  for (int fd : peers) close(fd);
}

INSTANTIATE_TEST_SUITE_P(Gaio, SilentDeadlines, ::testing::Values(1024, 2048, 4096, 8192));

}  // namespace
}  // namespace gaio
