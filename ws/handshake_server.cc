// The server side of the opening handshake.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ws/handshake.h"
#include "ws/internal/http.h"
#include "ws/status.h"

namespace gaio::ws {
namespace {

absl::string_view Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

std::string RejectResponse(int http_status, absl::string_view body, const HeaderList& headers) {
  std::string out = absl::StrCat("HTTP/1.1 ", http_status, " ", Reason(http_status),
                                 "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n");
  if (http_status == 426) out += "Sec-WebSocket-Version: 13\r\n";
  for (const auto& [name, value] : headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
  absl::StrAppend(&out, "\r\n", body);
  return out;
}

ServerHandshake::ServerHandshake(ServerOptions options)
    : options_(std::move(options)), head_(std::make_unique<internal::HttpHead>()) {}

ServerHandshake::~ServerHandshake() = default;

std::string ServerHandshake::header(absl::string_view name) const { return head_->Get(name); }

absl::StatusOr<bool> ServerHandshake::feed(absl::Span<const uint8_t> in, size_t* consumed) {
  absl::StatusOr<bool> done =
      internal::ReadHead(in, options_.max_request_size, head_.get(), consumed);
  absl::Status status = done.status();
  if (done.ok()) {
    if (!*done) return false;
    status = Validate();
    if (status.ok()) return true;
  }
  rejection_ = RejectResponse(HttpStatusOf(status), status.message());
  return status;
}

absl::Status ServerHandshake::Validate() {
  auto bad = [](int code, absl::string_view why) {
    return MakeHttpStatus(
        code == 426 ? absl::StatusCode::kFailedPrecondition : absl::StatusCode::kInvalidArgument,
        code, why);
  };
  std::vector<absl::string_view> parts = absl::StrSplit(head_->start_line, ' ');
  if (parts.size() != 3 || parts[1].empty()) return bad(400, "malformed request line");
  if (parts[2] != "HTTP/1.1") return bad(400, "not HTTP/1.1");
  method_ = parts[0];
  path_ = parts[1];
  if (method_ != "GET") return bad(405, "the upgrade must be a GET");
  if (!head_->Has("Host")) return bad(400, "no Host");
  if (!head_->HasToken("Upgrade", "websocket")) return bad(400, "no Upgrade: websocket");
  if (!head_->HasToken("Connection", "upgrade")) return bad(400, "no Connection: Upgrade");
  std::string raw_key;
  const std::string key = head_->Get("Sec-WebSocket-Key");
  if (!absl::Base64Unescape(key, &raw_key) || raw_key.size() != 16) {
    return bad(400, "bad Sec-WebSocket-Key");
  }
  if (head_->Get("Sec-WebSocket-Version") != "13") {
    return bad(426, "Sec-WebSocket-Version must be 13");
  }
  offered_.clear();
  for (absl::string_view p : absl::StrSplit(head_->Get("Sec-WebSocket-Protocol"), ',')) {
    p = absl::StripAsciiWhitespace(p);
    if (!p.empty()) offered_.emplace_back(p);
  }
  return absl::OkStatus();
}

std::string ServerHandshake::accept() {
  subprotocol_.clear();
  if (options_.select_subprotocol) {
    subprotocol_ = options_.select_subprotocol(offered_);
  } else {
    for (const std::string& p : options_.subprotocols) {
      if (std::find(offered_.begin(), offered_.end(), p) != offered_.end()) {
        subprotocol_ = p;
        break;
      }
    }
  }
  deflate_.reset();
  if (options_.deflate.has_value()) {
    deflate_ = NegotiateDeflate(head_->Get("Sec-WebSocket-Extensions"), *options_.deflate);
  }
  std::string out = absl::StrCat(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
      "Sec-WebSocket-Accept: ", AcceptKey(head_->Get("Sec-WebSocket-Key")), "\r\n");
  if (!subprotocol_.empty())
    absl::StrAppend(&out, "Sec-WebSocket-Protocol: ", subprotocol_, "\r\n");
  if (deflate_.has_value()) {
    absl::StrAppend(&out, "Sec-WebSocket-Extensions: ", DeflateResponse(*deflate_), "\r\n");
  }
  for (const auto& [name, value] : options_.headers) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  out += "\r\n";
  return out;
}

SessionOptions ServerHandshake::session_options() const {
  SessionOptions options;
  options.role = Role::kServer;
  options.deflate = deflate_;
  return options;
}

}  // namespace gaio::ws
