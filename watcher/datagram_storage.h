// Storage for datagram requests, recycled so that steady state allocates
// nothing. PeerArena: the senders' addresses of recv_from completions, in
// two halves that flip with the swap buffer (an address stays valid until the
// next wait_io()). SendTargets: the destination of each pending send_to, held
// by the request. Internal to //watcher; guarded by the Shard's mutex.
#ifndef GAIO_WATCHER_DATAGRAM_STORAGE_H_
#define GAIO_WATCHER_DATAGRAM_STORAGE_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

namespace gaio::internal {

class PeerArena {
 public:
  // A slot of the current half for one address; nullptr if memory is short.
  sockaddr_storage* Reserve() {
    Half& h = halves_[current_];
    const size_t chunk = h.used / kChunk;
    if (chunk == h.chunks.size()) {
      h.chunks.emplace_back(new (std::nothrow) sockaddr_storage[kChunk]);
      if (!h.chunks.back()) {
        h.chunks.pop_back();
        return nullptr;
      }
    }
    return &h.chunks[chunk][h.used++ % kChunk];
  }
  // Gives back the last `n` slots reserved (a batched receive that got fewer
  // datagrams than it had room for), so that the arena holds one slot per
  // address delivered in the batch: bounded by the batch's completions.
  void Unreserve(size_t n) {
    Half& h = halves_[current_];
    h.used = n < h.used ? h.used - n : 0;
  }
  size_t reserved() const { return halves_[current_].used; }
  // The current half's addresses now belong to the batch just taken; the
  // other half, released by the new wait_io() call, is reused.
  void Flip() {
    if (halves_[current_].used == 0) return;
    current_ ^= 1;
    halves_[current_].used = 0;
  }

 private:
  static constexpr size_t kChunk = 64;
  struct Half {
    std::vector<std::unique_ptr<sockaddr_storage[]>> chunks;
    size_t used = 0;
  };
  Half halves_[2];
  int current_ = 0;
};

// The destination of a send_to and the caller's bytes. A request's `data`
// points at one while it is pending (Request::addressed).
struct SendTarget {
  sockaddr_storage addr;
  socklen_t addr_len;
  char* data;
};

class SendTargets {
 public:
  // A target holding a copy of `addr`; nullptr if memory is short.
  SendTarget* Get(const sockaddr* addr, socklen_t len, char* data) {
    SendTarget* t = free_.empty() ? new (std::nothrow) SendTarget : free_.back();
    if (t == nullptr) return nullptr;
    if (!free_.empty()) free_.pop_back();
    std::memcpy(&t->addr, addr, len);
    t->addr_len = len;
    t->data = data;
    return t;
  }
  void Put(SendTarget* t) { free_.push_back(t); }
  ~SendTargets() {
    for (SendTarget* t : free_) delete t;
  }

 private:
  std::vector<SendTarget*> free_;
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_DATAGRAM_STORAGE_H_
