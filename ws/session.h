// gaio::ws::Session: one WebSocket connection (RFC 6455, after the HTTP
// upgrade) as a sans-I/O state machine, with permessage-deflate (RFC 7692).
//
// A Session owns no socket, thread or clock. The driver moves bytes:
//   Receiving: feed(input), then next() until it returns an event of type
//     kNone. next() returns one event at a time: a complete message (text or
//     binary), a ping, a pong, or the peer's close. The input is modified in
//     place (payloads are unmasked where they lie) and must stay valid until
//     next() returned kNone; by then every byte of it was consumed, partial
//     frames being copied into the session. A message that arrived as one
//     uncompressed frame inside one input is returned as a view into the input
//     (Event::zero_copy); any other message is assembled in a buffer of the
//     session. Either way Event::data is valid until the next call of next()
//     or feed() (and, for a view, no longer than the input). The assembly
//     buffer is released by the next call of next() after its message.
//   Sending: send_text()/send_binary()/ping()/pong()/close() append whole
//     frames (masked for the client role, compressed when negotiated) to the
//     session's output; output() + consume_output() drain it (the buffer is
//     released when drained). For large payloads without a copy, prepare()
//     returns only the frame header and masks the caller's payload in place
//     (client role): write output() first, then the header, then the payload
//     (one writev).
//   Automatic replies: a ping is answered with a pong carrying its payload;
//     the peer's close is answered with a close echoing its code. Both go to
//     output(): check it after next().
//
// Errors: a protocol violation fails the session. next() returns the failure
//   (ws/status.h: CloseCodeOf() gives the code: 1002 protocol, 1007 bad UTF-8,
//   1009 too big), the session has queued a close frame with that code in
//   output(), and every later next() returns the same status. The driver
//   writes output() and closes the transport. Sending after close() or after a
//   failure returns FailedPrecondition.
// Close: after the peer's close event, next() returns only kNone; the
//   connection is over once close_sent() && close_received() (the server then
//   closes TCP first, RFC 6455 7.1.1).
// Memory: an idle session (no partial frame, output drained) is the object
//   alone (64 bytes on x86-64) and holds no heap block, bar one block for the
//   two zlib streams with permessage-deflate, plus zlib's state with context
//   takeover (compression_memory(); docs/WEBSOCKET.md has the figures),
//   released after each message with no_context_takeover. Receiving
//   allocates nothing for a frame that lies whole in one input and is a
//   control frame or a whole uncompressed message; any other message (split
//   across inputs, fragmented or compressed), and a control frame split
//   across inputs, allocates the receive state once, with the assembly
//   buffer, freed by the call of next() after its event. Output allocates a
//   buffer when a frame is queued, freed once drained.
// Thread safety: one thread at a time; distinct sessions are independent.
#ifndef GAIO_WS_SESSION_H_
#define GAIO_WS_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ws/deflate.h"
#include "ws/frame.h"
#include "ws/internal/byte_queue.h"
#include "ws/status.h"
#include "ws/utf8.h"

namespace gaio::ws {

namespace internal {
struct Zlib;  // the inflater and the deflater (internal/zstream.h)
}  // namespace internal

enum class Role : uint8_t { kClient, kServer };
enum class MessageType : uint8_t { kText = 1, kBinary = 2 };

struct SessionOptions {
  Role role = Role::kServer;
  // Largest message accepted, after inflation; larger fails with 1009.
  uint64_t max_message_size = uint64_t{16} << 20;
  // Answer pings with pongs automatically.
  bool auto_pong = true;
  // The permessage-deflate parameters agreed in the handshake; nullopt: none.
  std::optional<DeflateParams> deflate;
  // zlib memLevel for compressing (1..9): memory against ratio.
  int deflate_mem_level = 8;
};

struct Event {
  enum class Type : uint8_t { kNone, kText, kBinary, kPing, kPong, kClose };
  Type type = Type::kNone;
  // Message, ping or pong payload; close reason (see the lifetime above).
  absl::Span<const uint8_t> data;
  // kClose: the peer's code, kCloseNoStatus (1005) when its frame had none.
  uint16_t close_code = 0;
  // data points into the input given to feed().
  bool zero_copy = false;

