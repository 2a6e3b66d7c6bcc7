#include "ws/status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

namespace gaio::ws {
namespace {

int ReadIntPayload(const absl::Status& status, absl::string_view url) {
  if (status.ok()) return 0;
  const absl::optional<absl::Cord> payload = status.GetPayload(url);
  if (!payload.has_value()) return 0;
  int value = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &value)) return 0;
  return value;
}

}  // namespace

uint16_t CloseCodeOf(const absl::Status& status) {
  return static_cast<uint16_t>(ReadIntPayload(status, kCloseCodePayloadUrl));
}

int HttpStatusOf(const absl::Status& status) {
  return ReadIntPayload(status, kHttpStatusPayloadUrl);
}

absl::Status MakeCloseStatus(uint16_t close_code, absl::string_view message) {
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  if (close_code == kCloseTooBig) code = absl::StatusCode::kResourceExhausted;
  if (close_code == kCloseInternalError) code = absl::StatusCode::kInternal;
  absl::Status status(code, message);
  status.SetPayload(kCloseCodePayloadUrl, absl::Cord(std::to_string(close_code)));
  return status;
}

absl::Status MakeHttpStatus(absl::StatusCode code, int http_status, absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kHttpStatusPayloadUrl, absl::Cord(std::to_string(http_status)));
  return status;
}

bool IsValidWireCloseCode(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

}  // namespace gaio::ws
