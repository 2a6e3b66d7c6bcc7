#include <time.h>
#include <x86intrin.h>
#include <cstdio>
#include "absl/time/clock.h"
static double ns() { timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main() {
  const int n = 2000000;
  volatile long sink = 0;
  double t0 = ns();
  for (int i = 0; i < n; ++i) sink += absl::ToUnixNanos(absl::Now());
  double t1 = ns();
  for (int i = 0; i < n; ++i) { timespec t; clock_gettime(CLOCK_MONOTONIC, &t); sink += t.tv_nsec; }
  double t2 = ns();
  for (int i = 0; i < n; ++i) sink += __rdtsc();
  double t3 = ns();
  std::printf("absl::Now %.1f ns, clock_gettime %.1f ns, rdtsc %.1f ns\n", (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n);
}
