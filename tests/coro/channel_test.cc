// Channel<T>: FIFO order and counts, exactly-once delivery with many
// producers and consumers, close with waiters on both sides, cancel of a
// waiter (Cancelled; the next waiter gets the next item), a send racing a
// receiver's cancel (the item is returned once or stays in the channel),
// the sender keeps its item on failure, and send_remote from another thread.
#include "coro/channel.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::NewLoop;
using testing::RunBounded;
using Item = std::unique_ptr<int>;

Item Make(int v) { return std::make_unique<int>(v); }

Task<absl::Status> TryOps() {
  Channel<int> ch(3);
  EXPECT_EQ(ch.capacity(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ch.try_send(int{i}).ok());
  EXPECT_EQ(ch.size(), 3u);
  EXPECT_TRUE(absl::IsResourceExhausted(ch.try_send(7)));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<int> v = ch.try_recv();
    EXPECT_TRUE(v.ok() && *v == i) << v.status();
  }
  EXPECT_TRUE(absl::IsUnavailable(ch.try_recv().status()));
  EXPECT_TRUE(ch.try_send(9).ok());
  ch.close();
  EXPECT_TRUE(absl::IsFailedPrecondition(ch.try_send(10)));
  absl::StatusOr<int> v = co_await ch.recv();  // buffered before close: delivered
  EXPECT_TRUE(v.ok() && *v == 9);
  v = co_await ch.recv();
  EXPECT_TRUE(absl::IsOutOfRange(v.status())) << v.status();
  Channel<int> zero(0);
  EXPECT_EQ(zero.capacity(), 1u);
  co_return absl::OkStatus();
}

TEST(Channel, TryOpsFifoCountsAndClose) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, TryOps()).ok());
}

Task<absl::Status> Produce(Channel<int>* ch, int base, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status s = co_await ch->send(base + i);
    if (!s.ok()) co_return s;
  }
  co_return absl::OkStatus();
}

Task<absl::Status> Consume(Channel<int>* ch, std::vector<int>* got) {
  for (;;) {
    absl::StatusOr<int> v = co_await ch->recv();
    if (absl::IsOutOfRange(v.status())) co_return absl::OkStatus();
    if (!v.ok()) co_return v.status();
    got->push_back(*v);
  }
}

Task<absl::Status> ManyToMany() {
  constexpr int kProducers = 4, kPerProducer = 500, kConsumers = 3;
  Channel<int> ch(4);
  std::vector<std::vector<int>> got(kConsumers);
  Scope producers, consumers;
  for (int c = 0; c < kConsumers; ++c) consumers.spawn(Consume(&ch, &got[c]));
  std::vector<JoinHandle<absl::Status>> ps;
  for (int p = 0; p < kProducers; ++p) {
    ps.push_back(producers.spawn(Produce(&ch, p * kPerProducer, kPerProducer)));
  }
  for (auto& h : ps) {
    absl::Status s = co_await h;
    EXPECT_TRUE(s.ok()) << s;
  }
  co_await producers.join();
  ch.close();
  co_await consumers.join();
  std::vector<int> all;
  for (const auto& g : got) {
    // Each producer's items reach each consumer in the order sent.
    for (int p = 0; p < kProducers; ++p) {
      int last = -1;
      for (int v : g) {
        if (v / kPerProducer != p) continue;
        EXPECT_GT(v, last);
        last = v;
      }
    }
    all.insert(all.end(), g.begin(), g.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kProducers * kPerProducer));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], static_cast<int>(i));
  co_return absl::OkStatus();
}

TEST(Channel, ManyProducersAndConsumersEachItemExactlyOnce) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, ManyToMany()).ok());
}

Task<absl::StatusOr<int>> RecvOne(Channel<Item>* ch) {
  absl::StatusOr<Item> v = co_await ch->recv();
  if (!v.ok()) co_return v.status();
  co_return **v;
}

// Sends `*item`; reports whether the item is still the caller's afterwards.
Task<absl::Status> SendOne(Channel<Item>* ch, Item* item, bool* kept) {
  absl::Status s = co_await ch->send(std::move(*item));
  *kept = *item != nullptr;
  co_return s;
}

