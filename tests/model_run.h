// Internals of RunModel(): the state of one run and the reference model the
// completions are checked against. model_run.cc plays the operations,
// model_check.cc checks completions and byte streams.
#ifndef GAIO_TESTS_MODEL_RUN_H_
#define GAIO_TESTS_MODEL_RUN_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/model_driver.h"
#include "watcher/watcher.h"

namespace gaio::model {

// Byte `offset` of the stream named `key`: every stream the model checks is a
// pure function of its key, so a misplaced, lost or repeated byte shows.
uint8_t StreamByte(uint64_t key, uint64_t offset);

enum class Kind {
  kRead,
  kSwapRead,
  kReadFull,
  kWrite,
  kWritev,
  kConnect,
  kTimer,
  kPost,
  kReadable,
  kWritable  // wait_readable / wait_writable
};

struct Conn;

struct Req {
  uint64_t id = 0;
  Conn* conn = nullptr;  // nullptr for timers and posts
  int fd = -1;
  Kind kind = Kind::kRead;
  std::unique_ptr<char[]> buf;  // own read buffer or write data
  size_t len = 0;
  absl::Time deadline = absl::InfiniteFuture();
  absl::Time due = absl::InfiniteFuture();  // timers: not before this
  bool cancel_ok = false;     // free()/close()/release() was called while it was pending
  bool must_cancel = false;   // cancel() of its ctx returned OK: Cancelled it is
  // Queued behind a connect that cancel() ended, with a deadline that had
  // passed when cancel() returned: the engine may have completed it with
  // DeadlineExceeded before the cancel took effect (model_run.cc CancelOne).
  bool deadline_may_win = false;
  bool drain = false;         // a read of the final drain: resubmitted until EOF
  bool is_read() const {
    return kind == Kind::kRead || kind == Kind::kSwapRead || kind == Kind::kReadFull;
  }
  bool is_write() const { return kind == Kind::kWrite || kind == Kind::kWritev; }
  bool is_readiness() const { return kind == Kind::kReadable || kind == Kind::kWritable; }
  // The queue of the conn it waits in: reads (and wait_readable), or writes
  // (connects and wait_writable too).
  bool in_reads() const { return is_read() || kind == Kind::kReadable; }
};

// A write's bytes that the peer must receive next, in order.
struct Segment {
  uint64_t key;
  uint64_t offset;
  uint64_t left;
};

enum class PeerState { kOpen, kShutWr, kClosed };

struct Conn {
  int index = 0;  // creation order, for messages
  bool tcp = false;
  int watched = -1;
  int peer = -1;                // -1 once the peer closed
  bool registered = false;      // the watcher owns `watched`
  bool watched_closed = false;  // by free(), close() or the driver
  PeerState peer_state = PeerState::kOpen;
  // Peer -> watched: bytes of stream `in_key`.
  uint64_t in_key = 0;
  uint64_t sent = 0;            // accepted by the peer's kernel
  uint64_t delivered = 0;       // reported by read completions
  bool reset_possible = false;  // reads may fail with ECONNRESET
  bool lossy_in = false;        // a RST may drop bytes the peer sent
  // Watched -> peer: segments reported by write completions, and bytes the
  // peer received that no reported segment covers yet.
  std::deque<Segment> segments;
  std::string unmatched;
  uint64_t peer_received = 0;
  bool lossy_out = false;              // our RST may drop bytes the writes reported
  std::deque<uint64_t> reads, writes;  // pending request ids, in order (connects in writes)
  uint64_t connecting = 0;             // the pending connect's id, 0 if none
  // The status a connect failed with (the peer reset before it completed):
  // the requests behind it, and every later one, complete with it.
  absl::Status connect_failure;
};

class Run {
 public:
  Run(Choices& choices, const DriverOptions& options);
  ~Run();
  DriverResult Play();

 private:
  // ---- model_run.cc: operations
  void Setup();
  void Step();
  Conn* NewConn();
  Conn* PickConn();
  void SubmitRead(Conn* c, Kind kind, bool drain = false);
  void SubmitReadiness(Conn* c, bool write);
  void SubmitWrite(Conn* c);
  void SubmitTimer();
  void SubmitPost();
  void CancelOne(Conn* c);
  void CancelTimer();
  void Release(Conn* c);
  absl::Time PickDeadline();
  void PeerWrite(Conn* c);
  void PeerRead(Conn* c, size_t max);
  void PeerShutdown(Conn* c);
  void PeerClose(Conn* c, bool reset);
  void Free(Conn* c);
  void FreeUnowned(Conn* c);
  void EndGracefully();
  void EndAbruptly();
  void Finalize(Conn* c);
  void Cleanup();
  void Accept(std::unique_ptr<Req> q, const absl::Status& s);
  size_t PeerReadAll(Conn* c);

  // ---- model_check.cc: completions
  // One wait_io(timeout) call (poll_io for zero); checks its batch. Returns
  // false when wait_io failed (its status in *error when given).
  bool Wait(absl::Duration timeout, absl::Status* error = nullptr);
  void Check(const OpResult& r);
  void CheckLoose(const OpResult& r, std::map<uint64_t, std::unique_ptr<Req>>::iterator it);
  bool CheckStatus(const OpResult& r, const Req& q);
  void CheckReadBytes(Conn* c, const char* data, size_t n, const char* what);
  void Match(Conn* c);
  void CheckSwapUnchanged();
  void RetireDone();

  void Fail(absl::string_view what);
  bool failed() const { return !failure_.empty(); }
  void Trace(std::string line);

  Choices& choices_;
  const DriverOptions options_;
  DriverStats stats_;
  std::string failure_;
  std::deque<std::string> trace_;  // the last operations, for failure reports

  int mode_ = 1;
  size_t swap_size_ = 0;
  int fd_baseline_ = 0;
  bool abrupt_ = false;  // end with close() instead of draining
  std::optional<Watcher> watcher_;
  std::vector<std::unique_ptr<Conn>> conns_;  // every conn of the run
  std::vector<Conn*> slots_;                  // the live ones
  std::vector<Conn*> retired_;                // freed, waiting for their completions
  std::map<uint64_t, std::unique_ptr<Req>> pending_;
  std::string peer_buf_;         // PeerRead's buffer
  std::deque<uint64_t> timers_;  // pending timer ids, in (due, id) order
  std::deque<uint64_t> posts_;   // pending post ids, in order
  int listener_ = -1;            // for conns made by the watcher's connect()
  uint64_t next_id_ = 1;
  uint64_t next_key_ = 2;
  // Swap bytes of the last batch: must stay unchanged until the next wait_io.
  struct SwapCheck {
    const char* data;
    size_t size;
    uint64_t key;
    uint64_t offset;
  };
  std::vector<SwapCheck> last_swap_;
};

}  // namespace gaio::model

#endif  // GAIO_TESTS_MODEL_RUN_H_
