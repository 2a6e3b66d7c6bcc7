#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tls/internal/context_impl.h"
#include "tls/internal/openssl_error.h"
#include "tls/status.h"

namespace gaio::tls {
namespace {

using internal::ErrorScope;
using internal::QueueStatus;

absl::Status Invalid(absl::string_view what) {
  return QueueStatus(TlsError::kInvalidConfiguration, what);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void Free(LoadedCertificate& c) {
  X509_free(c.leaf);
  EVP_PKEY_free(c.key);
  sk_X509_pop_free(c.chain, X509_free);
  c = {};
}

// OpenSSL 3.0 decodes a certificate's extensions on first use and caches
// them in the X509: it writes the cache under the certificate's lock but
// tests the "cached" flag without it, so two threads verifying against the
// same CA certificate at once race there (ThreadSanitizer: ASN1_STRING_set
// against ASN1_STRING_cmp in the handshake; OpenSSL issue #25202). Filling
// the cache while the Context is built, before it can be shared, leaves
// handshakes only reading it.
void CacheExtensions(X509* x) {
  if (x != nullptr) X509_get_extension_flags(x);
}

void CacheExtensions(X509_STORE* store) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    CacheExtensions(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i)));
  }
}

// Parses a chain (leaf first) and its key, and checks that they match.
absl::StatusOr<LoadedCertificate> Load(const CertifiedKey& pem, absl::string_view what) {
  LoadedCertificate c;
  std::unique_ptr<BIO, decltype(&BIO_free)> chain(
      BIO_new_mem_buf(pem.chain_pem.data(), static_cast<int>(pem.chain_pem.size())), &BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key(
      BIO_new_mem_buf(pem.key_pem.data(), static_cast<int>(pem.key_pem.size())), &BIO_free);
  if (!chain || !key) return QueueStatus(TlsError::kInternal, "BIO_new_mem_buf");
  c.leaf = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr);
  if (c.leaf == nullptr) return Invalid(absl::StrCat(what, ": no certificate in the chain PEM"));
  c.chain = sk_X509_new_null();
  while (X509* next = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
    if (c.chain == nullptr || sk_X509_push(c.chain, next) == 0) {
      X509_free(next);
      Free(c);
      return QueueStatus(TlsError::kInternal, "sk_X509_push");
    }
  }
  ERR_clear_error();  // the end of the PEM stream reads as an error
  c.key = PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, nullptr);
  if (c.key == nullptr) {
    Free(c);
    return Invalid(absl::StrCat(what, ": no private key in the key PEM"));
  }
  if (X509_check_private_key(c.leaf, c.key) != 1) {
    Free(c);
    return Invalid(absl::StrCat(what, ": the private key does not match the certificate"));
  }
  CacheExtensions(c.leaf);
  for (int i = 0; i < sk_X509_num(c.chain); ++i) CacheExtensions(sk_X509_value(c.chain, i));
  return c;
}

int VersionNumber(Version v) { return v == Version::kTls12 ? TLS1_2_VERSION : TLS1_3_VERSION; }

int ImplIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

const Context::Impl* ImplOf(const SSL* ssl) {
  return static_cast<const Context::Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ImplIndex()));
}

void KeyLogCallback(const SSL* ssl, const char* line) { ImplOf(ssl)->WriteKeyLog(line); }

// Servers: the certificate for the SNI name, when one was configured for it.
int CertCallback(SSL* ssl, void* arg) {
  const auto* impl = static_cast<const Context::Impl*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return 1;
  const LoadedCertificate* c = impl->FindNamed(name);
  if (c == nullptr) return 1;
  return SSL_use_cert_and_key(ssl, c->leaf, c->key, c->chain, 1) == 1 ? 1 : 0;
}