  absl::string_view text() const {
    return absl::string_view(reinterpret_cast<const char*>(data.data()), data.size());
  }
};

// A frame header for prepare(): write header() and then payload.
struct PreparedFrame {
  uint8_t header_bytes[kMaxFrameHeaderSize];
  uint8_t header_size = 0;
  absl::Span<const uint8_t> payload;
  absl::Span<const uint8_t> header() const { return {header_bytes, header_size}; }
};

class Session {
 public:
  explicit Session(SessionOptions options);
  Session() : Session(SessionOptions{}) {}  // a server without deflate
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // Moving takes the whole state, the input fed and not consumed included;
  // the moved-from session may only be destroyed or assigned to.
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  Role role() const { return role_; }
  // permessage-deflate was agreed.
  bool deflate() const { return zlib_ != nullptr; }

  // Receiving (see above). feed() replaces any input not yet consumed by next()
  // only once next() returned kNone; calling it earlier is a misuse that
  // appends nothing and makes next() return FailedPrecondition.
  void feed(absl::Span<uint8_t> input);
  absl::StatusOr<Event> next();
  // The bytes of the current input that next() has not looked at yet, which
  // are given up: the input counts as consumed (the events already returned
  // stay valid as before). A driver that stops calling next() after a
  // message keeps these (copies them if the input is not its own) and
  // feed()s them later, in order, before any new input.
  absl::Span<uint8_t> detach_input();

  // Sending whole messages into output(). FailedPrecondition after close()
  // or a failure; text is not validated (the caller's contract).
  absl::Status send_text(absl::string_view text);
  absl::Status send_binary(absl::Span<const uint8_t> data);
  absl::Status send(MessageType type, absl::Span<const uint8_t> data);
  // Zero-copy frame: the header for `payload`, masked in place for the
  // client role; never compressed. With fin=false, later prepare() calls
  // continue the message (their type is ignored) until one has fin=true.
  absl::StatusOr<PreparedFrame> prepare(MessageType type, absl::Span<uint8_t> payload,
                                        bool fin = true);
  // Control frames: payload at most 125 bytes (InvalidArgument otherwise).
  absl::Status ping(absl::Span<const uint8_t> payload = {});
  absl::Status pong(absl::Span<const uint8_t> payload = {});
  // Queues a close frame: `code` must be valid on the wire (or
  // kCloseNoStatus for an empty close), reason at most 123 bytes of UTF-8.
  absl::Status close(uint16_t code = kCloseNormal, absl::string_view reason = "");

  // Bytes to write to the transport, oldest first.
  absl::Span<const uint8_t> output() const;
  void consume_output(size_t n);

  bool close_sent() const { return close_sent_; }
  // A message begun with prepare(fin=false) is not finished yet.
  bool sending_fragmented() const { return sending_fragmented_; }
  bool close_received() const { return close_received_; }
  // The first failure, OK while none.
  const absl::Status& status() const { return status_; }

  // Heap bytes held now by the receive state (assembly buffer included) and
  // the output buffer (not zlib).
  size_t buffered_bytes() const;
  // Bytes of zlib state held now.
  size_t compression_memory() const;

 private:
  struct Receive;  // a frame or message that straddles inputs (session.cc)

  absl::StatusOr<Event> Fail(uint16_t code, absl::string_view why);
  absl::Status ValidateHeader(const FrameHeader& h) const;
  int ReadHeader(FrameHeader* h);
  Receive& BeginFrame(const FrameHeader& h);
  absl::StatusOr<Event> HandleControl(uint8_t opcode, absl::Span<const uint8_t> payload);
  absl::Status AppendData(Receive& r, uint8_t* data, size_t size);
  absl::StatusOr<Event> Deliver(Receive& r);
  void QueueFrame(uint8_t opcode, bool rsv1, absl::Span<const uint8_t> payload);
  absl::Status CheckCanSend() const;

  absl::Status status_;
  // Input of the current feed(): in_ is the next byte next() looks at.
  uint8_t* in_ = nullptr;
  uint8_t* in_end_ = nullptr;
  // Null at a frame boundary with no message being assembled (next() frees
  // it once the event whose bytes it holds is over).
  std::unique_ptr<Receive> rx_;
  internal::ByteQueue out_;               // no block while drained
  std::unique_ptr<internal::Zlib> zlib_;  // null without permessage-deflate
  // The options, compactly.
  uint64_t max_message_size_;
  Role role_;
  bool auto_pong_;
  bool own_no_takeover_ = false;   // reset the deflater after each message sent
  bool peer_no_takeover_ = false;  // reset the inflater after each message received
  bool sending_fragmented_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
};

}  // namespace gaio::ws

#endif  // GAIO_WS_SESSION_H_
