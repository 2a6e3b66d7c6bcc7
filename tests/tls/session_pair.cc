#include "tests/tls/session_pair.h"

#include <algorithm>
#include <utility>

namespace gaio::tls::testing {
namespace {

// Feeds `bytes` to `to` in pieces of `chunk`; records its first failure.
void Deliver(const std::string& bytes, Session& to, size_t chunk, absl::Status* status) {
  if (chunk == 0) chunk = std::max<size_t>(bytes.size(), 1);
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    const size_t n = std::min(chunk, bytes.size() - at);
    absl::Status s = to.feed(absl::Span<const char>(bytes.data() + at, n));
    if (!s.ok()) {
      if (status->ok()) *status = std::move(s);
      return;
    }
  }
}

}  // namespace

PairResult Exchange(Session& client, Session& server, size_t chunk) {
  PairResult result;
  for (; result.rounds < 64; ++result.rounds) {
    const std::string to_server = client.take_ciphertext();
    const std::string to_client = server.take_ciphertext();
    if (to_server.empty() && to_client.empty()) break;
    Deliver(to_server, server, chunk, &result.server);
    Deliver(to_client, client, chunk, &result.client);
  }
  if (result.client.ok()) result.client = client.status();
  if (result.server.ok()) result.server = server.status();
  return result;
}

std::string DrainPlaintext(Session& session) {
  std::string out(session.plaintext());
  session.consume_plaintext(out.size());
  return out;
}

}  // namespace gaio::tls::testing