int AlpnSelect(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
               const unsigned char* in, unsigned int inlen, void* arg) {
  const auto* impl = static_cast<const Context::Impl*>(arg);
  unsigned char* selected = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(impl->alpn_wire.data());
  if (SSL_select_next_proto(&selected, outlen, ours, static_cast<unsigned>(impl->alpn_wire.size()),
                            in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

absl::Status LoadCas(SSL_CTX* ctx, const ContextOptions& o) {
  if (o.ca_file.empty() && o.ca_path.empty() && o.ca_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) return Invalid("the system CA store");
  } else if (!o.ca_file.empty() || !o.ca_path.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.empty() ? nullptr : o.ca_file.c_str(),
                                      o.ca_path.empty() ? nullptr : o.ca_path.c_str()) != 1) {
      return Invalid(absl::StrCat("CA file '", o.ca_file, "' / path '", o.ca_path, "'"));
    }
  }
  if (!o.ca_pem.empty()) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(o.ca_pem.data(), static_cast<int>(o.ca_pem.size())), &BIO_free);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      const int ok = X509_STORE_add_cert(store, ca);
      X509_free(ca);
      if (ok != 1) return Invalid("ca_pem: X509_STORE_add_cert");
      ++added;
    }
    ERR_clear_error();
    if (added == 0) return Invalid("ca_pem: no certificate");
  }
  // Certificates loaded now (a CA file, ca_pem); a CA directory's are read
  // at lookup, each by the first handshake that needs it.
  CacheExtensions(SSL_CTX_get_cert_store(ctx));
  return absl::OkStatus();
}

absl::StatusOr<std::string> AlpnWire(const std::vector<std::string>& names) {
  std::string wire;
  for (const std::string& name : names) {
    if (name.empty() || name.size() > 255) {
      return MakeTlsStatus(TlsError::kInvalidConfiguration,
                           absl::StrCat("ALPN name '", name, "': 1 to 255 bytes"));
    }
    wire.push_back(static_cast<char>(name.size()));
    wire += name;
  }
  return wire;
}

}  // namespace

absl::StatusOr<CertifiedKey> CertifiedKey::FromFiles(const std::string& chain_file,
                                                     const std::string& key_file) {
  CertifiedKey c;
  absl::StatusOr<std::string> chain = ReadFile(chain_file);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key = ReadFile(key_file);
  if (!key.ok()) return key.status();
  c.chain_pem = *std::move(chain);
  c.key_pem = *std::move(key);
  return c;
}

Context::Impl::~Impl() {
  for (Named& n : named) Free(n.certificate);
  SSL_CTX_free(ctx);
  if (key_log_file != nullptr) std::fclose(key_log_file);
}

const LoadedCertificate* Context::Impl::FindNamed(absl::string_view server_name) const {
  const std::string host = absl::AsciiStrToLower(server_name);
  for (const Named& n : named) {
    if (n.name == host) return &n.certificate;
  }
  const size_t dot = host.find('.');
  if (dot == std::string::npos || dot == 0) return nullptr;
  const absl::string_view parent = absl::string_view(host).substr(dot);  // ".example"
  for (const Named& n : named) {
    if (absl::StartsWith(n.name, "*.") && absl::string_view(n.name).substr(1) == parent) {
      return &n.certificate;
    }
  }
  return nullptr;
}

void Context::Impl::WriteKeyLog(const char* line) const {
  if (key_log) key_log(line);
  if (key_log_file != nullptr) {
    absl::MutexLock lock(&key_log_mu);
    std::fprintf(key_log_file, "%s\n", line);
    std::fflush(key_log_file);
  }
}

absl::StatusOr<Context> Context::Client(const ContextOptions& options) {
  return Create(false, options);
}

absl::StatusOr<Context> Context::Server(const ContextOptions& options) {
  return Create(true, options);
}

bool Context::is_server() const { return impl_->server; }