Task<absl::Status> CloseWithWaiters() {
  Channel<Item> ch(1);
  Scope scope;
  std::vector<JoinHandle<absl::StatusOr<int>>> rs;
  for (int i = 0; i < 3; ++i) rs.push_back(scope.spawn(RecvOne(&ch)));
  co_await yield();
  ch.close();
  for (auto& h : rs) {
    absl::StatusOr<int> v = co_await h;
    EXPECT_TRUE(absl::IsOutOfRange(v.status())) << v.status();
  }
  Channel<Item> full(1);
  EXPECT_TRUE(full.try_send(Make(1)).ok());
  Item items[2] = {Make(2), Make(3)};
  bool kept[2] = {false, false};
  JoinHandle<absl::Status> s0 = scope.spawn(SendOne(&full, &items[0], &kept[0]));
  JoinHandle<absl::Status> s1 = scope.spawn(SendOne(&full, &items[1], &kept[1]));
  co_await yield();
  full.close();
  absl::Status st0 = co_await s0;
  absl::Status st1 = co_await s1;
  EXPECT_TRUE(absl::IsFailedPrecondition(st0)) << st0;
  EXPECT_TRUE(absl::IsFailedPrecondition(st1)) << st1;
  EXPECT_TRUE(kept[0] && kept[1]) << "a failed send leaves the item with the caller";
  absl::StatusOr<int> v = co_await RecvOne(&full);
  EXPECT_TRUE(v.ok() && *v == 1) << "buffered before close: still delivered";
  v = co_await RecvOne(&full);
  EXPECT_TRUE(absl::IsOutOfRange(v.status()));
  co_await scope.join();
  co_return absl::OkStatus();
}

TEST(Channel, CloseWakesEveryWaiterWithTheClosedStatus) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, CloseWithWaiters()).ok());
}

// order 0: cancel the first receiver, then send: the second gets the item.
// order 1: send (handed to the first receiver), then cancel it in the same
// round: it still returns the item.
Task<absl::Status> SendRacingCancel(int order) {
  Channel<Item> ch(2);
  Scope scope;
  JoinHandle<absl::StatusOr<int>> a = scope.spawn(RecvOne(&ch));
  JoinHandle<absl::StatusOr<int>> b = scope.spawn(RecvOne(&ch));
  co_await yield();
  if (order == 0) {
    a.cancel();
    EXPECT_TRUE(ch.try_send(Make(1)).ok());
  } else {
    EXPECT_TRUE(ch.try_send(Make(1)).ok());
    a.cancel();
  }
  EXPECT_TRUE(ch.try_send(Make(2)).ok());
  absl::StatusOr<int> va = co_await a;
  absl::StatusOr<int> vb = co_await b;
  co_await scope.join();
  std::vector<int> seen;
  if (va.ok()) seen.push_back(*va);
  if (vb.ok()) seen.push_back(*vb);
  while (ch.size() > 0) {
    absl::StatusOr<Item> rest = ch.try_recv();
    if (rest.ok()) seen.push_back(**rest);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{1, 2})) << "each item exactly once";
  if (order == 0) {
    EXPECT_TRUE(absl::IsCancelled(va.status())) << va.status();
    EXPECT_TRUE(vb.ok() && *vb == 1) << "the next receiver gets the next item";
  } else {
    EXPECT_TRUE(va.ok() && *va == 1) << "handed over before the cancel: kept";
    EXPECT_TRUE(vb.ok() && *vb == 2);
  }
  co_return absl::OkStatus();
}

TEST(Channel, ASendRacingAReceiverCancelLosesNoItem) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, SendRacingCancel(0)).ok());
  EXPECT_TRUE(RunBounded(*loop, SendRacingCancel(1)).ok());
}

Task<absl::Status> CancelSender() {
  Channel<Item> ch(1);
  EXPECT_TRUE(ch.try_send(Make(0)).ok());
  Item items[2] = {Make(1), Make(2)};
  bool kept[2] = {false, false};
  Scope scope;
  JoinHandle<absl::Status> s0 = scope.spawn(SendOne(&ch, &items[0], &kept[0]));
  JoinHandle<absl::Status> s1 = scope.spawn(SendOne(&ch, &items[1], &kept[1]));
  co_await yield();
  s0.cancel();
  absl::Status st0 = co_await s0;
  EXPECT_TRUE(absl::IsCancelled(st0)) << st0;
  EXPECT_TRUE(kept[0]) << "a cancelled send takes nothing";
  EXPECT_EQ(*items[0], 1);
  absl::StatusOr<int> v = co_await RecvOne(&ch);  // frees a slot: s1's item moves in
  EXPECT_TRUE(v.ok() && *v == 0);
  absl::Status st1 = co_await s1;
  EXPECT_TRUE(st1.ok()) << st1;
  EXPECT_FALSE(kept[1]);
  v = co_await RecvOne(&ch);
  EXPECT_TRUE(v.ok() && *v == 2);
  co_await scope.join();
  co_return absl::OkStatus();
}

TEST(Channel, CancelledSenderKeepsItsItemAndTheNextSenderGoesIn) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, CancelSender()).ok());
}

