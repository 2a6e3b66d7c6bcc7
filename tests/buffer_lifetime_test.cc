// Buffers a request borrows: owning temporaries do not compile (watcher.h,
// watcher/buffer_traits.h), every non-owning form does and works.
//
// Checked by hand (the report of the commit that added this file): every
// "rejected" assert flips when its deleted overload is removed from watcher.h
// (the OwningTemporary ones, or the char-array ones where marked), except
// those marked "also refused by absl": absl::Span<char> binds only lvalues,
// so reading into a temporary std::string never compiled; they guard that
// property should the read signatures change. The "accepted" asserts of
// views flip when the trait forgets that views are not owning.
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::Collect;
using ::gaio::testing::Completion;
using ::gaio::testing::FdPair;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WriteAll;

// Whether each call compiles with an argument of type B (B&& keeps its value
// category: B = std::string is a temporary, B = std::string& an lvalue).
template <typename B>
concept CanWrite = requires(Watcher& w, B&& b) { w.write(nullptr, 0, std::forward<B>(b)); };
template <typename B>
concept CanWriteTimeout = requires(Watcher& w, B&& b) {
  w.write_timeout(nullptr, 0, std::forward<B>(b), absl::InfiniteFuture());
};
template <typename B>
concept CanRead = requires(Watcher& w, B&& b) { w.read(nullptr, 0, std::forward<B>(b)); };
template <typename B>
concept CanReadTimeout = requires(Watcher& w, B&& b) {
  w.read_timeout(nullptr, 0, std::forward<B>(b), absl::InfiniteFuture());
};
template <typename B>
concept CanReadFull = requires(Watcher& w, B&& b) { w.read_full(nullptr, 0, std::forward<B>(b)); };
// Braced lists cannot be a template argument; W = Watcher keeps the
// requirement dependent, so that an ill-formed call makes it false.
template <typename W>
concept CanWriteBracedChars = requires(W& w) { w.write(nullptr, 0, {'a', 'b'}); };
template <typename W>
concept CanWriteTimeoutBracedChars =
    requires(W& w) { w.write_timeout(nullptr, 0, {'a', 'b'}, absl::InfiniteFuture()); };
template <typename W>
concept CanWriteBracedPointerAndSize =
    requires(W& w, const char* p) { w.write(nullptr, 0, {p, size_t{2}}); };

// A user's owning buffer that converts to a mutable span (as a pooled buffer
// class might): the one owning type a read could otherwise bind as a temporary.
struct OwningBuffer {
  std::vector<char> bytes;
  char* begin() { return bytes.data(); }
  char* end() { return bytes.data() + bytes.size(); }
  const char* begin() const { return bytes.data(); }
  const char* end() const { return bytes.data() + bytes.size(); }
  operator absl::Span<char>() { return absl::MakeSpan(bytes); }  // NOLINT: implicit on purpose
};

using Array = std::array<char, 4>;

// Writes: owning temporaries are rejected...
static_assert(!CanWrite<std::string>);
static_assert(!CanWrite<const std::string>);
static_assert(!CanWrite<std::vector<char>>);
static_assert(!CanWrite<Array>);
static_assert(!CanWriteBracedChars<Watcher>);  // by the char-array overload
static_assert(!CanWrite<const char (&)[3]>);   // by the char-array overload
static_assert(!CanWriteTimeout<std::string>);
static_assert(!CanWriteTimeout<std::vector<char>>);
static_assert(!CanWriteTimeout<Array>);
static_assert(!CanWriteTimeoutBracedChars<Watcher>);  // by the char-array overload
// ...lvalues and views (also as temporaries) are accepted.
static_assert(CanWrite<std::string&>);
static_assert(CanWrite<const std::string&>);
static_assert(CanWrite<std::vector<char>&>);
static_assert(CanWrite<const std::vector<char>&>);
static_assert(CanWrite<Array&>);
static_assert(CanWrite<absl::string_view>);
static_assert(CanWrite<std::string_view>);
static_assert(CanWrite<absl::Span<const char>>);
static_assert(CanWrite<absl::Span<char>>);
static_assert(CanWrite<std::span<const char>>);
static_assert(CanWrite<decltype(absl::MakeConstSpan(std::declval<std::vector<char>&>()))>);
static_assert(CanWriteBracedPointerAndSize<Watcher>);
static_assert(CanWriteTimeout<std::string&>);
static_assert(CanWriteTimeout<absl::string_view>);
static_assert(CanWriteTimeout<absl::Span<const char>>);

