// The client side of the opening handshake, and AcceptKey.
#include "ws/handshake.h"

#include <cstring>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ws/internal/http.h"
#include "ws/internal/sha1.h"
#include "ws/status.h"

namespace gaio::ws {

std::string AcceptKey(absl::string_view key) {
  const std::array<uint8_t, 20> digest =
      internal::Sha1(absl::StrCat(key, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

ClientHandshake::ClientHandshake(ClientOptions options, std::string key)
    : options_(std::move(options)),
      key_(std::move(key)),
      head_(std::make_unique<internal::HttpHead>()) {
  if (key_.empty()) {
    absl::BitGen gen;
    char raw[16];
    for (char& c : raw) c = static_cast<char>(absl::Uniform<uint8_t>(gen));
    key_ = absl::Base64Escape(absl::string_view(raw, sizeof raw));
  }
  request_ = absl::StrCat("GET ", options_.path, " HTTP/1.1\r\nHost: ", options_.host,
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
                          "Sec-WebSocket-Key: ", key_, "\r\nSec-WebSocket-Version: 13\r\n");
  if (!options_.origin.empty()) absl::StrAppend(&request_, "Origin: ", options_.origin, "\r\n");
  if (!options_.subprotocols.empty()) {
    absl::StrAppend(&request_,
                    "Sec-WebSocket-Protocol: ", absl::StrJoin(options_.subprotocols, ", "), "\r\n");
  }
  if (options_.deflate.has_value()) {
    absl::StrAppend(&request_, "Sec-WebSocket-Extensions: ", DeflateOffer(*options_.deflate),
                    "\r\n");
  }
  for (const auto& [name, value] : options_.headers) {
    absl::StrAppend(&request_, name, ": ", value, "\r\n");
  }
  request_ += "\r\n";
}

ClientHandshake::~ClientHandshake() = default;

std::string ClientHandshake::header(absl::string_view name) const { return head_->Get(name); }

absl::StatusOr<bool> ClientHandshake::feed(absl::Span<const uint8_t> in, size_t* consumed) {
  absl::StatusOr<bool> done =
      internal::ReadHead(in, options_.max_response_size, head_.get(), consumed);
  if (!done.ok() || !*done) return done;
  if (absl::Status s = Validate(); !s.ok()) return s;
  return true;
}

absl::Status ClientHandshake::Validate() {
  auto bad = [](absl::string_view why) {
    return MakeHttpStatus(absl::StatusCode::kInvalidArgument, 101, why);
  };
  // "HTTP/1.1 101 Switching Protocols"
  std::vector<absl::string_view> parts = absl::StrSplit(head_->start_line, absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
      !absl::SimpleAtoi(parts[1], &http_status_)) {
    return MakeHttpStatus(absl::StatusCode::kInvalidArgument, 0, "not an HTTP/1.1 response");
  }
  if (http_status_ >= 300 && http_status_ < 400) {
    location_ = head_->Get("Location");
    return MakeHttpStatus(absl::StatusCode::kFailedPrecondition, http_status_,
                          absl::StrCat("redirect ", http_status_, " to ", location_));
  }
  if (http_status_ != 101) {
    return MakeHttpStatus(absl::StatusCode::kFailedPrecondition, http_status_,
                          absl::StrCat("the server answered HTTP ", http_status_));
  }
  if (!head_->HasToken("Upgrade", "websocket")) return bad("no Upgrade: websocket");
  if (!head_->HasToken("Connection", "upgrade")) return bad("no Connection: Upgrade");
  if (head_->Get("Sec-WebSocket-Accept") != AcceptKey(key_)) {
    return bad("wrong Sec-WebSocket-Accept");
  }
  if (head_->Has("Sec-WebSocket-Protocol")) {
    subprotocol_ = head_->Get("Sec-WebSocket-Protocol");
    bool offered = false;
    for (const std::string& p : options_.subprotocols) offered = offered || p == subprotocol_;
    if (!offered) return bad("a subprotocol not offered");
  }
  if (head_->Has("Sec-WebSocket-Extensions")) {
    if (!options_.deflate.has_value()) return bad("an extension not offered");
    absl::StatusOr<DeflateParams> agreed =
        ParseDeflateResponse(head_->Get("Sec-WebSocket-Extensions"), *options_.deflate);
    if (!agreed.ok()) return agreed.status();
    deflate_ = *agreed;
  }
  return absl::OkStatus();
}

SessionOptions ClientHandshake::session_options() const {
  SessionOptions options;
  options.role = Role::kClient;
  options.deflate = deflate_;
  return options;
}

}  // namespace gaio::ws
