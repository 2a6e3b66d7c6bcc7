// libFuzzer target: arbitrary bytes into gaio::tls::Session.
//   ./bazelw build --config=fuzz //tests/tls:session_fuzzer
//   bazel-bin/tests/tls/session_fuzzer -max_total_time=300 CORPUS_DIR tests/tls/fuzz_corpus
// Without --config=fuzz it replays the files given on its command line
// (tests/fuzz_replay_main.cc); session_fuzz_corpus_test runs the committed
// corpus that way.
//
// The first byte picks the mode and the split of the rest into feed() calls:
//   mode 0: a server session fed the bytes (a ClientHello and what follows);
//   mode 1: a client session fed the bytes (a server's flight);
//   mode 2: a client and server that completed a handshake in memory; the
//           bytes are XORed over the client's next records before the server
//           gets them (corrupt records, alerts, bad lengths after the
//           handshake).
// Invariants checked (abort on violation): every failure carries a TlsError;
// after a failure every call returns the same status; the error queue is
// empty after every call; no buffer remains once the session failed.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tls/context.h"
#include "tls/session.h"
#include "tls/status.h"

namespace gaio::tls {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "session_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

std::string ToPem(int (*write)(BIO*, const void*), const void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio, object);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

// A self-signed P-256 certificate for "localhost", made in-process (the
// fuzzer runs no CLI).
CertifiedKey SelfSigned() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  CertifiedKey c;
  c.chain_pem = ToPem(
      [](BIO* b, const void* x) { return PEM_write_bio_X509(b, static_cast<const X509*>(x)); },
      cert);
  c.key_pem = ToPem(
      [](BIO* b, const void* k) {
        return PEM_write_bio_PrivateKey(b, static_cast<const EVP_PKEY*>(k), nullptr, nullptr, 0,
                                        nullptr, nullptr);
      },
      key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return c;
}

struct Contexts {
  Context server;
  Context client;
};

const Contexts& GetContexts() {
  static const Contexts* const contexts = [] {
    ContextOptions so;
    so.certificate = SelfSigned();
    so.alpn = {"h2", "http/1.1"};
    ContextOptions co;
    co.verify_peer = PeerVerification::kNone;
    co.alpn = {"http/1.1"};
    absl::StatusOr<Context> server = Context::Server(so);
    absl::StatusOr<Context> client = Context::Client(co);
    Check(server.ok() && client.ok(), "contexts");
    return new Contexts{*std::move(server), *std::move(client)};
  }();
  return *contexts;
}

// Feeds `bytes` in pieces of `chunk`, checking the invariants after each.
void FeedAll(Session& session, const uint8_t* data, size_t size, size_t chunk) {
  char out[64];
  for (size_t at = 0; at < size; at += chunk) {
    const size_t n = chunk < size - at ? chunk : size - at;
    const absl::Span<const char> piece(reinterpret_cast<const char*>(data + at), n);
    // Alternately into a small caller buffer and into the session's own.
    const absl::Status s = (at / chunk) % 2 == 0 ? session.feed(piece, absl::MakeSpan(out)).status()
                                                 : session.feed(piece);
    if (!s.ok()) Check(session.state() == SessionState::kFailed, "an error fails the session");
    Check(ERR_peek_error() == 0, "error queue empty after feed");
    session.take_ciphertext();
    if (session.state() == SessionState::kFailed) {
      Check(!session.status().ok(), "a failed session has a status");
      Check(GetTlsError(session.status()) != TlsError::kNone, "a failure has a TlsError");
      Check(session.feed(piece).code() == session.status().code(), "the same status after");
      session.consume_plaintext(session.plaintext().size());
      Check(session.buffered_capacity() == 0, "no buffer once failed and drained");
      return;
    }
    if (session.handshake_done()) session.write(absl::string_view("x")).IgnoreError();
  }
  const absl::Status end = session.feed_eof();
  Check(!end.ok() && GetTlsError(end) != TlsError::kNone, "feed_eof gives a TlsError");
}

void Mitm(const uint8_t* data, size_t size, size_t chunk) {
  const Contexts& c = GetContexts();
  absl::StatusOr<Session> client = Session::Create(c.client);
  absl::StatusOr<Session> server = Session::Create(c.server);
  Check(client.ok() && server.ok(), "sessions");
  for (int round = 0; round < 8; ++round) {
    const std::string to_server = client->take_ciphertext();
    const std::string to_client = server->take_ciphertext();
    if (to_server.empty() && to_client.empty()) break;
    server->feed(to_server).IgnoreError();
    client->feed(to_client).IgnoreError();
  }
  Check(client->handshake_done() && server->handshake_done(), "in-memory handshake");
  client->write(absl::string_view("application data, then the fuzzer's xor")).IgnoreError();
  client->shutdown().IgnoreError();
  std::string records = client->take_ciphertext();
  for (size_t i = 0; i < size; ++i) {
    char& c = records[i % records.size()];
    c = static_cast<char>(static_cast<uint8_t>(c) ^ data[i]);
  }
  FeedAll(*server, reinterpret_cast<const uint8_t*>(records.data()), records.size(), chunk);
}

}  // namespace
}  // namespace gaio::tls

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gaio::tls;  // NOLINT(google-build-using-namespace)
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  const size_t chunk = 1 + (data[0] >> 2) * 97;  // 1, 98, 195, ...
  ++data;
  --size;
  if (mode == 2) {
    Mitm(data, size, chunk);
    return 0;
  }
  const Contexts& c = GetContexts();
  absl::StatusOr<Session> session = Session::Create(mode == 0 ? c.server : c.client);
  Check(session.ok(), "session");
  session->take_ciphertext();
  FeedAll(*session, data, size, chunk);
  return 0;
}
