// libFuzzer target: arbitrary bytes into gaio::ws (frames, inflate, handshake).
//   ./bazelw build --config=fuzz //tests/ws:frame_fuzzer
//   bazel-bin/tests/ws/frame_fuzzer -max_total_time=300 CORPUS_DIR tests/ws/fuzz_corpus
// Without --config=fuzz it replays the files given on its command line
// (tests/fuzz_replay_main.cc); frame_fuzz_corpus_test runs the committed
// corpus that way.
//
// The first byte picks the mode (low 2 bits) and the piece size for feeding
// (the rest); the remaining bytes are the input:
//   mode 0: a server session (masked frames expected);
//   mode 1: a client session with permessage-deflate (the inflate path);
//   mode 2: a server handshake, then a session on what follows the head;
//   mode 3: a client handshake fed the bytes as the server's response.
// Invariants checked (abort on violation): fed whole and fed in pieces, a
// session produces the same events and the same close code; every failure
// carries a close code (sessions) or an HTTP status (handshakes); after a
// failure next() returns the same status and a close frame is queued; no
// message exceeds max_message_size; idle sessions hold no buffer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ws/handshake.h"
#include "ws/session.h"
#include "ws/status.h"

namespace gaio::ws {
namespace {

constexpr uint64_t kMaxMessage = 1 << 16;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "frame_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

struct Run {
  std::vector<std::pair<int, std::string>> events;
  uint16_t close_code = 0;
};

Run Drive(const SessionOptions& options, std::string bytes, size_t piece) {
  Session session(options);
  Run run;
  if (piece == 0) piece = bytes.size() ? bytes.size() : 1;
  size_t pos = 0;
  do {
    const size_t n = std::min(piece, bytes.size() - pos);
    session.feed(absl::MakeSpan(reinterpret_cast<uint8_t*>(bytes.data()) + pos, n));
    pos += n;
    for (;;) {
      absl::StatusOr<Event> e = session.next();
      if (!e.ok()) {
        run.close_code = CloseCodeOf(e.status());
        Check(run.close_code != 0, "a session failure without a close code");
        Check(session.next().status() == e.status(), "the failure does not stick");
        Check(!session.output().empty(), "no close frame queued on failure");
        return run;
      }
      if (e->type == Event::Type::kNone) break;
      Check(e->data.size() <= kMaxMessage, "a message over max_message_size");
      run.events.emplace_back(static_cast<int>(e->type), std::string(e->text()));
    }
    session.consume_output(session.output().size());
    if (!session.close_received()) Check(session.buffered_bytes() < (1u << 20), "buffer growth");
  } while (pos < bytes.size());
  return run;
}

void Differential(const SessionOptions& options, const std::string& bytes, size_t piece) {
  const Run whole = Drive(options, bytes, 0);
  const Run pieces = Drive(options, bytes, piece);
  Check(whole.close_code == pieces.close_code, "whole and piecewise close codes differ");
  Check(whole.events == pieces.events, "whole and piecewise events differ");
}

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace
}  // namespace gaio::ws

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gaio::ws;
  if (size == 0) return 0;
  const int mode = data[0] & 3;
  const size_t piece = (data[0] >> 2) + 1;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  SessionOptions options;
  options.max_message_size = kMaxMessage;
  switch (mode) {
    case 0:
      Differential(options, bytes, piece);
      break;
    case 1: {
      options.role = Role::kClient;
      options.deflate = DeflateParams{};
      options.deflate->server_no_context_takeover = (data[0] & 4) != 0;
      Differential(options, bytes, piece);
      break;
    }
    case 2: {
      ServerOptions sopt;
      sopt.deflate = DeflateParams{};
      sopt.subprotocols = {"chat"};
      ServerHandshake server(sopt);
      size_t consumed = 0;
      absl::StatusOr<bool> done = server.feed(Bytes(bytes), &consumed);
      if (!done.ok()) {
        Check(HttpStatusOf(done.status()) >= 400, "a rejection without an HTTP status");
        Check(!server.rejection().empty(), "no rejection response");
        break;
      }
      Check(consumed <= bytes.size(), "consumed more than given");
      if (!*done) break;
      server.accept();
      SessionOptions session = server.session_options();
      session.max_message_size = kMaxMessage;
      Differential(session, bytes.substr(consumed), piece);
      break;
    }
    case 3: {
      ClientOptions copt;
      copt.host = "h";
      copt.subprotocols = {"chat"};
      copt.deflate = DeflateParams{};
      ClientHandshake client(copt, "dGhlIHNhbXBsZSBub25jZQ==");
      size_t consumed = 0;
      absl::StatusOr<bool> done = client.feed(Bytes(bytes), &consumed);
      if (!done.ok()) {
        Check(done.status().code() != absl::StatusCode::kOk, "bad status");
        break;
      }
      if (!*done) break;
      SessionOptions session = client.session_options();
      session.max_message_size = kMaxMessage;
      Differential(session, bytes.substr(consumed), piece);
      break;
    }
    default:
      break;
  }
  return 0;
}
