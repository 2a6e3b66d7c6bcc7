// The one gate between OpenSSL's per-thread error queue and absl::Status
// (as errno has absl::ErrnoToStatus). Every OpenSSL call sequence of //tls
// starts with an ErrorScope, which clears the calling thread's queue, and
// ends by draining it (the scope's destructor), so that nothing one session or
// context left behind is read as another's failure.
#ifndef GAIO_TLS_INTERNAL_OPENSSL_ERROR_H_
#define GAIO_TLS_INTERNAL_OPENSSL_ERROR_H_

#include <openssl/ssl.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tls/status.h"

namespace gaio::tls::internal {

class ErrorScope {
 public:
  ErrorScope();   // ERR_clear_error()
  ~ErrorScope();  // ERR_clear_error(): what was not taken is dropped
  ErrorScope(const ErrorScope&) = delete;
  ErrorScope& operator=(const ErrorScope&) = delete;
};

// Drains the queue into a status of `error` whose message is `what` followed
// by OpenSSL's reasons (for configuration errors).
absl::Status QueueStatus(TlsError error, absl::string_view what);

// Classifies a failed SSL_do_handshake/SSL_read_ex/SSL_write_ex/SSL_shutdown
// of `ssl` (ssl_error: SSL_get_error's answer) into a status of tls/status.h,
// draining the queue. `handshaking`: the failure came before the handshake
// finished.
absl::Status SessionStatus(const SSL* ssl, int ssl_error, bool handshaking);

}  // namespace gaio::tls::internal

#endif  // GAIO_TLS_INTERNAL_OPENSSL_ERROR_H_
