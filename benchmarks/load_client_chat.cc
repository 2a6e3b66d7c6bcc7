// The chat workloads of the load client (load_client.h): a line chat server
// (examples/chat_server*) relays every line to every other client.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmarks/load_client.h"
#include "watcher/watcher.h"

namespace gaio_bench {
namespace {

// One chat client. Lines are "SSSS NNNNNNNNNN xxx...\n": the sender's index
// and its sequence number, padded to the message size.
struct ChatConn {
  int fd = -1;
  int index = 0;
  bool present = false;            // has heard the roll call (RunChat)
  std::string partial;             // the start of an unfinished line
  std::vector<int64_t> next;       // per sender: the next sequence number due, -1 = none yet
  std::deque<std::string> writes;  // sender: lines whose write is pending
  int64_t sent = 0;                // sender: lines sent
  int64_t acked = -1;              // sender: lines up to this one reached every receiver
  std::vector<int> heard;          // sender: receivers of line seq, at seq % heard.size()
  uint64_t lines = 0;              // lines received
};

struct Tally {
  uint64_t deliveries = 0, lost = 0, reordered = 0, errors = 0;
};

absl::StatusOr<gaio::Watcher> CallerDriven() {
  gaio::WatcherOptions options;
  options.num_pollers = 0;
  return gaio::Watcher::Create(options);
}

absl::Status OpenChat(const LoadOptions& o, int senders, std::vector<ChatConn>* conns) {
  conns->resize(o.connections);
  for (int i = 0; i < o.connections; ++i) {
    ChatConn& c = (*conns)[i];
    c.index = i;
    c.next.assign(senders, -1);
    if (i < senders) c.heard.assign(static_cast<size_t>(o.window) + 1, 0);
    c.fd = ConnectLoopback(o.port);
    if (c.fd < 0) {
      return absl::UnavailableError(absl::StrCat("chat connect #", i, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

class Chat {
 public:
  Chat(gaio::Watcher* w, std::vector<ChatConn>* conns, int senders, const LoadOptions& o)
      : w_(w), conns_(conns), senders_(senders), o_(o) {}

  bool Listen(ChatConn& c) { return w_->read(&c, c.fd, nullptr).ok(); }

  // Sends lines while fewer than `window` of the sender's lines have yet
  // to reach every other client. Pacing on full delivery (not on one
  // chosen receiver) keeps the work in flight bounded whatever order the
  // server writes to its clients in.
  void Pump(ChatConn& s) {
    while (sending_ && s.sent - s.acked <= o_.window) {
      if (!Say(s, s.sent)) {
        ++tally_.errors;
        return;
      }
      ++s.sent;
    }
  }

  void OnCompletion(const gaio::OpResult& r) {
    if (r.op == gaio::OpType::kWrite) {
      auto* q = static_cast<std::deque<std::string>*>(r.ctx);
      q->pop_front();
      if (!r.status.ok() && sending_) ++tally_.errors;
      return;
    }
    auto* c = static_cast<ChatConn*>(r.ctx);
    if (!r.status.ok()) {
      if (sending_) ++tally_.errors;
      return;
    }
    absl::string_view in(r.buffer.data(), r.size);
    for (size_t nl; (nl = in.find('\n')) != absl::string_view::npos; in.remove_prefix(nl + 1)) {
      if (c->partial.empty()) {
        OnLine(*c, in.substr(0, nl));
      } else {
        c->partial.append(in.data(), nl);
        OnLine(*c, c->partial);
        c->partial.clear();
      }
    }
    c->partial.append(in.data(), in.size());
    if (!Listen(*c)) ++tally_.errors;
  }

  // Client 0 says a line numbered -1; present() counts the other clients
  // that have heard one.
  void RollCall(ChatConn& s) { Say(s, -1); }
  int present() const { return present_; }
  void StopSending() { sending_ = false; }
  void StartCounting() { tally_ = Tally(); }
  const Tally& tally() const { return tally_; }

 private:
  // Writes s's line number `seq`, padded to the message size; false if the
  // write was refused.
  bool Say(ChatConn& s, int64_t seq) {
    std::string line = absl::StrFormat("%04d %010d ", s.index, seq);
    line.resize(std::max<size_t>(o_.message_size, line.size() + 1) - 1, 'x');
    line.push_back('\n');
    s.writes.push_back(std::move(line));
    if (w_->write(&s.writes, s.fd, s.writes.back()).ok()) return true;
    s.writes.pop_back();
    return false;
  }

  void OnLine(ChatConn& c, absl::string_view line) {
    int sender = 0;
    int64_t seq = 0;
    if (line.size() < 16 || !absl::SimpleAtoi(line.substr(0, 4), &sender) ||
        !absl::SimpleAtoi(line.substr(5, 10), &seq) || sender < 0 || sender >= senders_ ||
        sender == c.index) {
      ++tally_.errors;  // garbled, or a line back to its own sender
      return;
    }
    if (seq == -1) {  // the roll call
      if (!c.present) ++present_;
      c.present = true;
      return;
    }
    ++c.lines;
    ++tally_.deliveries;
    int64_t& next = c.next[sender];
    if (next >= 0 && seq < next) {
      ++tally_.reordered;
    } else {
      if (next >= 0) tally_.lost += static_cast<uint64_t>(seq - next);
      next = seq + 1;
    }
    ChatConn& s = (*conns_)[sender];
    if (seq <= s.acked || seq >= s.sent) return;  // a duplicate: counted as reordered
    const int receivers = static_cast<int>(conns_->size()) - 1;
    const size_t slots = s.heard.size();
    if (++s.heard[static_cast<size_t>(seq) % slots] < receivers) return;
    while (s.acked + 1 < s.sent && s.heard[static_cast<size_t>(s.acked + 1) % slots] >= receivers) {
      s.heard[static_cast<size_t>(++s.acked) % slots] = 0;
    }
    Pump(s);
  }

  gaio::Watcher* w_;
  std::vector<ChatConn>* conns_;
  int senders_;
  const LoadOptions& o_;
  bool sending_ = true;
  int present_ = 0;
  Tally tally_;
};

void CloseAll(std::vector<ChatConn>& conns) {
  for (ChatConn& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
}

}  // namespace

absl::StatusOr<LoadResult> RunChat(const LoadOptions& o) {
  if (o.connections < 2) return absl::InvalidArgumentError("chat needs 2 connections or more");
  const int senders = std::min(o.chat_senders, o.connections);
  if (senders < 1) return absl::InvalidArgumentError("chat needs 1 sender or more");
  absl::StatusOr<gaio::Watcher> w = CallerDriven();
  if (!w.ok()) return w.status();
  std::vector<ChatConn> conns;
  absl::Status opened = OpenChat(o, senders, &conns);
  if (!opened.ok()) {
    CloseAll(conns);
    return opened;
  }
  Chat chat(&*w, &conns, senders, o);
  for (ChatConn& c : conns) {
    if (!chat.Listen(c)) return absl::InternalError("chat: read refused");
  }
  // No line of the run may go out before every client is in the room (a
  // line a client never hears would stall its sender): client 0 repeats the
  // roll call until every other client has heard it.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  absl::Time call = absl::Now();
  while (chat.present() < o.connections - 1) {
    if (absl::Now() >= give_up) {
      w->close().IgnoreError();
      while (w->wait_io().ok()) {
      }
      return absl::DeadlineExceededError(absl::StrCat("chat: ", o.connections - 1 - chat.present(),
                                                      " clients not in the room after 30 s"));
    }
    if (absl::Now() >= call) {
      chat.RollCall(conns[0]);
      call = absl::Now() + absl::Milliseconds(100);
    }
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(absl::Milliseconds(10));
    if (!batch.ok()) return batch.status();
    for (const gaio::OpResult& r : *batch) chat.OnCompletion(r);
  }
  for (int s = 0; s < senders; ++s) chat.Pump(conns[s]);
  const absl::Time counting = absl::Now() + o.warmup;
  const absl::Time end = counting + o.duration;
  bool counted = false;
  while (absl::Now() < end) {
    if (!counted && absl::Now() >= counting) {
      chat.StartCounting();
      counted = true;
    }
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(absl::Milliseconds(10));
    if (!batch.ok()) return batch.status();
    for (const gaio::OpResult& r : *batch) chat.OnCompletion(r);
  }
  chat.StopSending();
  const Tally t = chat.tally();
  w->close().IgnoreError();  // closes every client fd it owns
  for (;;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) chat.OnCompletion(r);
  }
  LoadResult result;
  result.messages = t.deliveries;
  result.msgs_per_s = static_cast<double>(t.deliveries) / absl::ToDoubleSeconds(o.duration);
  result.lost = static_cast<double>(t.lost + t.reordered);
  result.errors = t.errors + t.lost + t.reordered;
  return result;
}

absl::StatusOr<LoadResult> RunChatIdle(const LoadOptions& o) {
  if (o.server_pid <= 0) return absl::InvalidArgumentError("chat_idle needs the server's pid");
  absl::StatusOr<int64_t> before = ReadRssBytes(o.server_pid);
  if (!before.ok()) return before.status();
  absl::StatusOr<gaio::Watcher> w = CallerDriven();
  if (!w.ok()) return w.status();
  std::vector<ChatConn> conns;
  absl::Status opened = OpenChat(o, 0, &conns);
  if (!opened.ok()) {
    CloseAll(conns);
    return opened;
  }
  // message_size 0: the clients only connect. Otherwise one client says a
  // line and every other one hears it: each connection's write path (and one
  // read path) has run once, and the figure includes what the server's heap
  // keeps of that burst (a thousand writes at once).
  LoadResult result;
  for (ChatConn& c : conns) {
    if (!w->read(&c, c.fd, nullptr).ok()) return absl::InternalError("chat_idle: read refused");
  }
  absl::SleepFor(absl::Milliseconds(200));
  const bool talk = o.message_size > 0;
  if (talk && !w->write(nullptr, conns[0].fd, absl::string_view("hello, chat\n")).ok()) {
    ++result.errors;
  }
  const uint64_t due = talk ? static_cast<uint64_t>(o.connections) - 1 : 0;
  uint64_t heard = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (heard < due && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io(absl::Milliseconds(10));
    if (!batch.ok()) return batch.status();
    for (const gaio::OpResult& r : *batch) {
      if (r.op != gaio::OpType::kRead) continue;
      auto* c = static_cast<ChatConn*>(r.ctx);
      if (!r.status.ok()) {
        ++result.errors;
        continue;
      }
      heard += static_cast<uint64_t>(std::count(r.buffer.data(), r.buffer.data() + r.size, '\n'));
      if (!w->read(c, c->fd, nullptr).ok()) ++result.errors;
    }
  }
  if (heard < due) result.errors += due - heard;
  // RSS stable for 500 ms, at least 1 s after the last line, at most 15 s.
  RssSettle settle(0);
  do {
    absl::SleepFor(absl::Milliseconds(100));
  } while (settle.Sample(o.server_pid));
  const int64_t rss = settle.rss();
  w->close().IgnoreError();
  result.messages = heard;
  result.rss_per_conn_bytes = static_cast<double>(rss - *before) / o.connections;
  return result;
}

}  // namespace gaio_bench
