// LD_PRELOAD shim: counts socket I/O syscalls of a server, their sizes, EAGAINs
// and wall time inside each call (clock_gettime around the real call), and the
// polls between them. Writes one summary to $SHIM_OUT at exit or SIGTERM.
// Build and use: see benchmarks/tools/README.md.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { K_READ, K_SEND, K_POLL, K_KINDS };
static const char* kNames[] = {"read", "send", "poll"};
#define NB 8
// size buckets of returned bytes: 0(EAGAIN/err), <1K, <16K, <32K, <48K, <64K, ==64K, >64K
static int Bucket(ssize_t n) {
  if (n <= 0) return 0;
  if (n < 1024) return 1;
  if (n < 16384) return 2;
  if (n < 32768) return 3;
  if (n < 49152) return 4;
  if (n < 65536) return 5;
  if (n == 65536) return 6;
  return 7;
}
static uint64_t calls[K_KINDS], bytes[K_KINDS], eagain[K_KINDS], ns[K_KINDS];
static uint64_t bcalls[K_KINDS][NB], bns[K_KINDS][NB];
static uint64_t poll_events, poll_zero;
static uint64_t reads_since_poll, max_reads_between_polls;
static uint64_t small_reads;
static uint64_t clock_calls;  // reads with len < 64 (eventfd etc.), not counted above

static int (*real_cg)(clockid_t, struct timespec*);
static inline uint64_t Now(void) {
  struct timespec ts;
  if (!real_cg) real_cg = dlsym(RTLD_NEXT, "clock_gettime");
  real_cg(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
static void Rec(int k, ssize_t n, uint64_t t) {
  int b = Bucket(n);
  __atomic_add_fetch(&calls[k], 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ns[k], t, __ATOMIC_RELAXED);
  __atomic_add_fetch(&bcalls[k][b], 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&bns[k][b], t, __ATOMIC_RELAXED);
  if (n > 0) __atomic_add_fetch(&bytes[k], (uint64_t)n, __ATOMIC_RELAXED);
  if (n < 0 && errno == EAGAIN) __atomic_add_fetch(&eagain[k], 1, __ATOMIC_RELAXED);
}

static void Dump(void) {
  const char* path = getenv("SHIM_OUT");
  if (!path) return;
  FILE* f = fopen(path, "w");
  if (!f) return;
  for (int k = 0; k < K_KINDS; ++k) {
    fprintf(f, "%s calls=%llu bytes=%llu eagain=%llu ns=%llu", kNames[k], (unsigned long long)calls[k],
            (unsigned long long)bytes[k], (unsigned long long)eagain[k], (unsigned long long)ns[k]);
    fprintf(f, " buckets(calls/ns)=");
    for (int b = 0; b < NB; ++b)
      fprintf(f, "%s%llu/%llu", b ? "," : "", (unsigned long long)bcalls[k][b], (unsigned long long)bns[k][b]);
    fprintf(f, "\n");
  }
  fprintf(f, "clock_calls=%llu\n", (unsigned long long)clock_calls);
  fprintf(f, "poll_events=%llu poll_zero=%llu max_reads_between_polls=%llu small_reads=%llu\n",
          (unsigned long long)poll_events, (unsigned long long)poll_zero,
          (unsigned long long)max_reads_between_polls, (unsigned long long)small_reads);
  fclose(f);
}
static void OnTerm(int sig) {
  Dump();
  _exit(128 + sig);
}
__attribute__((constructor)) static void Init(void) {
  signal(SIGTERM, OnTerm);
  signal(SIGINT, OnTerm);
  atexit(Dump);
}

#define REAL(name) static __typeof__(name)* real_##name; if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name)

static void ReadDone(ssize_t r, uint64_t t) {
  Rec(K_READ, r, t);
  if (++reads_since_poll > max_reads_between_polls) max_reads_between_polls = reads_since_poll;
}

ssize_t read(int fd, void* buf, size_t len) {
  REAL(read);
  if (len < 64) { small_reads++; return real_read(fd, buf, len); }
  uint64_t t0 = Now();
  ssize_t r = real_read(fd, buf, len);
  int e = errno;
  ReadDone(r, Now() - t0);
  errno = e;
  return r;
}
ssize_t recv(int fd, void* buf, size_t len, int flags) {
  REAL(recv);
  uint64_t t0 = Now();
  ssize_t r = real_recv(fd, buf, len, flags);
  int e = errno;
  ReadDone(r, Now() - t0);
  errno = e;
  return r;
}
ssize_t recvmsg(int fd, struct msghdr* m, int flags) {
  REAL(recvmsg);
  uint64_t t0 = Now();
  ssize_t r = real_recvmsg(fd, m, flags);
  int e = errno;
  ReadDone(r, Now() - t0);
  errno = e;
  return r;
}
ssize_t readv(int fd, const struct iovec* iov, int n) {
  REAL(readv);
  uint64_t t0 = Now();
  ssize_t r = real_readv(fd, iov, n);
  int e = errno;
  ReadDone(r, Now() - t0);
  errno = e;
  return r;
}
#define SENDLIKE(call)            \
  uint64_t t0 = Now();            \
  ssize_t r = call;               \
  int e = errno;                  \
  Rec(K_SEND, r, Now() - t0);     \
  errno = e;                      \
  return r;
ssize_t send(int fd, const void* buf, size_t len, int flags) { REAL(send); SENDLIKE(real_send(fd, buf, len, flags)) }
ssize_t sendmsg(int fd, const struct msghdr* m, int flags) { REAL(sendmsg); SENDLIKE(real_sendmsg(fd, m, flags)) }
ssize_t writev(int fd, const struct iovec* iov, int n) { REAL(writev); SENDLIKE(real_writev(fd, iov, n)) }
ssize_t write(int fd, const void* buf, size_t len) {
  REAL(write);
  if (len < 64 || fd <= 2) return real_write(fd, buf, len);
  SENDLIKE(real_write(fd, buf, len))
}
static void PollDone(int r, uint64_t t) {
  Rec(K_POLL, r, t);
  if (r > 0) poll_events += (uint64_t)r;
  if (r == 0) poll_zero++;
  reads_since_poll = 0;
}
int epoll_wait(int ep, struct epoll_event* ev, int max, int to) {
  REAL(epoll_wait);
  uint64_t t0 = Now();
  int r = real_epoll_wait(ep, ev, max, to);
  int e = errno;
  PollDone(r, Now() - t0);
  errno = e;
  return r;
}
int epoll_pwait(int ep, struct epoll_event* ev, int max, int to, const sigset_t* ss) {
  REAL(epoll_pwait);
  uint64_t t0 = Now();
  int r = real_epoll_pwait(ep, ev, max, to, ss);
  int e = errno;
  PollDone(r, Now() - t0);
  errno = e;
  return r;
}
int epoll_pwait2(int ep, struct epoll_event* ev, int max, const struct timespec* to, const sigset_t* ss) {
  REAL(epoll_pwait2);
  uint64_t t0 = Now();
  int r = real_epoll_pwait2(ep, ev, max, to, ss);
  int e = errno;
  PollDone(r, Now() - t0);
  errno = e;
  return r;
}

int clock_gettime(clockid_t c, struct timespec* ts) {
  if (!real_cg) real_cg = dlsym(RTLD_NEXT, "clock_gettime");
  __atomic_add_fetch(&clock_calls, 1, __ATOMIC_RELAXED);
  return real_cg(c, ts);
}
