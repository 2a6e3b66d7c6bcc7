// Cost of the echo example's per-read copy: 64 KiB from a swap half into one
// of 8 rotating 64 KiB per-connection buffers, with and without touching
// `pollute_kib` of other memory between copies (standing in for the kernel's
// socket buffers that pass through the cache between two echoes).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static uint64_t ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000ull + t.tv_nsec; }
int main(int argc, char** argv) {
  size_t pollute = (argc > 1 ? atoi(argv[1]) : 0) * 1024;
  const size_t K = 65536;
  char* swap = aligned_alloc(4096, 2 * K);
  char* conn[8];
  for (int i = 0; i < 8; ++i) { conn[i] = malloc(K); memset(conn[i], 1, K); }
  memset(swap, 2, 2 * K);
  char* junk = pollute ? malloc(pollute) : NULL;
  if (junk) memset(junk, 3, pollute);
  const int iters = 20000;
  uint64_t copy_ns = 0, sink = 0;
  for (int i = 0; i < iters; ++i) {
    if (junk) for (size_t j = 0; j < pollute; j += 64) junk[j]++;
    char* src = swap + (i & 1) * K + OFF;
    uint64_t t0 = ns();
    memcpy(conn[i & 7], src, K - 16);
    copy_ns += ns() - t0;
    sink += conn[i & 7][i & 1023];
  }
  printf("pollute=%zu KiB: %.2f us per 64 KiB copy (%.1f GB/s) [%llu]\n", pollute / 1024,
         copy_ns / 1e3 / iters, (double)K * iters / copy_ns, (unsigned long long)(sink & 1));
  return 0;
}
