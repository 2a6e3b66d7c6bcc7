// gaio::tls::Context: the configuration TLS sessions are made from.
//
// A Context is built once from ContextOptions (Context::Client or
// Context::Server) and is immutable afterwards. It is a cheap, copyable handle
// to shared state (OpenSSL's SSL_CTX, the parsed certificates and keys): copies
// share it, and the state lives as long as the last copy or the last Session
// made from it. Every const member may be called from any thread at once, and
// Sessions made from one Context may live on different threads.
//
// Errors: Create returns a status, never throws or aborts: InvalidArgument
// (TlsError kInvalidConfiguration, tls/status.h) for a PEM that does not parse,
// a key that does not match its certificate, a missing file, a version range
// that is empty, a cipher list OpenSSL rejects; kInternal for the rest.
//
// Peer verification is on by default for clients (the chain must lead to a CA
// of ca_file/ca_path/ca_pem, or of the system store when none is given, and the
// certificate must be for SessionOptions::server_name) and off by default for
// servers (verify_peer turns on mutual TLS). TLS 1.2 renegotiation is always
// refused (SSL_OP_NO_RENEGOTIATION). Rationale: docs/TLS.md.
#ifndef GAIO_TLS_CONTEXT_H_
#define GAIO_TLS_CONTEXT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gaio::tls {

enum class Version { kTls12, kTls13 };

// A certificate chain (leaf first, PEM) and its private key (PEM, unencrypted).
struct CertifiedKey {
  std::string chain_pem;
  std::string key_pem;

  // Reads both files. NotFound/PermissionDenied... (errno) when one cannot be
  // read; the PEM is parsed later, by Context::Create.
  static absl::StatusOr<CertifiedKey> FromFiles(const std::string& chain_file,
                                                const std::string& key_file);
};

// A server certificate chosen by the name the client asks for (SNI).
struct NamedCertificate {
  std::string name;  // "host.example" (exact, case-insensitive) or "*.example" (one label)
  CertifiedKey certificate;
};

enum class PeerVerification {
  kDefault,  // clients: kRequire; servers: kNone
  kNone,     // no verification (a client accepts any server: for tests only)
  kRequest,  // servers: ask for a client certificate, verify it when one is sent
  kRequire,  // verify; servers also fail a client that sends none (mTLS)
};

struct ContextOptions {
  // Our certificate: required for servers (unless every name is in
  // sni_certificates and a client always sends SNI), optional for clients
  // (mutual TLS).
  std::optional<CertifiedKey> certificate;
  // Servers: certificates by SNI name, tried before `certificate`.
  std::vector<NamedCertificate> sni_certificates;

  // Trusted CAs for verifying the peer: a PEM file, a hashed directory
  // (c_rehash), PEM text. When all three are empty, the system's default store.
  std::string ca_file;
  std::string ca_path;
  std::string ca_pem;
  PeerVerification verify_peer = PeerVerification::kDefault;

  // ALPN protocol names ("h2", "http/1.1"), in preference order. Clients offer
  // them; a server picks its first one that the client offered, and fails the
  // handshake (kNoSharedApplicationProtocol) when the client offered ALPN and
  // none matches. Empty: no ALPN.
  std::vector<std::string> alpn;

  Version min_version = Version::kTls12;
  Version max_version = Version::kTls13;
  // OpenSSL cipher strings; empty keeps OpenSSL's defaults.
  std::string tls12_ciphers;       // SSL_CTX_set_cipher_list syntax
  std::string tls13_ciphersuites;  // SSL_CTX_set_ciphersuites syntax

  // Session resumption by tickets (RFC 5077 / TLS 1.3 PSK). Servers issue
  // tickets under a key of this Context (one per Context, made at Create);
  // clients resume with SessionOptions::resume_from.
  bool session_tickets = true;

  // Key log for debugging (Wireshark's SSLKEYLOGFILE format, one line per
  // secret). Either may be set; both receive every line. The callback is
  // called on the thread driving the session; the file is opened for append at
  // Create and written under a lock. Never enable this in production.
  std::function<void(absl::string_view line)> key_log;
  std::string key_log_file;
};

class Context {
 public:
  // A client or server context, or the error described above.
  static absl::StatusOr<Context> Client(const ContextOptions& options);
  static absl::StatusOr<Context> Server(const ContextOptions& options);

  bool is_server() const;
  // The state Sessions use; internal.
  struct Impl;
  const std::shared_ptr<const Impl>& impl() const { return impl_; }

 private:
  explicit Context(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  static absl::StatusOr<Context> Create(bool server, const ContextOptions& options);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace gaio::tls

#endif  // GAIO_TLS_CONTEXT_H_
