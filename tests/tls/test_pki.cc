#include "tests/tls/test_pki.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace gaio::tls::testing {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return out ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

// A minimal `openssl ca` setup: it can sign with explicit start and end
// dates, which `openssl x509 -req` (3.0) cannot.
std::string CaConfig(const std::string& dir, const std::string& name) {
  return absl::StrCat("[ca]\ndefault_ca = test_ca\n[test_ca]\n", "database = ", dir, "/", name,
                      ".index\nnew_certs_dir = ", dir, "\ncertificate = ", dir, "/", name,
                      ".pem\nprivate_key = ", dir, "/", name, ".key\nserial = ", dir, "/", name,
                      ".serial\ndefault_md = sha256\npolicy = policy_any\nunique_subject = no\n",
                      "[policy_any]\ncommonName = supplied\n");
}

}  // namespace

absl::Status RunCommand(const std::string& command, const std::string& log) {
  const std::string full = absl::StrCat(command, " >>", log, " 2>&1 </dev/null");
  const int rc = std::system(full.c_str());
  if (rc == 0) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadWholeFile(log);
  return absl::InternalError(absl::StrCat("`", command, "` failed (", rc,
                                          "): ", text.ok() ? *text : std::string("(no log)")));
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<TestPki> TestPki::Make() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/gaio-tls-pki-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp");
  TestPki pki;
  pki.dir = pattern;
  const std::string& d = pki.dir;
  const std::string log = d + "/openssl.log";
  const std::string newkey = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

  auto make_ca = [&](const std::string& name, const std::string& cn) -> absl::Status {
    if (absl::Status s = WriteFile(absl::StrCat(d, "/", name, ".index"), ""); !s.ok()) return s;
    if (absl::Status s = WriteFile(absl::StrCat(d, "/", name, ".serial"), "1000\n"); !s.ok()) {
      return s;
    }
    if (absl::Status s = WriteFile(absl::StrCat(d, "/", name, ".cnf"), CaConfig(d, name));
        !s.ok()) {
      return s;
    }
    return RunCommand(absl::StrCat("openssl req -x509 ", newkey, " -keyout ", d, "/", name,
                                   ".key -out ", d, "/", name, ".pem -days 30 -subj '/CN=", cn,
                                   "' -addext basicConstraints=critical,CA:TRUE",
                                   " -addext keyUsage=critical,keyCertSign,cRLSign"),
                      log);
  };
  auto issue = [&](const std::string& ca, const std::string& name, const std::string& cn,
                   const std::string& san, const std::string& dates, Issued* out) -> absl::Status {
    const std::string base = absl::StrCat(d, "/", name);
    std::string ext = "basicConstraints=CA:FALSE\n";
    if (!san.empty()) absl::StrAppend(&ext, "subjectAltName=", san, "\n");
    if (absl::Status s = WriteFile(base + ".ext", ext); !s.ok()) return s;
    if (absl::Status s = RunCommand(absl::StrCat("openssl req -new ", newkey, " -keyout ", base,
                                                 ".key -out ", base, ".csr -subj '/CN=", cn, "'"),
                                    log);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = RunCommand(
            absl::StrCat("openssl ca -batch -notext -config ", d, "/", ca, ".cnf -in ", base,
                         ".csr -out ", base, ".pem -extfile ", base, ".ext ", dates),
            log);
        !s.ok()) {
      return s;
    }
    out->cert_file = base + ".pem";
    out->key_file = base + ".key";
    absl::StatusOr<CertifiedKey> pem = CertifiedKey::FromFiles(out->cert_file, out->key_file);
    if (!pem.ok()) return pem.status();
    out->pem = *std::move(pem);
    return absl::OkStatus();
  };

  const std::string valid = "-days 30";
  const std::string past = "-startdate 20200101000000Z -enddate 20200201000000Z";
  const std::string local = "DNS:localhost,IP:127.0.0.1";
  for (absl::Status s : {
           make_ca("ca", "gaio test CA"),
           make_ca("other_ca", "gaio untrusted CA"),
           issue("ca", "server", "localhost", local, valid, &pki.server),
           issue("ca", "expired", "localhost", local, past, &pki.expired),
           issue("ca", "other_host", "other.example", "DNS:other.example", valid, &pki.other_host),
           issue("ca", "alt_name", "alt.example", "DNS:alt.example", valid, &pki.alt_name),
           issue("ca", "client", "gaio test client", "", valid, &pki.client),
           issue("other_ca", "untrusted", "localhost", local, valid, &pki.untrusted),
       }) {
    if (!s.ok()) return s;
  }
  pki.ca_file = d + "/ca.pem";
  absl::StatusOr<std::string> ca = ReadWholeFile(pki.ca_file);
  if (!ca.ok()) return ca.status();
  pki.ca_pem = *std::move(ca);
  return pki;
}

TestPki::TestPki(TestPki&& other) noexcept
    : dir(std::exchange(other.dir, std::string())),
      ca_file(std::move(other.ca_file)),
      ca_pem(std::move(other.ca_pem)),
      server(std::move(other.server)),
      expired(std::move(other.expired)),
      other_host(std::move(other.other_host)),
      alt_name(std::move(other.alt_name)),
      client(std::move(other.client)),
      untrusted(std::move(other.untrusted)) {}

TestPki::~TestPki() {
  if (dir.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace gaio::tls::testing