// Reads: owning temporaries are rejected...
static_assert(!CanRead<OwningBuffer>);
static_assert(!CanReadTimeout<OwningBuffer>);
static_assert(!CanReadFull<OwningBuffer>);
static_assert(!CanRead<std::string>);                // also refused by absl
static_assert(!CanRead<std::vector<char>>);          // also refused by absl
static_assert(!CanRead<Array>);                      // also refused by absl
static_assert(!CanReadTimeout<std::string>);         // also refused by absl
static_assert(!CanReadFull<std::vector<char>>);      // also refused by absl
// ...spans, arrays, the swap buffer and lvalue owning buffers are accepted.
static_assert(CanRead<absl::Span<char>>);
static_assert(CanRead<decltype(absl::MakeSpan(std::declval<std::string&>()))>);
static_assert(CanRead<char (&)[16]>);
static_assert(CanRead<std::nullptr_t>);
static_assert(CanRead<OwningBuffer&>);
static_assert(CanReadTimeout<absl::Span<char>>);
static_assert(CanReadTimeout<std::nullptr_t>);
static_assert(CanReadFull<absl::Span<char>>);
static_assert(CanReadFull<OwningBuffer&>);

// The trait itself.
static_assert(internal::OwningTemporary<std::string>);
static_assert(internal::OwningTemporary<const std::vector<char>>);
static_assert(!internal::OwningTemporary<std::string&>);
static_assert(!internal::OwningTemporary<absl::Span<char>>);
static_assert(!internal::OwningTemporary<const absl::Span<const char>>);
static_assert(!internal::OwningTemporary<absl::string_view>);
static_assert(!internal::OwningTemporary<std::string_view>);
static_assert(!internal::OwningTemporary<std::nullptr_t>);

// Every accepted form, written for real: the peer receives each one's bytes.
TEST(BufferLifetime, AcceptedWriteFormsSendTheirBytes) {
  absl::StatusOr<Watcher> w = Watcher::Create();
  ASSERT_TRUE(w.ok()) << w.status();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string str = "str;";
  std::vector<char> vec = {'v', 'e', 'c', ';'};
  Array arr = {'a', 'r', 'r', ';'};
  const char* chars = "ptr;";
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, str));
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, vec));
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, arr));
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, absl::string_view("asv;")));
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, std::string_view("ssv;")));
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, absl::MakeConstSpan(vec)));
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, absl::MakeSpan(arr)));
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, std::span<const char>(str)));
  GAIO_ASSERT_OK(w->write(nullptr, p->watched, {chars, 4}));
  GAIO_ASSERT_OK(w->write_timeout(nullptr, p->watched, str, absl::InfiniteFuture()));
  GAIO_ASSERT_OK(
      w->write_timeout(nullptr, p->watched, absl::string_view("end."), absl::InfiniteFuture()));
  std::vector<Completion> c = Collect(*w, 11);
  ASSERT_EQ(c.size(), 11u);
  for (const Completion& r : c) {
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.size, 4u);
  }
  absl::StatusOr<std::string> got = ReadExactly(p->peer, 44);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "str;vec;arr;asv;ssv;vec;arr;str;ptr;str;end.");
}

// Every accepted read form fills the caller's memory (or the swap buffer).
TEST(BufferLifetime, AcceptedReadFormsReceiveTheirBytes) {
  absl::StatusOr<Watcher> w = Watcher::Create();
  ASSERT_TRUE(w.ok()) << w.status();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok()) << p.status();
  std::string str(4, '\0');
  char array[4];
  OwningBuffer owning{std::vector<char>(4)};
  std::string full(4, '\0');
  // Reads complete in submission order; each is given exactly 4 bytes to
  // take (read_full waits for them), fed one read at a time.
  GAIO_ASSERT_OK(w->read(nullptr, p->watched, absl::MakeSpan(str)));
  GAIO_ASSERT_OK(w->read_timeout(nullptr, p->watched, array, absl::InfiniteFuture()));
  GAIO_ASSERT_OK(w->read(nullptr, p->watched, owning));
  GAIO_ASSERT_OK(w->read_full(nullptr, p->watched, absl::MakeSpan(full)));
  GAIO_ASSERT_OK(w->read(nullptr, p->watched, nullptr));
  std::vector<std::string> got;
  for (absl::string_view chunk : {"str;", "arr;", "own;", "ful;", "swp;"}) {
    GAIO_ASSERT_OK(WriteAll(p->peer, chunk));
    std::vector<Completion> c = Collect(*w, 1);
    ASSERT_EQ(c.size(), 1u);
    ASSERT_TRUE(c[0].status.ok()) << c[0].status;
    got.push_back(c[0].data);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"str;", "arr;", "own;", "ful;", "swp;"}));
  EXPECT_EQ(str, "str;");
  EXPECT_EQ(absl::string_view(array, 4), "arr;");
  EXPECT_EQ(std::string(owning.bytes.begin(), owning.bytes.end()), "own;");
  EXPECT_EQ(full, "ful;");
}

}  // namespace
}  // namespace gaio
