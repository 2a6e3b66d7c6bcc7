#include "tests/fault_util.h"

#include <dirent.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"

namespace gaio::testing {

std::string ModeName(int mode) {
  switch (mode) {
    case kCallerDriven:
      return "CallerDriven";
    case kThreads1Handoff:
      return "Threads1Handoff";
    default:
      return "Threads" + std::to_string(mode);
  }
}

WatcherOptions ModeOptions(int mode) {
  WatcherOptions options;
  options.num_pollers = ModePollers(mode);
  if (mode == kThreads1Handoff) options.poller_takeover = absl::Microseconds(50);
  return options;
}

int ModePollers(int mode) { return mode == kThreads1Handoff ? 1 : mode; }

Watcher MakeWatcher(int mode, size_t swap_buffer_size) {
  WatcherOptions options = ModeOptions(mode);
  options.swap_buffer_size = swap_buffer_size;
  absl::StatusOr<Watcher> w = Watcher::Create(options);
  if (!w.ok()) {
    std::fprintf(stderr, "Watcher::Create: %s\n", w.status().ToString().c_str());
    std::abort();
  }
  return *std::move(w);
}

std::string PairKindName(PairKind kind) { return kind == PairKind::kUnix ? "Unix" : "Tcp"; }

absl::StatusOr<FdPair> MakePair(PairKind kind) {
  return kind == PairKind::kUnix ? UnixPair() : TcpPair();
}

void ResetClose(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

int InQueue(int fd) {
  int n = -1;
  return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

int OutQueue(int fd) {
  int n = -1;
  return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration patience) {
  const absl::Time give_up = absl::Now() + patience;
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

std::vector<pid_t> ThreadsNamed(absl::string_view prefix) {
  std::vector<pid_t> tids;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return tids;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    if (absl::StartsWith(name, prefix)) tids.push_back(static_cast<pid_t>(std::stoi(e->d_name)));
  }
  closedir(d);
  return tids;
}

}  // namespace gaio::testing
