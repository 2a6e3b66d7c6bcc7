// The batched driver of the UDP echo workload (udp_book.h): plain
// level-triggered epoll over the senders' sockets; for each ready socket one
// recvmmsg takes its echoes and one sendmmsg sends the datagrams of the slots
// they freed. The sockets are blocking (a sendmmsg sends all it is given
// unless it fails); receives use MSG_DONTWAIT.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "benchmarks/udp_book.h"

namespace gaio_bench::udp {
namespace {

// A sender's receive buffers and the slots it has to send.
struct Lane {
  Sender* sender;
  std::vector<std::vector<char>> in;
  std::vector<mmsghdr> rx;
  std::vector<iovec> rx_iov;
  std::vector<Slot*> to_send;
  std::vector<mmsghdr> tx;
  std::vector<iovec> tx_iov;
};

// Sends lane.to_send in one sendmmsg (the rest again if the kernel took only
// part); what fails waits for the next flush.
void Flush(Book& book, Lane& lane) {
  size_t done = 0;
  while (done < lane.to_send.size()) {
    const size_t n = lane.to_send.size() - done;
    for (size_t i = 0; i < n; ++i) {
      Slot& slot = *lane.to_send[done + i];
      book.Prepare(slot);
      lane.tx_iov[i] = {slot.out.data(), slot.out.size()};
      lane.tx[i] = {};
      lane.tx[i].msg_hdr.msg_iov = &lane.tx_iov[i];
      lane.tx[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = sendmmsg(lane.sender->fd, lane.tx.data(), static_cast<unsigned>(n), 0);
    if (sent <= 0) {
      if (sent < 0 && errno == EINTR) continue;
      // ECONNREFUSED (an ICMP error of an earlier datagram), ENOBUFS...:
      // counted; the slots not sent try again at the next flush.
      book.Error();
      for (size_t i = done; i < lane.to_send.size(); ++i) lane.to_send[i]->awaiting = false;
      lane.to_send.erase(lane.to_send.begin(),
                         lane.to_send.begin() + static_cast<std::ptrdiff_t>(done));
      return;
    }
    done += static_cast<size_t>(sent);
  }
  lane.to_send.clear();
}

void Receive(Book& book, Lane& lane, bool counting) {
  for (size_t i = 0; i < lane.rx.size(); ++i) {
    lane.rx_iov[i] = {lane.in[i].data(), lane.in[i].size()};
    lane.rx[i] = {};
    lane.rx[i].msg_hdr.msg_iov = &lane.rx_iov[i];
    lane.rx[i].msg_hdr.msg_iovlen = 1;
  }
  const int n = recvmmsg(lane.sender->fd, lane.rx.data(), static_cast<unsigned>(lane.rx.size()),
                         MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) book.Error();
    return;
  }
  const uint64_t now = NowNs();
  for (int i = 0; i < n; ++i) {
    if (lane.rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
      book.Error();  // larger than anything sent
      continue;
    }
    Slot* slot = book.OnEcho(*lane.sender, lane.in[i].data(), lane.rx[i].msg_len, now, counting);
    if (slot != nullptr) lane.to_send.push_back(slot);
  }
}

}  // namespace

absl::Status DriveBatched(Book& book, const LoadOptions& o) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  std::vector<Lane> lanes(book.senders().size());
  for (size_t i = 0; i < lanes.size(); ++i) {
    Lane& lane = lanes[i];
    lane.sender = book.senders()[i].get();
    const size_t w = lane.sender->slots.size();
    lane.in.assign(w, std::vector<char>(o.message_size + 64));  // room to see more
    lane.rx.resize(w);
    lane.rx_iov.resize(w);
    lane.tx.resize(w);
    lane.tx_iov.resize(w);
    for (Slot& slot : lane.sender->slots) lane.to_send.push_back(&slot);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &lane;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lane.sender->fd, &ev) != 0) {
      const absl::Status s = absl::ErrnoToStatus(errno, "epoll_ctl");
      close(ep);
      return s;
    }
  }
  for (Lane& lane : lanes) Flush(book, lane);
  const uint64_t start = NowNs();
  const uint64_t measure_from = start + static_cast<uint64_t>(absl::ToInt64Nanoseconds(o.warmup));
  const uint64_t end = measure_from + static_cast<uint64_t>(absl::ToInt64Nanoseconds(o.duration));
  uint64_t next_expiry = start;
  std::vector<epoll_event> events(lanes.size());
  for (uint64_t now = start; now < end; now = NowNs()) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
    now = NowNs();
    const bool counting = now >= measure_from;
    for (int i = 0; i < n; ++i) {
      Lane& lane = *static_cast<Lane*>(events[i].data.ptr);
      Receive(book, lane, counting);
      Flush(book, lane);
    }
    if (now >= next_expiry) {
      // Slots given up on, and those a failed send left, send again.
      book.Expire(now, counting,
                  [&](Slot& slot) { lanes[slot.sender->id].to_send.push_back(&slot); });
      for (Lane& lane : lanes) {
        if (!lane.to_send.empty()) Flush(book, lane);
      }
      next_expiry = now + 10'000'000u;  // every 10 ms
    }
  }
  close(ep);
  return absl::OkStatus();  // the book closes the sockets
}

}  // namespace gaio_bench::udp
