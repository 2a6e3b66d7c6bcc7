#include "tls/session.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tls/internal/openssl_error.h"
#include "tls/internal/session_impl.h"

namespace gaio::tls {
namespace {

using internal::ErrorScope;
using internal::QueueStatus;
using internal::SessionStatus;

bool IsIpAddress(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// Sees our own outgoing alerts: OpenSSL answers a TLS 1.2 renegotiation
// attempt (a ClientHello to an established server, a HelloRequest to a client)
// with a no_renegotiation warning and carries on; we end the session instead.
void MessageCallback(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                     SSL* /*ssl*/, void* arg) {
  if (write_p != 1 || content_type != SSL3_RT_ALERT || len != 2) return;
  const auto* alert = static_cast<const unsigned char*>(buf);
  if (alert[1] == SSL_AD_NO_RENEGOTIATION) {
    static_cast<Session::Impl*>(arg)->renegotiation_refused = true;
  }
}

}  // namespace

Session::Impl::~Impl() { SSL_free(ssl); }

absl::Status Session::Impl::Fail(absl::Status status) {
  if (failure.ok()) failure = std::move(status);
  queued.Release();  // never to be sent; the plaintext decrypted before stays readable
  return failure;
}

absl::Status Session::Impl::Flush() {
  while (!queued.empty()) {
    const absl::string_view bytes = queued.view();
    size_t written = 0;
    const int r = SSL_write_ex(ssl, bytes.data(), bytes.size(), &written);
    if (r != 1) return Fail(SessionStatus(ssl, SSL_get_error(ssl, r), false));
    queued.consume(written);
  }
  return absl::OkStatus();
}

absl::Status Session::Impl::Encrypt(absl::Span<const char> plaintext) {
  while (!plaintext.empty()) {
    size_t written = 0;
    const int r = SSL_write_ex(ssl, plaintext.data(), plaintext.size(), &written);
    if (r != 1) return Fail(SessionStatus(ssl, SSL_get_error(ssl, r), false));
    plaintext.remove_prefix(written);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Session::Impl::Process(absl::Span<char> out) {
  size_t produced = 0;
  if (!handshake_done) {
    const int r = SSL_do_handshake(ssl);
    if (r == 1) {
      handshake_done = true;
      if (absl::Status s = Flush(); !s.ok()) return s;
      if (shutdown_sent) SSL_shutdown(ssl);
    } else {
      const int error = SSL_get_error(ssl, r);
      if (error != SSL_ERROR_WANT_READ) return Fail(SessionStatus(ssl, error, true));
      return produced;  // all input taken: OpenSSL keeps a partial record itself
    }
  }
  while (!peer_closed) {
    size_t n = 0;
    int r;
    if (produced < out.size()) {
      r = SSL_read_ex(ssl, out.data() + produced, out.size() - produced, &n);
      if (r == 1) {
        produced += n;
        continue;
      }
    } else {
      // `out` is full: learn the size of the next record's plaintext by
      // peeking, and keep exactly that.
      char probe;
      r = SSL_peek_ex(ssl, &probe, 1, &n);
      if (r == 1) {
        const size_t pending = static_cast<size_t>(SSL_pending(ssl));
        char* dst = plaintext.Grow(pending);
        r = SSL_read_ex(ssl, dst, pending, &n);
        plaintext.Commit(pending, r == 1 ? n : 0);
        if (r == 1) continue;
      }
    }
    const int error = SSL_get_error(ssl, r);
    if (error == SSL_ERROR_WANT_READ) break;
    if (error == SSL_ERROR_ZERO_RETURN) {
      peer_closed = true;
      break;
    }
    absl::Status s = Fail(SessionStatus(ssl, error, false));
    if (produced > 0) return produced;  // the failure comes with the next call
    return s;
  }
  if (renegotiation_refused) {
    absl::Status s = Fail(MakeTlsStatus(TlsError::kRenegotiationRefused,
                                        "the peer tried to renegotiate (TLS 1.2): refused"));
    if (produced == 0) return s;
  }
  return produced;
}

absl::StatusOr<Session> Session::Create(const Context& context, const SessionOptions& options) {
  ErrorScope errors;
  auto impl = std::make_unique<Impl>();
  impl->context = context.impl();
  const Context::Impl& c = *impl->context;
  impl->ssl = SSL_new(c.ctx);
  if (impl->ssl == nullptr) return QueueStatus(TlsError::kInternal, "SSL_new");
  SSL* ssl = impl->ssl;
  BIO* bio = NewSessionBio(impl.get());
  if (bio == nullptr) return QueueStatus(TlsError::kInternal, "BIO_new");
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by ssl
  SSL_set_msg_callback(ssl, MessageCallback);
  SSL_set_msg_callback_arg(ssl, impl.get());
  if (c.server) {
    SSL_set_accept_state(ssl);
    return Session(std::move(impl));
  }
  SSL_set_connect_state(ssl);
  const std::string& name = options.server_name;
  if (!name.empty()) {
    const bool ip = IsIpAddress(name);
    if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      return QueueStatus(TlsError::kInvalidConfiguration, absl::StrCat("server_name '", name, "'"));
    }
    if (c.verify_peer) {
      const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                        : SSL_set1_host(ssl, name.c_str());
      if (ok != 1) {
        return QueueStatus(TlsError::kInvalidConfiguration,
                           absl::StrCat("server_name '", name, "'"));
      }
    }
  }
  if (options.resume_from.has_value() &&
      SSL_set_session(ssl, options.resume_from->impl()->session) != 1) {
    return QueueStatus(TlsError::kInvalidConfiguration, "resume_from");
  }
  absl::StatusOr<size_t> hello = impl->Process({});  // the ClientHello
  if (!hello.ok()) return hello.status();
  return Session(std::move(impl));
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

absl::StatusOr<size_t> Session::feed(absl::Span<const char> ciphertext,
                                     absl::Span<char> plaintext_out) {
  Impl& s = *impl_;
  if (!s.failure.ok()) return s.failure;
  if (s.peer_closed || s.input_eof) return size_t{0};  // bytes after close_notify: discarded
  ErrorScope errors;
  s.input = ciphertext;
  absl::StatusOr<size_t> produced = s.Process(plaintext_out);
  s.input = {};
  return produced;
}

absl::Status Session::feed(absl::Span<const char> ciphertext) {
  return feed(ciphertext, absl::Span<char>()).status();
}

absl::Status Session::feed_eof() {
  Impl& s = *impl_;
  s.input_eof = true;
  if (!s.failure.ok()) return s.failure;
  if (s.peer_closed) {
    s.eof_clean = true;
    return MakeTlsStatus(TlsError::kClosed, "the peer closed the TLS stream (close_notify)");
  }
  return s.Fail(MakeTlsStatus(TlsError::kTruncated,
                              s.handshake_done
                                  ? "the transport ended without close_notify (truncated)"
                                  : "the transport ended during the TLS handshake"));
}

absl::StatusOr<size_t> Session::read(absl::Span<char> out) {
  Impl& s = *impl_;
  const absl::string_view bytes = s.plaintext.view();
  const size_t n = std::min(bytes.size(), out.size());
  if (n > 0) {
    std::memcpy(out.data(), bytes.data(), n);
    s.plaintext.consume(n);
    return n;
  }
  if (!bytes.empty()) return size_t{0};  // an empty `out`
  if (!s.failure.ok()) return s.failure;
  if (s.peer_closed) {
    return MakeTlsStatus(TlsError::kClosed, "the peer closed the TLS stream (close_notify)");
  }
  return size_t{0};
}

absl::string_view Session::plaintext() const { return impl_->plaintext.view(); }
void Session::consume_plaintext(size_t n) { impl_->plaintext.consume(n); }

absl::Status Session::write(absl::Span<const char> plaintext) {
  Impl& s = *impl_;
  if (!s.failure.ok()) return s.failure;
  if (s.shutdown_sent) return absl::FailedPreconditionError("TLS write after shutdown()");
  if (plaintext.empty()) return absl::OkStatus();
  if (!s.handshake_done) {
    s.queued.append(plaintext.data(), plaintext.size());
    return absl::OkStatus();
  }
  if (s.peer_closed && SSL_version(s.ssl) != TLS1_3_VERSION) {
    s.queued.Release();
    return absl::FailedPreconditionError("TLS write after the peer's close_notify (TLS 1.2)");
  }
  ErrorScope errors;
  // Straight from the caller's bytes (`queued` is empty once established).
  if (absl::Status flushed = s.Flush(); !flushed.ok()) return flushed;
  return s.Encrypt(plaintext);
}

absl::Status Session::shutdown() {
  Impl& s = *impl_;
  if (!s.failure.ok()) return s.failure;
  if (s.shutdown_sent) return absl::OkStatus();
  s.shutdown_sent = true;
  if (!s.handshake_done) {
    s.queued.Release();
    return absl::OkStatus();
  }
  ErrorScope errors;
  const int r = SSL_shutdown(s.ssl);
  if (r < 0) return s.Fail(SessionStatus(s.ssl, SSL_get_error(s.ssl, r), false));
  return absl::OkStatus();
}

absl::string_view Session::ciphertext() const { return impl_->ciphertext.view(); }
void Session::consume_ciphertext(size_t n) { impl_->ciphertext.consume(n); }
std::string Session::take_ciphertext() { return impl_->ciphertext.take(); }
void Session::give_back(std::string buffer) { GiveSpare(std::move(buffer)); }

SessionState Session::state() const {
  const Impl& s = *impl_;
  if (!s.failure.ok()) return SessionState::kFailed;
  if (s.eof_clean || (s.shutdown_sent && (s.peer_closed || !s.handshake_done))) {
    return SessionState::kClosed;
  }
  return s.handshake_done ? SessionState::kEstablished : SessionState::kHandshaking;
}

bool Session::handshake_done() const { return impl_->handshake_done; }
bool Session::peer_closed() const { return impl_->peer_closed; }
absl::Status Session::status() const { return impl_->failure; }

Version Session::version() const {
  return SSL_version(impl_->ssl) == TLS1_3_VERSION ? Version::kTls13 : Version::kTls12;
}

std::string Session::alpn_protocol() const {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(impl_->ssl, &data, &len);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), len);
}

std::string Session::server_name() const {
  const char* name = SSL_get_servername(impl_->ssl, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string() : std::string(name);
}

bool Session::resumed() const { return SSL_session_reused(impl_->ssl) == 1; }

std::optional<ResumptionTicket> Session::resumption_ticket() const {
  if (impl_->context->server) return std::nullopt;
  ErrorScope errors;
  const SSL_SESSION* current = SSL_get_session(impl_->ssl);
  if (current == nullptr || SSL_SESSION_is_resumable(current) != 1) return std::nullopt;
  // A copy: SSL_free marks the connection's own session unresumable when the
  // connection did not send close_notify, which is the caller's business.
  SSL_SESSION* copy = SSL_SESSION_dup(current);
  if (copy == nullptr) return std::nullopt;
  return ResumptionTicket(std::make_shared<ResumptionTicket::Impl>(copy));
}

size_t Session::buffered_capacity() const {
  return impl_->plaintext.heap_bytes() + impl_->ciphertext.heap_bytes() +
         impl_->queued.heap_bytes();
}

absl::Status Session::offload_to_kernel(int /*fd*/) {
  return absl::UnimplementedError(
      "kernel TLS offload is not implemented (no tls ULP here); see docs/TLS.md");
}

}  // namespace gaio::tls
