#include "ws/deflate.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ws/status.h"

namespace gaio::ws {
namespace {

struct Param {
  absl::string_view name;
  absl::string_view value;  // empty when absent
  bool has_value = false;
};

// "name; a; b=1; c=\"2\"" -> name and params. Whitespace is trimmed.
absl::string_view SplitExtension(absl::string_view ext, std::vector<Param>* params) {
  std::vector<absl::string_view> parts = absl::StrSplit(ext, ';');
  for (size_t i = 1; i < parts.size(); ++i) {
    Param p;
    absl::string_view part = absl::StripAsciiWhitespace(parts[i]);
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      p.name = part;
    } else {
      p.name = absl::StripAsciiWhitespace(part.substr(0, eq));
      p.value = absl::StripAsciiWhitespace(part.substr(eq + 1));
      if (p.value.size() >= 2 && p.value.front() == '"' && p.value.back() == '"') {
        p.value = p.value.substr(1, p.value.size() - 2);
      }
      p.has_value = true;
    }
    params->push_back(p);
  }
  return absl::StripAsciiWhitespace(parts[0]);
}

bool ParseBits(absl::string_view value, int* bits) {
  return absl::SimpleAtoi(value, bits) && *bits >= 8 && *bits <= 15;
}

// One offer; false to decline it.
bool NegotiateOne(const std::vector<Param>& params, const DeflateParams& server,
                  DeflateParams* agreed) {
  *agreed = DeflateParams{};
  agreed->server_no_context_takeover = server.server_no_context_takeover;
  agreed->client_no_context_takeover = server.client_no_context_takeover;
  agreed->server_max_window_bits = server.server_max_window_bits;
  bool seen[4] = {false, false, false, false};
  bool client_bits_offered = false;
  int client_bits = 15;
  for (const Param& p : params) {
    int index = -1;
    if (p.name == "server_no_context_takeover") index = 0;
    if (p.name == "client_no_context_takeover") index = 1;
    if (p.name == "server_max_window_bits") index = 2;
    if (p.name == "client_max_window_bits") index = 3;
    if (index < 0 || seen[index]) return false;
    seen[index] = true;
    int bits = 15;
    if (index <= 1) {
      if (p.has_value) return false;
      (index == 0 ? agreed->server_no_context_takeover : agreed->client_no_context_takeover) = true;
    } else if (index == 2) {
      if (!ParseBits(p.value, &bits)) return false;
      agreed->server_max_window_bits = std::min(bits, server.server_max_window_bits);
    } else {
      if (p.has_value && !ParseBits(p.value, &bits)) return false;
      client_bits_offered = true;
      client_bits = bits;
    }
  }
  if (agreed->server_max_window_bits < 9) return false;
  agreed->client_max_window_bits =
      client_bits_offered ? std::min(client_bits, server.client_max_window_bits) : 15;
  return true;
}

}  // namespace

std::string DeflateOffer(const DeflateParams& wanted) {
  std::string out = "permessage-deflate";
  if (wanted.server_no_context_takeover) out += "; server_no_context_takeover";
  if (wanted.client_no_context_takeover) out += "; client_no_context_takeover";
  if (wanted.server_max_window_bits < 15) {
    absl::StrAppend(&out, "; server_max_window_bits=", wanted.server_max_window_bits);
  }
  if (wanted.client_max_window_bits < 15) {
    absl::StrAppend(&out, "; client_max_window_bits=", wanted.client_max_window_bits);
  } else {
    out += "; client_max_window_bits";
  }
  return out;
}

std::optional<DeflateParams> NegotiateDeflate(absl::string_view extensions,
                                              const DeflateParams& server) {
  for (absl::string_view ext : absl::StrSplit(extensions, ',')) {
    std::vector<Param> params;
    if (!absl::EqualsIgnoreCase(SplitExtension(ext, &params), "permessage-deflate")) continue;
    DeflateParams agreed;
    if (NegotiateOne(params, server, &agreed)) return agreed;
  }
  return std::nullopt;
}

std::string DeflateResponse(const DeflateParams& agreed) {
  std::string out = "permessage-deflate";
  if (agreed.server_no_context_takeover) out += "; server_no_context_takeover";
  if (agreed.client_no_context_takeover) out += "; client_no_context_takeover";
  if (agreed.server_max_window_bits < 15) {
    absl::StrAppend(&out, "; server_max_window_bits=", agreed.server_max_window_bits);
  }
  if (agreed.client_max_window_bits < 15) {
    absl::StrAppend(&out, "; client_max_window_bits=", agreed.client_max_window_bits);
  }
  return out;
}

absl::StatusOr<DeflateParams> ParseDeflateResponse(absl::string_view value,
                                                   const DeflateParams& offered) {
  auto bad = [](absl::string_view why) {
    return MakeHttpStatus(absl::StatusCode::kInvalidArgument, 101,
                          absl::StrCat("bad Sec-WebSocket-Extensions answer: ", why));
  };
  if (value.find(',') != absl::string_view::npos) return bad("more than one extension");
  std::vector<Param> params;
  if (!absl::EqualsIgnoreCase(SplitExtension(value, &params), "permessage-deflate")) {
    return bad("an extension not offered");
  }
  DeflateParams agreed;
  agreed.client_no_context_takeover = offered.client_no_context_takeover;
  agreed.client_max_window_bits = offered.client_max_window_bits;
  bool seen[4] = {false, false, false, false};
  for (const Param& p : params) {
    int bits = 15;
    if (p.name == "server_no_context_takeover" && !p.has_value && !seen[0]) {
      seen[0] = true;
      agreed.server_no_context_takeover = true;
    } else if (p.name == "client_no_context_takeover" && !p.has_value && !seen[1]) {
      seen[1] = true;
      agreed.client_no_context_takeover = true;
    } else if (p.name == "server_max_window_bits" && !seen[2] && ParseBits(p.value, &bits) &&
               bits <= offered.server_max_window_bits) {
      seen[2] = true;
      agreed.server_max_window_bits = bits;
    } else if (p.name == "client_max_window_bits" && !seen[3] && ParseBits(p.value, &bits)) {
      seen[3] = true;
      if (bits < 9) return bad("client_max_window_bits=8 (zlib cannot compress with it)");
      agreed.client_max_window_bits = std::min(bits, offered.client_max_window_bits);
    } else {
      return bad(absl::StrCat("parameter ", p.name));
    }
  }
  if (offered.server_no_context_takeover && !agreed.server_no_context_takeover) {
    return bad("server_no_context_takeover was required");
  }
  if (!seen[2] && offered.server_max_window_bits < 15) return bad("server_max_window_bits missing");
  return agreed;
}

}  // namespace gaio::ws
