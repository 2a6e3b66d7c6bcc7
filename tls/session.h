// gaio::tls::Session: one TLS connection as a sans-I/O state machine.
//
// A Session owns no socket, thread or clock. Whoever drives it (a Watcher
// loop, the coroutine adapter, a test, the fuzzer) moves bytes:
//   - feed(ciphertext): bytes read from the transport, e.g. straight out of a
//     swap-buffer read. The session consumes all of them before it returns and
//     keeps no pointer to them: handshake messages are answered (into the
//     outgoing ciphertext), application data is decrypted into the caller's
//     `plaintext_out` first and, for what does not fit, into a plaintext buffer
//     of the session that read()/plaintext() drain. A partial record waits
//     inside OpenSSL's record buffer until the rest comes.
//   - write(plaintext): encrypts now (before the handshake has finished it is
//     queued and encrypted when it has).
//   - take_ciphertext() / ciphertext()+consume_ciphertext(): bytes to write to
//     the transport. Check after every call: feed() produces handshake replies,
//     alerts and, in TLS 1.3, tickets.
//   - feed_eof(): the transport ended; tells a clean close from a truncation.
//   - shutdown(): queues close_notify.
// A client Session queues its ClientHello at Create.
//
// Memory: buffers are allocated while they hold bytes and released when they
// are drained (into a small per-thread cache of spares, see give_back()). An established session
// that has no unread plaintext and whose ciphertext was taken holds no read or write buffer,
// neither OpenSSL's (SSL_MODE_RELEASE_BUFFERS) nor ours; docs/TLS.md gives the bytes it holds.
//
// States: kHandshaking -> kEstablished -> (shutdown() and/or the peer's
// close_notify) -> kClosed; any failure -> kFailed, after which every call
// returns the same status (status()). A failure may still have left an alert
// in ciphertext() worth sending before the transport is closed.
//
// Errors are the statuses of tls/status.h; nothing throws. OpenSSL's error
// queue is cleared before and drained after each call, so a session's status
// never carries another's failure.
//
// Thread safety: a Session is used by one thread at a time (it is not
// internally locked); distinct sessions may run on distinct threads, also
// when made from one Context.
//
// Kernel TLS seam: once established, the record keys and sequence numbers
// could be handed to the kernel (setsockopt(SOL_TLS, TLS_TX/TLS_RX)) and the
// socket then read and written as plaintext. offload_to_kernel() is that
// point; it returns Unimplemented (the kernels this is built on have no tls
// ULP). See docs/TLS.md.
#ifndef GAIO_TLS_SESSION_H_
#define GAIO_TLS_SESSION_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "tls/context.h"
#include "tls/status.h"

namespace gaio::tls {

// A client's ticket for resuming a later connection to the same server.
// Copyable; may be used from any thread. TLS 1.3 tickets are meant to be used
// once: take a fresh one from each connection.
class ResumptionTicket {
 public:
  struct Impl;
  explicit ResumptionTicket(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  const std::shared_ptr<Impl>& impl() const { return impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

struct SessionOptions {
  // Clients: the server's name, sent as SNI and checked against its
  // certificate when the Context verifies peers. An IP address is checked
  // against the certificate's IP entries and sent without SNI. Empty: no SNI
  // and no name check (the chain is still verified). Servers: ignored.
  std::string server_name;
  // Clients: resume the session this ticket came from, when the server agrees.
  std::optional<ResumptionTicket> resume_from;
};

enum class SessionState { kHandshaking, kEstablished, kClosed, kFailed };

class Session {
 public:
  // A session of `context`'s role. A client's ClientHello is in ciphertext()
  // on return. Fails with kInternal when OpenSSL cannot allocate, or
  // InvalidArgument for a server_name OpenSSL rejects.
  static absl::StatusOr<Session> Create(const Context& context, const SessionOptions& options = {});

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  // Consumes all of `ciphertext` (see above). Returns the bytes decrypted into
  // `plaintext_out` (the rest, if any, is in plaintext()). The status is the
  // session's failure, if the bytes caused one or it had failed before; when
  // a failure follows plaintext already written to `plaintext_out`, feed
  // returns that count and the failure comes with the next call (state() is
  // kFailed at once). Plaintext decrypted before a failure stays readable. A
  // close_notify is not a failure: it returns OK and peer_closed() turns true
  // (bytes after it are discarded).
  absl::StatusOr<size_t> feed(absl::Span<const char> ciphertext, absl::Span<char> plaintext_out);
  absl::Status feed(absl::Span<const char> ciphertext);

  // The transport ended (read returned 0). Returns kClosed (OutOfRange) when
  // close_notify had come, the failure if the session had failed, otherwise
  // kTruncated (DataLoss): the peer, or someone on the path, cut the stream,
  // possibly in the middle of a record or of the handshake. The session is
  // then kClosed or kFailed.
  absl::Status feed_eof();

  // Copies up to out.size() bytes of decrypted plaintext into `out`. Returns
  // the count; 0 when none is buffered and more ciphertext is needed. Once
  // the buffered plaintext is drained: kClosed (OutOfRange) after the peer's
  // close_notify, the failure status after a failure.
  absl::StatusOr<size_t> read(absl::Span<char> out);
  // The buffered plaintext, valid until the next non-const call; and dropping
  // its first n bytes (n <= plaintext().size()).
  absl::string_view plaintext() const;
  void consume_plaintext(size_t n);

  // Encrypts `plaintext` into the outgoing ciphertext (or queues it while
  // handshaking). FailedPrecondition after shutdown(); the failure status
  // after a failure. Empty input is a no-op.
  absl::Status write(absl::Span<const char> plaintext);

  // Queues close_notify; later write()s fail. Reading goes on until the
  // peer's close_notify. Before the handshake has finished, nothing is sent
  // and the session is kClosed. Idempotent.
  absl::Status shutdown();

  // Outgoing ciphertext: a view valid until the next non-const call, and
  // dropping the first n bytes; or all of it, moved out (the session starts an
  // empty buffer; the caller owns the string for as long as its write lasts).
  absl::string_view ciphertext() const;
  void consume_ciphertext(size_t n);
  std::string take_ciphertext();
  // Optional: hands a string from take_ciphertext() back once it has been
  // written, so that its memory serves the next records encrypted on this
  // thread (by any session) instead of being freed and allocated again. The
  // thread keeps at most 4 such spare buffers of at most 256 KiB (its own
  // memory, not any session's: an idle session still holds none).
  void give_back(std::string buffer);

  SessionState state() const;
  bool handshake_done() const;
  bool peer_closed() const;     // the peer's close_notify came
  absl::Status status() const;  // OK unless kFailed

  // After the handshake: the negotiated version, ALPN protocol ("" if none),
  // the SNI name the client sent ("" if none; servers), whether the session
  // was resumed.
  Version version() const;
  std::string alpn_protocol() const;
  std::string server_name() const;
  bool resumed() const;
  // Clients: a ticket for resuming, once the server has sent one (in TLS 1.3
  // that comes after the handshake, with the first bytes fed after it). The
  // ticket is a copy: it outlives this session, however it ends.
  std::optional<ResumptionTicket> resumption_ticket() const;

  // Bytes of the session's own buffers (plaintext, ciphertext and queued
  // writes) currently allocated: 0 when idle. For tests and docs/TLS.md.
  size_t buffered_capacity() const;

  // The kernel TLS seam (see above): Unimplemented.
  absl::Status offload_to_kernel(int fd);

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gaio::tls

#endif  // GAIO_TLS_SESSION_H_
