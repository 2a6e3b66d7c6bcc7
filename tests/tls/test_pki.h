// Certificates for the TLS tests, made at test time with the `openssl` CLI in
// a temporary directory that is removed with the TestPki (no private key is
// committed). All keys are EC P-256.
#ifndef GAIO_TESTS_TLS_TEST_PKI_H_
#define GAIO_TESTS_TLS_TEST_PKI_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tls/context.h"

namespace gaio::tls::testing {

struct Issued {
  std::string cert_file;
  std::string key_file;
  CertifiedKey pem;
};

class TestPki {
 public:
  // A CA "gaio test CA" and, signed by it: `server` (DNS:localhost,
  // IP:127.0.0.1), `expired` (localhost, valid only in January 2020),
  // `other_host` (DNS:other.example), `alt_name` (DNS:alt.example) and
  // `client` (CN=gaio test client); plus `untrusted`, for localhost but
  // signed by a second CA that nobody trusts.
  static absl::StatusOr<TestPki> Make();

  TestPki(TestPki&& other) noexcept;
  TestPki& operator=(TestPki&&) = delete;
  ~TestPki();  // removes the directory

  std::string dir;
  std::string ca_file;
  std::string ca_pem;
  Issued server, expired, other_host, alt_name, client, untrusted;

 private:
  TestPki() = default;
};

// A fixture base for the suites that share one TestPki: made before the
// suite's first test (a failure fails every test of the suite), removed
// after its last; the tests use pki_. Base: ::testing::Test or a
// ::testing::TestWithParam<T>.
template <class Base = ::testing::Test>
class TestPkiSuite : public Base {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TestPki> made = TestPki::Make();
    ASSERT_TRUE(made.ok()) << made.status();
    pki_ = new TestPki(*std::move(made));
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static inline TestPki* pki_ = nullptr;
};

// Runs `command` with /bin/sh, its output into `log`; the status names the
// command and shows the log when it fails.
absl::Status RunCommand(const std::string& command, const std::string& log);

absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace gaio::tls::testing

#endif  // GAIO_TESTS_TLS_TEST_PKI_H_
