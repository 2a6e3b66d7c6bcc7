// The custom BIO between a Session's SSL object and its buffers: reads come
// from the span being fed (nothing is copied ahead of OpenSSL's own record
// buffer), writes append to the outgoing ciphertext.
#include <openssl/bio.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "tls/internal/session_impl.h"

namespace gaio::tls {

namespace {

// Set once this thread's Spares are destroyed (a session freed later, at
// thread exit, then frees its buffer itself). A bool has no destructor: it
// may be read until the thread is gone.
thread_local bool spares_gone = false;

struct Spares {
  ~Spares() { spares_gone = true; }
  std::string buffers[kMaxSpares];
  size_t count = 0;
};

Spares* ThreadSpares() {
  if (spares_gone) return nullptr;
  thread_local Spares spares;
  return &spares;
}

size_t InlineCapacity() {
  static const size_t kInline = std::string().capacity();
  return kInline;
}

}  // namespace

std::string TakeSpare() {
  Spares* s = ThreadSpares();
  if (s == nullptr || s->count == 0) return std::string();
  std::string out = std::move(s->buffers[--s->count]);
  out.clear();
  return out;
}

void GiveSpare(std::string s) {
  if (s.capacity() <= InlineCapacity() || s.capacity() > kMaxSpareCapacity) return;  // freed
  Spares* spares = ThreadSpares();
  if (spares == nullptr || spares->count == kMaxSpares) return;  // freed here
  spares->buffers[spares->count++] = std::move(s);
}

void DrainBuffer::Borrow() {
  if (bytes_.capacity() <= InlineCapacity()) bytes_ = TakeSpare();
}

char* DrainBuffer::Grow(size_t n) {
  if (bytes_.empty()) Borrow();
  const size_t old = bytes_.size();
  bytes_.resize(old + n);
  return bytes_.data() + old;
}

void DrainBuffer::consume(size_t n) {
  pos_ += std::min(n, bytes_.size() - pos_);
  if (pos_ == bytes_.size()) Release();
}

std::string DrainBuffer::take() {
  if (pos_ > 0) bytes_.erase(0, pos_);
  pos_ = 0;
  return std::exchange(bytes_, std::string());
}

size_t DrainBuffer::heap_bytes() const {
  return bytes_.capacity() > InlineCapacity() ? bytes_.capacity() : 0;
}

void DrainBuffer::Release() {
  GiveSpare(std::exchange(bytes_, std::string()));
  pos_ = 0;
}

namespace {

Session::Impl* ImplOf(BIO* bio) { return static_cast<Session::Impl*>(BIO_get_data(bio)); }

int Read(BIO* bio, char* out, int size) {
  Session::Impl* impl = ImplOf(bio);
  BIO_clear_retry_flags(bio);
  if (impl->input.empty()) {
    if (impl->input_eof) return 0;
    BIO_set_retry_read(bio);
    return -1;
  }
  const size_t n = std::min(impl->input.size(), static_cast<size_t>(std::max(size, 0)));
  std::memcpy(out, impl->input.data(), n);
  impl->input.remove_prefix(n);
  return static_cast<int>(n);
}

int Write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  if (size <= 0) return 0;
  ImplOf(bio)->ciphertext.append(data, static_cast<size_t>(size));
  return size;
}

long Ctrl(BIO* bio, int cmd, long /*num*/, void* /*ptr*/) {
  Session::Impl* impl = ImplOf(bio);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(impl->input.size());
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_EOF:
      return impl->input.empty() && impl->input_eof ? 1 : 0;
    default:
      return 0;
  }
}

int Create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* Method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gaio-tls-session");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, Write);
    BIO_meth_set_read(m, Read);
    BIO_meth_set_ctrl(m, Ctrl);
    BIO_meth_set_create(m, Create);
    return m;
  }();
  return method;
}

}  // namespace

BIO* NewSessionBio(Session::Impl* impl) {
  BIO_METHOD* method = Method();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio != nullptr) BIO_set_data(bio, impl);
  return bio;
}

}  // namespace gaio::tls