Task<absl::Status> AlreadyCancelled(Channel<Item>* ch) {
  absl::StatusOr<Item> v = co_await ch->recv();
  co_return v.status();
}

Task<absl::Status> CancelledTask() {
  Channel<Item> ch(1);
  EXPECT_TRUE(ch.try_send(Make(5)).ok());
  Scope scope;
  JoinHandle<absl::Status> h = scope.spawn(AlreadyCancelled(&ch));
  h.cancel();
  absl::Status s = co_await h;
  co_await scope.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_EQ(ch.size(), 1u) << "a cancelled task takes nothing";
  co_return absl::OkStatus();
}

TEST(Channel, ACancelledTaskGetsCancelledAtOnceAndTakesNothing) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, CancelledTask()).ok());
}

constexpr int kRemoteItems = 20000;

void RemoteProducer(Channel<int>* ch, int* refused) {
  for (int i = 0; i < kRemoteItems;) {
    absl::Status s = ch->send_remote(i);
    if (s.ok()) {
      ++i;
    } else if (absl::IsResourceExhausted(s)) {
      ++*refused;
      std::this_thread::yield();  // back-pressure: retry
    } else {
      ADD_FAILURE() << s;
      return;
    }
  }
}

Task<absl::Status> RemoteConsume(Channel<int>* ch) {
  for (int i = 0; i < kRemoteItems; ++i) {
    absl::StatusOr<int> v = co_await ch->recv();
    if (!v.ok()) co_return v.status();
    EXPECT_EQ(*v, i);
    if (*v != i) co_return absl::InternalError("order");
  }
  co_return absl::OkStatus();
}

TEST(Channel, SendRemoteFromAnotherThreadDeliversEveryItemInOrder) {
  auto loop = NewLoop();
  Channel<int> ch(8, loop.get());
  int refused = 0;
  std::thread producer(RemoteProducer, &ch, &refused);
  absl::Status s = RunBounded(*loop, RemoteConsume(&ch));
  producer.join();
  EXPECT_TRUE(s.ok()) << s;
  Channel<int> local(1);
  EXPECT_TRUE(absl::IsFailedPrecondition(local.send_remote(1))) << "no loop given";
}

// An item that counts the live copies of itself.
struct Counted {
  static inline int live = 0;
  Counted() { ++live; }
  Counted(Counted&&) noexcept { ++live; }
  Counted& operator=(Counted&&) noexcept = default;
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  ~Counted() { --live; }
};

// A channel destroyed with its send_remote() post in flight: the inbox (and
// what is still in it) is freed by the post's completion, by ~EventLoop if
// the loop never delivers it, or at once if the loop went first. Nothing
// leaks (the live count; LeakSanitizer under --config=asan), nothing is
// touched after it is freed. The channel's one slot is full, so the remote
// item stays in the inbox when the channel closes.
std::unique_ptr<Channel<Counted>> FullChannelWithRemoteItem(EventLoop* loop) {
  auto ch = std::make_unique<Channel<Counted>>(1, loop);
  EXPECT_TRUE(ch->try_send(Counted()).ok());
  EXPECT_TRUE(ch->send_remote(Counted()).ok());
  EXPECT_EQ(Counted::live, 2);
  return ch;
}

Task<> SleepAMillisecond() {
  absl::Status slept = co_await sleep(absl::Milliseconds(1));
  EXPECT_TRUE(slept.ok()) << slept;
}

TEST(Channel, RemoteInboxFreedWhateverGoesFirst) {
  Counted::live = 0;
  {  // The loop never runs again: ~EventLoop frees the inbox.
    auto loop = NewLoop();
    auto ch = FullChannelWithRemoteItem(loop.get());
    ch.reset();
    EXPECT_EQ(Counted::live, 1);  // the post is in flight: the inbox stays
    loop.reset();
    EXPECT_EQ(Counted::live, 0);
  }
  {  // The loop runs and delivers the post: its completion frees the inbox.
    auto loop = NewLoop();
    auto ch = FullChannelWithRemoteItem(loop.get());
    ch.reset();
    EXPECT_EQ(Counted::live, 1);
    EXPECT_TRUE(RunBounded(*loop, SleepAMillisecond()).ok());
    EXPECT_EQ(Counted::live, 0);
  }
  {  // The loop goes first (its Watcher closed): ~Channel frees the inbox.
    auto loop = NewLoop();
    auto ch = FullChannelWithRemoteItem(loop.get());
    loop.reset();
    EXPECT_EQ(Counted::live, 2);
    ch.reset();
    EXPECT_EQ(Counted::live, 0);
  }
}

}  // namespace
}  // namespace gaio::coro
