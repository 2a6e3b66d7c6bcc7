#include "watcher/swap_buffer.h"

#include <sys/mman.h>

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "poller/posix_error.h"

namespace gaio::internal {

SwapBuffer::~SwapBuffer() {
  if (memory_ != nullptr) munmap(memory_, 2 * size_);
}

absl::Status SwapBuffer::Allocate() {
  if (memory_ != nullptr) return absl::OkStatus();
  void* p = mmap(nullptr, 2 * size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    const absl::Status cause = PosixError(errno, "mmap");
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate the swap buffer (2 x ", size_, " bytes): ", cause.message()));
  }
  memory_ = static_cast<char*>(p);
  base_.store(memory_, std::memory_order_release);
  return absl::OkStatus();
}

}  // namespace gaio::internal
