// The bytes an established, idle TLS session holds, split into OpenSSL's
// (counted through CRYPTO_set_mem_functions) and ours (a counting operator
// new), for each side and version; and the check that none of it is a record
// buffer. Prints the figures docs/TLS.md quotes:
//   ./bazelw test //tests/tls:idle_memory_test --test_output=all
#include <malloc.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/tls/session_pair.h"
#include "tests/tls/test_pki.h"
#include "tls/context.h"
#include "tls/session.h"

namespace {

std::atomic<long long> openssl_bytes{0};
std::atomic<long long> new_bytes{0};

// While `tracing`, OpenSSL's live blocks by origin (a fixed table: no
// allocation of its own). Single-threaded use only.
struct Block {
  void* p;
  size_t size;
  const char* file;
  int line;
};
constexpr int kMaxBlocks = 8192;
Block blocks[kMaxBlocks];
int num_blocks = 0;
bool tracing = false;

void Untrace(void* p) {
  for (int i = 0; i < num_blocks; ++i) {
    if (blocks[i].p == p) {
      blocks[i] = blocks[--num_blocks];
      return;
    }
  }
}
void Trace(void* p, const char* file, int line) {
  if (tracing && num_blocks < kMaxBlocks) {
    blocks[num_blocks++] = {p, malloc_usable_size(p), file, line};
  }
}

void* CountingMalloc(size_t n, const char* file, int line) {
  void* p = std::malloc(n);
  if (p != nullptr) {
    openssl_bytes += static_cast<long long>(malloc_usable_size(p));
    Trace(p, file, line);
  }
  return p;
}
void* CountingRealloc(void* old, size_t n, const char* file, int line) {
  const long long before = old != nullptr ? static_cast<long long>(malloc_usable_size(old)) : 0;
  if (old != nullptr) Untrace(old);
  void* p = std::realloc(old, n);
  if (p != nullptr) {
    openssl_bytes += static_cast<long long>(malloc_usable_size(p)) - before;
    Trace(p, file, line);
  } else if (n == 0) {
    openssl_bytes -= before;
  }
  return p;
}
void CountingFree(void* p, const char*, int) {
  if (p != nullptr) {
    openssl_bytes -= static_cast<long long>(malloc_usable_size(p));
    Untrace(p);
  }
  std::free(p);
}

}  // namespace

void* operator new(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  new_bytes += static_cast<long long>(malloc_usable_size(p));
  return p;
}
void operator delete(void* p) noexcept {
  if (p != nullptr) new_bytes -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

namespace gaio::tls {
namespace {

using testing::Exchange;
using testing::TestPki;

struct Held {
  long long openssl = 0;
  long long ours = 0;
};

Held Now() { return {openssl_bytes.load(), new_bytes.load()}; }

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
    num_blocks = 0;
    tracing = true;
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
    tracing = false;
    size_t total = 0;
    for (int i = 0; i < num_blocks; ++i) {
      total += blocks[i].size;
      // No record buffer (ssl/record/ssl3_buffer.c, 16 KiB and more) is left.
      EXPECT_EQ(std::string(blocks[i].file).find("ssl3_buffer"), std::string::npos)
          << blocks[i].size << " bytes from " << blocks[i].file << ":" << blocks[i].line;
      EXPECT_LT(blocks[i].size, 16384u);
      if (blocks[i].size >= 512) {
        std::printf("  server block %zu bytes from %s:%d\n", blocks[i].size, blocks[i].file,
                    blocks[i].line);
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
  if (CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree) != 1) {
    std::fprintf(stderr, "CRYPTO_set_mem_functions failed: OpenSSL allocated already\n");
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
