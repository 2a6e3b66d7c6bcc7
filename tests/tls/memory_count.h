// Counting allocators for tests/tls/idle_memory_test: OpenSSL's bytes through
// CRYPTO_set_mem_functions and the program's through a replaced operator
// new, both measured with malloc_usable_size; and, while tracing, OpenSSL's
// live blocks by origin. In their own file so that the compiler does not
// pair the replaced operators with the malloc/free inside them.
#ifndef GAIO_TESTS_TLS_MEMORY_COUNT_H_
#define GAIO_TESTS_TLS_MEMORY_COUNT_H_

#include <cstddef>

namespace gaio::tls::testing {

// Installs the OpenSSL hooks; false when OpenSSL has allocated already.
bool InstallOpenSslCounter();
long long OpenSslBytes();  // live bytes OpenSSL allocated
long long NewBytes();      // live bytes of operator new

struct Block {
  void* p;
  size_t size;
  const char* file;
  int line;
};
// Starts (clearing the table) or stops recording OpenSSL's live blocks.
void TraceOpenSsl(bool on);
int NumTracedBlocks();
const Block& TracedBlock(int i);

}  // namespace gaio::tls::testing

#endif  // GAIO_TESTS_TLS_MEMORY_COUNT_H_
