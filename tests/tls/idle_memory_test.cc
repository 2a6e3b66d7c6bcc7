// The bytes an established, idle TLS session holds, split into OpenSSL's
// (counted through CRYPTO_set_mem_functions) and ours (a counting operator
// new), for each side and version; and the check that none of it is a record
// buffer. Prints the figures docs/TLS.md quotes:
//   ./bazelw test //tests/tls:idle_memory_test --test_output=all
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/tls/memory_count.h"
#include "tests/tls/session_pair.h"
#include "tests/tls/test_pki.h"
#include "tls/context.h"
#include "tls/session.h"

namespace gaio::tls {
namespace {

using testing::Exchange;
using testing::TestPki;

struct Held {
  long long openssl = 0;
  long long ours = 0;
};

Held Now() { return {testing::OpenSslBytes(), testing::NewBytes()}; }

class IdleMemoryTest : public ::testing::TestWithParam<Version> {};

TEST_P(IdleMemoryTest, AnIdleEstablishedSessionHoldsNoRecordBuffers) {
  absl::StatusOr<TestPki> pki = TestPki::Make();
  ASSERT_TRUE(pki.ok()) << pki.status();
  ContextOptions co, so;
  co.ca_pem = pki->ca_pem;
  so.certificate = pki->server.pem;
  co.max_version = so.max_version = GetParam();
  co.min_version = so.min_version = GetParam();
  absl::StatusOr<Context> cc = Context::Client(co);
  absl::StatusOr<Context> sc = Context::Server(so);
  ASSERT_TRUE(cc.ok() && sc.ok());

  constexpr int kSessions = 100;
  std::vector<std::unique_ptr<Session>> clients, servers;
  clients.reserve(kSessions);
  servers.reserve(kSessions);
  const std::string message(1024, 'm');
  for (int i = 0; i < kSessions; ++i) {
    SessionOptions options;
    options.server_name = "localhost";
    absl::StatusOr<Session> c = Session::Create(*cc, options);
    absl::StatusOr<Session> s = Session::Create(*sc);
    ASSERT_TRUE(c.ok() && s.ok());
    clients.push_back(std::make_unique<Session>(*std::move(c)));
    servers.push_back(std::make_unique<Session>(*std::move(s)));
    ASSERT_TRUE(Exchange(*clients[i], *servers[i]).server.ok());
    // A message each way, read to the end: the session is then idle.
    ASSERT_TRUE(clients[i]->write(message).ok());
    ASSERT_TRUE(servers[i]->write(message).ok());
    const testing::PairResult r = Exchange(*clients[i], *servers[i]);
    ASSERT_TRUE(r.client.ok() && r.server.ok());
    ASSERT_EQ(testing::DrainPlaintext(*servers[i]), message);
    ASSERT_EQ(testing::DrainPlaintext(*clients[i]), message);
    ASSERT_EQ(clients[i]->buffered_capacity(), 0u);
    ASSERT_EQ(servers[i]->buffered_capacity(), 0u);
  }

  // What one more idle server session is made of, by OpenSSL source line
  // (its client freed first; blocks of 512 bytes or more listed).
  {
    testing::TraceOpenSsl(true);
    SessionOptions options;
    options.server_name = "localhost";
    absl::StatusOr<Session> c = Session::Create(*cc, options);
    absl::StatusOr<Session> s = Session::Create(*sc);
    ASSERT_TRUE(c.ok() && s.ok());
    ASSERT_TRUE(Exchange(*c, *s).server.ok());
    ASSERT_TRUE(c->write(message).ok());
    ASSERT_TRUE(Exchange(*c, *s).server.ok());
    ASSERT_EQ(testing::DrainPlaintext(*s), message);
    *c = std::move(*s);  // frees the client, keeps the server
    testing::TraceOpenSsl(false);
    size_t total = 0;
    const int num_blocks = testing::NumTracedBlocks();
    for (int i = 0; i < num_blocks; ++i) {
      const testing::Block& block = testing::TracedBlock(i);
      total += block.size;
      // No record buffer (ssl/record/ssl3_buffer.c, 16 KiB and more) is left.
      EXPECT_EQ(std::string(block.file).find("ssl3_buffer"), std::string::npos)
          << block.size << " bytes from " << block.file << ":" << block.line;
      EXPECT_LT(block.size, 16384u);
      if (block.size >= 512) {
        std::printf("  server block %zu bytes from %s:%d\n", block.size, block.file, block.line);
      }
    }
    std::printf("  server: %d OpenSSL blocks, %zu bytes\n", num_blocks, total);
  }

  const Held all = Now();
  servers.clear();
  const Held without_servers = Now();
  clients.clear();
  const Held without_clients = Now();
  const double server_openssl =
      static_cast<double>(all.openssl - without_servers.openssl) / kSessions;
  const double server_ours = static_cast<double>(all.ours - without_servers.ours) / kSessions;
  const double client_openssl =
      static_cast<double>(without_servers.openssl - without_clients.openssl) / kSessions;
  const double client_ours =
      static_cast<double>(without_servers.ours - without_clients.ours) / kSessions;
  std::printf(
      "idle %s session, bytes held (malloc_usable_size): server %.0f OpenSSL + %.0f ours; "
      "client %.0f OpenSSL + %.0f ours\n",
      GetParam() == Version::kTls12 ? "TLS 1.2" : "TLS 1.3", server_openssl, server_ours,
      client_openssl, client_ours);
  // A read and a write record buffer would add over 33 KiB: an idle session
  // holds neither, on either side (the bulk is OpenSSL's SSL object, 7.6 KiB,
  // and the two cipher contexts; the client also keeps the server's chain).
  EXPECT_LT(server_openssl, 16 * 1024);
  EXPECT_LT(client_openssl, 20 * 1024);
  EXPECT_GT(server_openssl, 0);
  EXPECT_LT(server_ours, 512);  // the Session's own state, no buffer
  EXPECT_LT(client_ours, 512);
}

INSTANTIATE_TEST_SUITE_P(Versions, IdleMemoryTest,
                         ::testing::Values(Version::kTls12, Version::kTls13),
                         [](const ::testing::TestParamInfo<Version>& info) {
                           return info.param == Version::kTls12 ? "Tls12" : "Tls13";
                         });

}  // namespace
}  // namespace gaio::tls

int main(int argc, char** argv) {
  // Before OpenSSL allocates anything.
  if (!gaio::tls::testing::InstallOpenSslCounter()) {
    std::fprintf(stderr, "CRYPTO_set_mem_functions failed: OpenSSL allocated already\n");
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
