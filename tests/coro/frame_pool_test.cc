// The frame pool does not hide memory errors: a block freed twice, or a
// coroutine frame destroyed twice, aborts with a message in debug builds, and
// under AddressSanitizer a use of a freed pooled frame is reported as a use
// after free is (use-after-poison).
#include <coroutine>
#include <cstdint>
#include <vector>

#include "coro/coro.h"
#include "coro/internal/frame_allocator.h"
#include "gtest/gtest.h"

namespace gaio::coro {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif
#ifdef NDEBUG
constexpr bool kDebug = false;
#else
constexpr bool kDebug = true;
#endif

// What either check prints: the pool's own message (debug builds) or
// AddressSanitizer's report (the block is poisoned while free).
constexpr char kReported[] = "destroyed \\(or freed\\) twice|AddressSanitizer: use-after-poison";

TEST(FramePool, AFreedBlockIsReusedWhole) {
  void* a = internal::AllocateFrame(100);
  static_cast<char*>(a)[99] = 1;
  internal::FreeFrame(a, 100);
  void* b = internal::AllocateFrame(100);  // the same block, usable again
  EXPECT_EQ(a, b);
  static_cast<char*>(b)[0] = 2;
  static_cast<char*>(b)[99] = 3;
  internal::FreeFrame(b, 100);
}

// Above kMaxPooled, power-of-two blocks up to 64 KiB are kept for reuse (a
// BufferedWriter's buffer of every burst), other sizes are not, and what is
// kept has a bound.
TEST(FramePool, LargePowerOfTwoBlocksAreReusedOthersAreNot) {
  void* a = internal::AllocateFrame(4096);
  static_cast<char*>(a)[4095] = 1;
  internal::FreeFrame(a, 4096);
  const uint64_t large = internal::ThisThreadFramePoolStats().large;
  void* b = internal::AllocateFrame(4096);
  EXPECT_EQ(a, b);
  EXPECT_EQ(internal::ThisThreadFramePoolStats().large, large);  // no ::operator new
  static_cast<char*>(b)[0] = 2;
  static_cast<char*>(b)[4095] = 3;
  internal::FreeFrame(b, 4096);

  void* odd = internal::AllocateFrame(3000);  // not a power of two: the heap's
  internal::FreeFrame(odd, 3000);
  void* huge = internal::AllocateFrame(128 * 1024);  // above 64 KiB: the heap's
  internal::FreeFrame(huge, 128 * 1024);
  const uint64_t before = internal::ThisThreadFramePoolStats().large;
  internal::FreeFrame(internal::AllocateFrame(3000), 3000);
  internal::FreeFrame(internal::AllocateFrame(128 * 1024), 128 * 1024);
  EXPECT_EQ(internal::ThisThreadFramePoolStats().large, before + 2);

  // 200 blocks of 64 KiB (12.5 MiB) live at once, then freed: at most 8 MiB
  // are kept, and the 4 KiB block kept above counts too, so 127 of them are
  // kept and 73 of the next 200 come from the heap again.
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) blocks.push_back(internal::AllocateFrame(64 * 1024));
  for (void* p : blocks) internal::FreeFrame(p, 64 * 1024);
  const uint64_t kept_before = internal::ThisThreadFramePoolStats().large;
  for (void*& p : blocks) p = internal::AllocateFrame(64 * 1024);
  EXPECT_EQ(internal::ThisThreadFramePoolStats().large, kept_before + 73);
  for (void* p : blocks) internal::FreeFrame(p, 64 * 1024);
}

TEST(FramePoolDeathTest, ABlockFreedTwiceAborts) {
  if (!kDebug && !kAsan) GTEST_SKIP() << "checked in debug and ASan builds only";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        void* p = internal::AllocateFrame(48);
        internal::FreeFrame(p, 48);
        internal::FreeFrame(p, 48);
      },
      kReported);
}

Task<int> Answer() { co_return 42; }

// The handle through a volatile: clang would otherwise put a frame that
// provably never leaves the function on the stack (heap elision) and call
// its destroy function directly, and the pool would never see it.
std::coroutine_handle<> Opaque(std::coroutine_handle<> h) {
  void* volatile address = h.address();
  return std::coroutine_handle<>::from_address(address);
}

TEST(FramePoolDeathTest, AFrameDestroyedTwiceAborts) {
  if (!kDebug && !kAsan) GTEST_SKIP() << "checked in debug and ASan builds only";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Task<int> t = Answer();
        std::coroutine_handle<> h = Opaque(t.release());
        h.destroy();
        h.destroy();  // what gcc 12.2 did with a ternary in when_any (docs/CORO.md)
      },
      kReported);
}

TEST(FramePoolAsanDeathTest, AUseOfAFreedFrameIsReported) {
  if (!kAsan) GTEST_SKIP() << "AddressSanitizer builds only (bazel test --config=asan)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        void* p = internal::AllocateFrame(64);
        internal::FreeFrame(p, 64);
        volatile char* c = static_cast<char*>(p) + 40;
        *c = 1;
      },
      "AddressSanitizer: use-after-poison");
}

}  // namespace
}  // namespace gaio::coro
