#include "tests/tls/memory_count.h"

#include <malloc.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace gaio::tls::testing {
namespace {

std::atomic<long long> openssl_bytes{0};
std::atomic<long long> new_bytes{0};

// A fixed table (no allocation of its own); single-threaded use only.
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

bool InstallOpenSslCounter() {
  return CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree) == 1;
}
long long OpenSslBytes() { return openssl_bytes.load(); }
long long NewBytes() { return new_bytes.load(); }

void TraceOpenSsl(bool on) {
  if (on) num_blocks = 0;
  tracing = on;
}
int NumTracedBlocks() { return num_blocks; }
const Block& TracedBlock(int i) { return blocks[i]; }

}  // namespace gaio::tls::testing

void* operator new(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  gaio::tls::testing::new_bytes += static_cast<long long>(malloc_usable_size(p));
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
// The nothrow forms too (the Watcher's request pool uses them): a form left
// to the runtime would pair its new with our delete (under ASan, an
// alloc-dealloc mismatch).
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p != nullptr) {
    gaio::tls::testing::new_bytes += static_cast<long long>(malloc_usable_size(p));
  }
  return p;
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept {
  if (p != nullptr) {
    gaio::tls::testing::new_bytes -= static_cast<long long>(malloc_usable_size(p));
  }
  std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }
