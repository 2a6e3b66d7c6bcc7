// Session::Impl: the state behind a gaio::tls::Session, and the BIO that
// connects its SSL object to it. Internal to //tls.
#ifndef GAIO_TLS_INTERNAL_SESSION_IMPL_H_
#define GAIO_TLS_INTERNAL_SESSION_IMPL_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "tls/internal/context_impl.h"
#include "tls/session.h"

namespace gaio::tls {

struct ResumptionTicket::Impl {
  explicit Impl(SSL_SESSION* s) : session(s) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { SSL_SESSION_free(session); }
  SSL_SESSION* session;
};

// Spare buffers of this thread: memory that drained DrainBuffers (and
// buffers given back with Session::give_back) leave behind, for the next
// session on this thread that needs one. A stream through any number of
// sessions then allocates nothing per record, while an idle session holds no
// buffer (the memory belongs to the thread, bounded: kMaxSpares buffers of at
// most kMaxSpareCapacity bytes). Without it, every record would allocate and
// free 16-128 KiB blocks at the heap's top, which glibc trims and faults
// back each time (docs/TLS.md, "The heap's top").
inline constexpr size_t kMaxSpares = 4;
inline constexpr size_t kMaxSpareCapacity = 256 * 1024;
// An empty string, with the capacity of a spare when there is one.
std::string TakeSpare();
// Keeps `s`'s memory as a spare (or frees it: too large, or enough spares).
void GiveSpare(std::string s);

// A byte buffer with a read offset, released (capacity 0: its memory goes
// to the thread's spares) once drained.
class DrainBuffer {
 public:
  absl::string_view view() const { return absl::string_view(bytes_).substr(pos_); }
  bool empty() const { return pos_ == bytes_.size(); }
  void append(const char* data, size_t n) {
    if (bytes_.empty()) Borrow();
    bytes_.append(data, n);
  }
  // Room for n more bytes at the end; Commit(k) keeps k of them.
  char* Grow(size_t n);
  void Commit(size_t reserved, size_t kept) { bytes_.resize(bytes_.size() - reserved + kept); }
  void consume(size_t n);
  std::string take();
  size_t heap_bytes() const;
  void Release();

 private:
  void Borrow();  // a spare's memory, when this buffer has none of its own

  std::string bytes_;
  size_t pos_ = 0;
};

struct Session::Impl {
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();

  std::shared_ptr<const Context::Impl> context;
  SSL* ssl = nullptr;

  // The BIO's source: the span given to feed(), during that call only.
  absl::Span<const char> input;
  bool input_eof = false;
  DrainBuffer ciphertext;  // the BIO's sink: records to send
  DrainBuffer plaintext;   // decrypted, not yet read
  DrainBuffer queued;      // written before the handshake finished

  bool handshake_done = false;
  bool shutdown_sent = false;
  bool peer_closed = false;
  bool eof_clean = false;
  bool renegotiation_refused = false;  // we answered a renegotiation with no_renegotiation
  absl::Status failure;                // not OK once failed

  // Drives the handshake and decrypts everything `input` holds.
  absl::StatusOr<size_t> Process(absl::Span<char> out);
  absl::Status Fail(absl::Status status);
  absl::Status Flush();  // encrypts `queued`
  absl::Status Encrypt(absl::Span<const char> plaintext);
};

// A new BIO whose reads take from impl->input and whose writes append to
// impl->ciphertext; nullptr when OpenSSL cannot allocate.
BIO* NewSessionBio(Session::Impl* impl);

}  // namespace gaio::tls

#endif  // GAIO_TLS_INTERNAL_SESSION_IMPL_H_
