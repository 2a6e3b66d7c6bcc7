#include "tests/soak_common.h"

#include <fstream>
#include <random>
#include <string>

namespace gaio::soak {

const std::string& MessageBytes() {
  static const std::string* const bytes = [] {
    auto* s = new std::string((1 << 20) + kMaxMessage, '\0');
    std::mt19937_64 rng(20240611);
    for (char& c : *s) c = static_cast<char>(rng());
    return s;
  }();
  return *bytes;
}

size_t PickMessageSize(std::mt19937_64& rng) {
  const uint64_t r = rng() % 100;
  if (r < 70) return 1 + rng() % 512;
  if (r < 95) return 513 + rng() % (4096 - 512);
  return 4097 + rng() % (kMaxMessage - 4096);
}

long RssKiB(pid_t pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status")
                            : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace gaio::soak
