// The WebSocket opening handshake (RFC 6455 section 4) over HTTP/1.1, both
// roles, sans-I/O: the driver sends request()/the response string and feeds
// what it reads. Bytes after the head's blank line in the same input are not
// consumed (*consumed stops at the head's end): they are the first frame
// bytes and go to Session::feed(). A handshake object is used by one thread at
// a time; it holds the head's bytes until destroyed (drop it once done).
//
// Errors (ws/status.h; HttpStatusOf() gives the HTTP status):
//   server: 400 malformed or missing field, 405 not GET, 426 version not 13
//     (the rejection carries Sec-WebSocket-Version: 13), 431 head too large;
//     rejection() is the response to send before closing.
//   client: 3xx -> FailedPrecondition naming the Location (location()); other
//     non-101 statuses -> FailedPrecondition with the code; a bad 101 (missing
//     Upgrade/Connection tokens, wrong Sec-WebSocket-Accept, an extension or
//     subprotocol not offered) -> InvalidArgument with 101.
#ifndef GAIO_WS_HANDSHAKE_H_
#define GAIO_WS_HANDSHAKE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ws/deflate.h"
#include "ws/session.h"

namespace gaio::ws {

namespace internal {
struct HttpHead;
}  // namespace internal

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string AcceptKey(absl::string_view key);

struct ClientOptions {
  std::string host;        // the Host value, with ":port" when not the default
  std::string path = "/";  // the request target
  std::string origin;      // empty: no Origin field
  std::vector<std::string> subprotocols;
  std::optional<DeflateParams> deflate;  // offer permessage-deflate with these
  HeaderList headers;                    // extra request fields
  size_t max_response_size = 16384;
};

class ClientHandshake {
 public:
  // A random Sec-WebSocket-Key; `key` fixes it (tests).
  explicit ClientHandshake(ClientOptions options, std::string key = "");
  ~ClientHandshake();

  // The request bytes to send.
  const std::string& request() const { return request_; }
  const std::string& key() const { return key_; }

  // Feeds response bytes: true once a valid 101 was read, false for more;
  // *consumed counts the bytes of `in` that were part of the response.
  absl::StatusOr<bool> feed(absl::Span<const uint8_t> in, size_t* consumed);

  int http_status() const { return http_status_; }
  const std::string& location() const { return location_; }  // of a 3xx
  const std::string& subprotocol() const { return subprotocol_; }
  const std::optional<DeflateParams>& deflate() const { return deflate_; }
  // A response field, comma-joined over repeats; empty when absent.
  std::string header(absl::string_view name) const;
  // Options for the client Session (role and agreed deflate).
  SessionOptions session_options() const;

 private:
  absl::Status Validate();

  ClientOptions options_;
  std::string key_;
  std::string request_;
  std::unique_ptr<internal::HttpHead> head_;
  int http_status_ = 0;
  std::string location_;
  std::string subprotocol_;
  std::optional<DeflateParams> deflate_;
};

struct ServerOptions {
  size_t max_request_size = 8192;  // the request head; larger -> 431
  // Subprotocols supported, in the server's order of preference: the first
  // one the client offers is picked. select_subprotocol, when set, is asked
  // instead (with the client's offers; "" picks none).
  std::vector<std::string> subprotocols;
  std::function<std::string(const std::vector<std::string>& offered)> select_subprotocol;
  // The server's permessage-deflate limits; nullopt: never compress.
  std::optional<DeflateParams> deflate;
  HeaderList headers;  // extra fields of the 101 response
};

// An HTTP/1.1 error response: status line, Content-Length, the body, and
// Sec-WebSocket-Version: 13 for 426.
std::string RejectResponse(int http_status, absl::string_view body = "",
                           const HeaderList& headers = {});

class ServerHandshake {
 public:
  explicit ServerHandshake(ServerOptions options);
  ~ServerHandshake();

  // Feeds request bytes: true once a valid upgrade request was read, false for
  // more; *consumed as for the client. On failure rejection() is the answer.
  absl::StatusOr<bool> feed(absl::Span<const uint8_t> in, size_t* consumed);
  const std::string& rejection() const { return rejection_; }

  // The request (after feed() returned true).
  absl::string_view method() const { return method_; }
  absl::string_view path() const { return path_; }
  std::string header(absl::string_view name) const;
  const std::vector<std::string>& offered_subprotocols() const { return offered_; }

  // The 101 response: picks the subprotocol and negotiates permessage-deflate.
  std::string accept();
  const std::string& subprotocol() const { return subprotocol_; }
  const std::optional<DeflateParams>& deflate() const { return deflate_; }
  SessionOptions session_options() const;

 private:
  absl::Status Validate();

  ServerOptions options_;
  std::unique_ptr<internal::HttpHead> head_;
  std::string rejection_;
  absl::string_view method_;
  absl::string_view path_;
  std::vector<std::string> offered_;
  std::string subprotocol_;
  std::optional<DeflateParams> deflate_;
};

}  // namespace gaio::ws

#endif  // GAIO_WS_HANDSHAKE_H_
