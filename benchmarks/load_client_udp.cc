// The UDP echo workload of the load client (RunUdpEcho in load_client.h):
// the bookkeeping (udp_book.h) and the Watcher driver. The batched driver is
// in udp_batched_driver.cc.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/load_client.h"
#include "benchmarks/udp_book.h"
#include "watcher/watcher.h"

namespace gaio_bench {
namespace udp {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

Book::~Book() {
  if (!owns_fds_) return;
  for (auto& s : senders_) {
    if (s->fd >= 0) close(s->fd);
  }
}

absl::Status Book::Open() {
  for (int i = first_; i < first_ + count_; ++i) {
    auto s = std::make_unique<Sender>();
    s->id = static_cast<uint32_t>(i);
    s->fd = ConnectLoopbackSocket(o_.port, SOCK_DGRAM);
    if (s->fd < 0) {
      return absl::UnavailableError(absl::StrCat("UDP socket #", i, ": ", std::strerror(errno)));
    }
    s->slots.resize(static_cast<size_t>(o_.window));
    for (size_t k = 0; k < s->slots.size(); ++k) {
      s->slots[k].sender = s.get();
      s->slots[k].index = static_cast<uint32_t>(k);
      s->slots[k].out.resize(o_.message_size);
    }
    senders_.push_back(std::move(s));
  }
  return absl::OkStatus();
}

void Book::Prepare(Slot& slot) {
  const uint64_t now = NowNs();
  ++slot.seq;
  slot.sent_ns = now;
  slot.awaiting = true;
  const uint32_t words[2] = {slot.sender->id, slot.index};
  char* out = slot.out.data();
  std::memcpy(out, words, 8);
  std::memcpy(out + 8, &slot.seq, 8);
  std::memcpy(out + 16, &now, 8);
  uint64_t x = (slot.seq + 1) * 0x9E3779B97F4A7C15ull ^ slot.sender->id;
  for (size_t i = kHeader; i < slot.out.size(); ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
}

Slot* Book::OnEcho(Sender& s, const char* data, size_t size, uint64_t now, bool counting) {
  uint32_t words[2];
  uint64_t seq;
  if (size < kHeader) {
    ++result_.errors;
    return nullptr;
  }
  std::memcpy(words, data, 8);
  std::memcpy(&seq, data + 8, 8);
  if (words[0] != s.id || words[1] >= s.slots.size()) {
    ++result_.errors;  // not a datagram this sender sent
    return nullptr;
  }
  Slot& slot = s.slots[words[1]];
  if (seq != slot.seq || !slot.awaiting) {
    ++late_;  // the echo of a datagram already given up on
    return nullptr;
  }
  if (size != slot.out.size() || std::memcmp(data, slot.out.data(), size) != 0) ++result_.errors;
  slot.awaiting = false;
  if (counting) {
    histogram_.Record(now - slot.sent_ns);
    ++result_.messages;
    bytes_ += size;
  }
  return &slot;
}

void Book::Merge(const Book& other) {
  result_.messages += other.result_.messages;
  result_.errors += other.result_.errors;
  histogram_.Merge(other.histogram_);
  bytes_ += other.bytes_;
  lost_ += other.lost_;
  late_ += other.late_;
}

LoadResult Book::Result() const {
  LoadResult r = result_;
  const double secs = absl::ToDoubleSeconds(o_.duration);
  r.msgs_per_s = r.messages / secs;
  r.mb_per_s = bytes_ / 1e6 / secs;
  r.p50_us = histogram_.Percentile(50) / 1e3;
  r.p90_us = histogram_.Percentile(90) / 1e3;
  r.p99_us = histogram_.Percentile(99) / 1e3;
  r.p999_us = histogram_.Percentile(99.9) / 1e3;
  r.max_us = histogram_.max() / 1e3;
  r.lost = static_cast<double>(lost_);
  return r;
}

namespace {

// A read buffer of one sender, re-armed after each echo.
struct Inbox {
  Sender* sender;
  std::vector<char> in;
};

}  // namespace

absl::Status DriveWithWatcher(Book& book, const LoadOptions& o) {
  std::vector<Inbox> inboxes;  // outlives the watcher below
  for (auto& s : book.senders()) {
    for (int k = 0; k < o.window; ++k) {
      inboxes.push_back({s.get(), std::vector<char>(o.message_size + 64)});  // room to see more
    }
  }
  gaio::WatcherOptions options;
  options.num_pollers = 0;  // caller-driven: the client is one thread
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create(options);
  if (!w.ok()) return w.status();
  auto arm = [&](Inbox& b) {
    if (!w->read(&b, b.sender->fd, absl::MakeSpan(b.in)).ok()) book.Error();
  };
  auto send = [&](Slot& slot) {
    book.Prepare(slot);
    if (w->write(&slot, slot.sender->fd, absl::MakeConstSpan(slot.out)).ok()) {
      slot.writing = true;
    } else {
      slot.awaiting = false;
      book.Error();
    }
  };
  // The first request makes the watcher the owner of each socket.
  book.Release();
  for (Inbox& b : inboxes) arm(b);
  for (auto& s : book.senders()) {
    for (Slot& slot : s->slots) send(slot);
  }
  const uint64_t start = NowNs();
  const uint64_t measure_from = start + static_cast<uint64_t>(absl::ToInt64Nanoseconds(o.warmup));
  const uint64_t end = measure_from + static_cast<uint64_t>(absl::ToInt64Nanoseconds(o.duration));
  uint64_t next_expiry = start;
  for (uint64_t now = start; now < end; now = NowNs()) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(absl::Milliseconds(10));
    if (!batch.ok()) return batch.status();
    now = NowNs();
    const bool counting = now >= measure_from;
    for (const gaio::OpResult& r : *batch) {
      if (r.op == gaio::OpType::kWrite) {
        Slot& slot = *static_cast<Slot*>(r.ctx);
        slot.writing = false;
        if (!r.status.ok()) {
          book.Error();
          slot.awaiting = false;  // nothing went out: no echo to wait for
        }
        if (!slot.awaiting) send(slot);
        continue;
      }
      Inbox& b = *static_cast<Inbox*>(r.ctx);
      if (!r.status.ok()) {
        book.Error();  // DataLoss (an oversized echo) or an errno
      } else if (Slot* slot = book.OnEcho(*b.sender, b.in.data(), r.size, now, counting);
                 slot != nullptr && !slot->writing) {
        send(*slot);
      }
      arm(b);
    }
    if (now >= next_expiry) {
      book.Expire(now, counting, send);
      next_expiry = now + 10'000'000u;  // every 10 ms
    }
  }
  return absl::OkStatus();  // ~Watcher closes the sockets
}

}  // namespace udp

absl::StatusOr<LoadResult> RunUdpEcho(const LoadOptions& o) {
  if (o.message_size < udp::kHeader || o.message_size > 65000 || o.window < 1) {
    return absl::InvalidArgumentError("udp: message size in [24, 65000], window >= 1");
  }
  // Books of senders, one per client thread (the Watcher driver: one).
  const int threads =
      o.udp_batched_client ? std::max(1, std::min(o.udp_client_threads, o.connections)) : 1;
  std::vector<std::unique_ptr<udp::Book>> books;
  for (int t = 0, first = 0; t < threads; ++t) {
    const int count = o.connections / threads + (t < o.connections % threads ? 1 : 0);
    books.push_back(std::make_unique<udp::Book>(o, first, count));
    first += count;
    if (absl::Status s = books.back()->Open(); !s.ok()) return s;
  }
  std::vector<absl::Status> statuses(books.size());
  std::vector<std::thread> workers;
  for (size_t t = 1; t < books.size(); ++t) {
    workers.emplace_back([&, t] { statuses[t] = udp::DriveBatched(*books[t], o); });
  }
  statuses[0] =
      o.udp_batched_client ? udp::DriveBatched(*books[0], o) : udp::DriveWithWatcher(*books[0], o);
  for (std::thread& w : workers) w.join();
  for (size_t t = 0; t < books.size(); ++t) {
    if (!statuses[t].ok()) return statuses[t];
    if (t > 0) books[0]->Merge(*books[t]);
  }
  return books[0]->Result();
}

}  // namespace gaio_bench