absl::StatusOr<Context> Context::Create(bool server, const ContextOptions& o) {
  ErrorScope errors;
  auto impl = std::make_shared<Impl>();
  impl->server = server;
  impl->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (impl->ctx == nullptr) return QueueStatus(TlsError::kInternal, "SSL_CTX_new");
  SSL_CTX* ctx = impl->ctx;
  if (SSL_CTX_set_ex_data(ctx, ImplIndex(), impl.get()) != 1) {
    return QueueStatus(TlsError::kInternal, "SSL_CTX_set_ex_data");
  }

  // Idle sessions hold no record buffers; no renegotiation, ever.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);

  if (o.min_version > o.max_version) {
    return MakeTlsStatus(TlsError::kInvalidConfiguration, "min_version is above max_version");
  }
  if (SSL_CTX_set_min_proto_version(ctx, VersionNumber(o.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, VersionNumber(o.max_version)) != 1) {
    return Invalid("protocol versions");
  }
  if (!o.tls12_ciphers.empty() && SSL_CTX_set_cipher_list(ctx, o.tls12_ciphers.c_str()) != 1) {
    return Invalid(absl::StrCat("tls12_ciphers '", o.tls12_ciphers, "'"));
  }
  if (!o.tls13_ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, o.tls13_ciphersuites.c_str()) != 1) {
    return Invalid(absl::StrCat("tls13_ciphersuites '", o.tls13_ciphersuites, "'"));
  }

  if (o.certificate.has_value()) {
    absl::StatusOr<LoadedCertificate> c = Load(*o.certificate, "certificate");
    if (!c.ok()) return c.status();
    const int ok = SSL_CTX_use_cert_and_key(ctx, c->leaf, c->key, c->chain, 1);
    Free(*c);
    if (ok != 1) return Invalid("certificate: SSL_CTX_use_cert_and_key");
  }
  if (!o.sni_certificates.empty() && !server) {
    return MakeTlsStatus(TlsError::kInvalidConfiguration, "sni_certificates: servers only");
  }
  for (const NamedCertificate& n : o.sni_certificates) {
    absl::StatusOr<LoadedCertificate> c = Load(n.certificate, absl::StrCat("SNI '", n.name, "'"));
    if (!c.ok()) return c.status();
    impl->named.push_back({absl::AsciiStrToLower(n.name), *c});
  }
  if (!impl->named.empty()) SSL_CTX_set_cert_cb(ctx, CertCallback, impl.get());
  if (server && !o.certificate.has_value() && o.sni_certificates.empty()) {
    return MakeTlsStatus(TlsError::kInvalidConfiguration, "a server needs a certificate");
  }

  PeerVerification verify = o.verify_peer;
  if (verify == PeerVerification::kDefault) {
    verify = server ? PeerVerification::kNone : PeerVerification::kRequire;
  }
  if (verify != PeerVerification::kNone) {
    if (absl::Status s = LoadCas(ctx, o); !s.ok()) return s;
    int mode = SSL_VERIFY_PEER;
    if (server && verify == PeerVerification::kRequire) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    impl->verify_peer = !server;
  }

  absl::StatusOr<std::string> alpn = AlpnWire(o.alpn);
  if (!alpn.ok()) return alpn.status();
  impl->alpn_wire = *std::move(alpn);
  if (!impl->alpn_wire.empty()) {
    if (server) {
      SSL_CTX_set_alpn_select_cb(ctx, AlpnSelect, impl.get());
    } else if (SSL_CTX_set_alpn_protos(
                   ctx, reinterpret_cast<const unsigned char*>(impl->alpn_wire.data()),
                   static_cast<unsigned>(impl->alpn_wire.size())) != 0) {  // 0 is success
      return Invalid("SSL_CTX_set_alpn_protos");
    }
  }

  // Resumption by tickets only: no server-side session cache (its memory
  // would grow with the number of clients), clients resume explicitly.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (server) {
    static constexpr unsigned char kSessionContext[] = "gaio-tls";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
    SSL_CTX_set_num_tickets(ctx, o.session_tickets ? 1 : 0);
  }
  if (!o.session_tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

  impl->key_log = o.key_log;
  if (!o.key_log_file.empty()) {
    impl->key_log_file = std::fopen(o.key_log_file.c_str(), "a");
    if (impl->key_log_file == nullptr) {
      return absl::ErrnoToStatus(errno, absl::StrCat("key_log_file ", o.key_log_file));
    }
  }
  if (impl->key_log || impl->key_log_file != nullptr) {
    SSL_CTX_set_keylog_callback(ctx, KeyLogCallback);
  }
  return Context(std::move(impl));
}

}  // namespace gaio::tls
