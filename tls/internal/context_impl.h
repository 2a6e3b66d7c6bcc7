// Context::Impl: the shared, immutable state behind a gaio::tls::Context.
// Internal to //tls (session.cc reads it).
#ifndef GAIO_TLS_INTERNAL_CONTEXT_IMPL_H_
#define GAIO_TLS_INTERNAL_CONTEXT_IMPL_H_

#include <openssl/ssl.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "tls/context.h"

namespace gaio::tls {

// Parsed certificate chain and key (owned references).
struct LoadedCertificate {
  X509* leaf = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509) * chain = nullptr;  // intermediates, may be empty
};

struct Context::Impl {
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();

  SSL_CTX* ctx = nullptr;
  bool server = false;
  bool verify_peer = false;  // clients: check the chain and the host name
  std::string alpn_wire;     // ALPN list in wire format (length-prefixed)
  struct Named {
    std::string name;  // lower case; "*.x" matches one label
    LoadedCertificate certificate;
  };
  std::vector<Named> named;  // servers: SNI certificates

  std::function<void(absl::string_view)> key_log;
  FILE* key_log_file = nullptr;
  mutable absl::Mutex key_log_mu;

  // The SNI certificate for `server_name`, or nullptr.
  const LoadedCertificate* FindNamed(absl::string_view server_name) const;
  void WriteKeyLog(const char* line) const ABSL_LOCKS_EXCLUDED(key_log_mu);
};

}  // namespace gaio::tls

#endif  // GAIO_TLS_INTERNAL_CONTEXT_IMPL_H_
