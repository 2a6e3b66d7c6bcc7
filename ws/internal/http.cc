#include "ws/internal/http.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "ws/status.h"

namespace gaio::ws::internal {
namespace {

absl::Status Malformed(absl::string_view why) {
  return MakeHttpStatus(absl::StatusCode::kInvalidArgument, 400, why);
}

absl::Status Parse(HttpHead* head) {
  absl::string_view rest(head->bytes);
  rest.remove_suffix(4);  // the blank line
  std::vector<absl::string_view> lines = absl::StrSplit(rest, "\r\n");
  head->start_line = lines[0];
  head->fields.clear();
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (line.empty() || line[0] == ' ' || line[0] == '\t') {
      return Malformed("obsolete line folding or an empty field line");
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) return Malformed("a field without a name");
    absl::string_view name = line.substr(0, colon);
    if (name.back() == ' ' || name.back() == '\t') return Malformed("space before a colon");
    head->fields.emplace_back(name, absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string HttpHead::Get(absl::string_view name) const {
  std::string out;
  for (const auto& [n, v] : fields) {
    if (!absl::EqualsIgnoreCase(n, name)) continue;
    if (!out.empty()) out += ", ";
    out.append(v.data(), v.size());
  }
  return out;
}

bool HttpHead::Has(absl::string_view name) const {
  for (const auto& field : fields) {
    if (absl::EqualsIgnoreCase(field.first, name)) return true;
  }
  return false;
}

bool HttpHead::HasToken(absl::string_view name, absl::string_view token) const {
  for (const auto& [n, v] : fields) {
    if (!absl::EqualsIgnoreCase(n, name)) continue;
    for (absl::string_view t : absl::StrSplit(v, ',')) {
      if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(t), token)) return true;
    }
  }
  return false;
}

absl::StatusOr<bool> ReadHead(absl::Span<const uint8_t> in, size_t max_size, HttpHead* head,
                              size_t* consumed) {
  *consumed = 0;
  const size_t old = head->bytes.size();
  const size_t room = max_size > old ? max_size - old : 0;
  const size_t take = std::min(in.size(), room);
  head->bytes.append(reinterpret_cast<const char*>(in.data()), take);
  const size_t from = old >= 3 ? old - 3 : 0;
  const size_t end = head->bytes.find("\r\n\r\n", from);
  if (end == std::string::npos) {
    if (take < in.size() || head->bytes.size() >= max_size) {
      return MakeHttpStatus(absl::StatusCode::kResourceExhausted, 431, "HTTP head too large");
    }
    *consumed = take;
    return false;
  }
  head->bytes.resize(end + 4);
  *consumed = end + 4 - old;
  if (absl::Status s = Parse(head); !s.ok()) return s;
  return true;
}

}  // namespace gaio::ws::internal
