#include "coro/scope.h"

#include <cstdio>
#include <cstdlib>

namespace gaio::coro {

namespace internal {

std::coroutine_handle<> FinishSpawned(SpawnRecord* rec, std::coroutine_handle<> task) noexcept {
  return rec->on_finish(task);
}

std::coroutine_handle<> SpawnRecord::on_finish(std::coroutine_handle<> task) noexcept {
  Scope* scope = this->scope();
  EventLoop* loop = scope->loop_;
  std::coroutine_handle<> joiner = scope->remove(this);
  std::coroutine_handle<> next = std::noop_coroutine();
  if (waiter_) {
    next = std::exchange(waiter_, nullptr);
    if (joiner) loop->schedule(joiner);
  } else if (joiner) {
    next = joiner;
  }
  drop(kRunning, task);
  // Each link of a chain of such transfers may cost stack (no tail call):
  // past a bound, let the loop resume the next one.
  if (next != std::noop_coroutine() && PastResumeDepth()) {
    loop->schedule(next);
    next = std::noop_coroutine();
  }
  return next;
}

void SpawnRecord::release_handle(std::coroutine_handle<> task) noexcept {
  waiter_ = nullptr;
  drop(kHandle, task);
}

void SpawnRecord::discard(std::coroutine_handle<> task) noexcept {
  scope()->remove(this);
  scope_word_ |= kFrameGone;
  task.destroy();
  drop(kRunning, task);
}

void SpawnRecord::drop(uintptr_t flag, std::coroutine_handle<> task) noexcept {
  scope_word_ &= ~flag;
  if ((scope_word_ & (kRunning | kHandle)) != 0) return;
  if ((scope_word_ & kFrameGone) == 0) task.destroy();
  delete this;
}

}  // namespace internal

namespace internal {
void NoLoopForSpawn() {
  std::fprintf(stderr, "gaio::coro::spawn() outside EventLoop::run(): use a Scope of the loop\n");
  std::abort();
}
}  // namespace internal

namespace {
EventLoop& CurrentLoopOrDie() {
  EventLoop* loop = EventLoop::current();
  if (loop == nullptr) {
    std::fprintf(stderr, "gaio::coro::Scope() outside EventLoop::run(): pass the loop\n");
    std::abort();
  }
  return *loop;
}
}  // namespace

Scope::Scope() : Scope(CurrentLoopOrDie()) {}

Scope::Scope(EventLoop& loop) : loop_(&loop) { loop_->register_scope(this); }

Scope::~Scope() {
  // While the loop is destroyed (root == nullptr), what is still live is
  // what a failed run() left suspended: it stays leaked where it is.
  Scope* root = loop_->root_scope_if_any();
  if (live_ > 0 && root != nullptr && this != root) {
    // A Scope left without join(): cancel its tasks and let the loop's root
    // scope own them, so that they still finish before run() returns.
    cancel();
    while (internal::SpawnRecord* rec = head_) {
      head_ = rec->next_;
      rec->set_scope(root);
      rec->prev_ = nullptr;
      rec->next_ = root->head_;
      if (root->head_ != nullptr) root->head_->prev_ = rec;
      root->head_ = rec;
      ++root->live_;
    }
    live_ = 0;
  }
  loop_->unregister_scope(this);
}

Task<> Scope::join() {
  // The last task's finish may resume a JoinHandle's waiter first, which may
  // spawn into the scope before this joiner runs: wait again then.
  while (live_ > 0) co_await JoinWait(this);
}

void Scope::add(internal::SpawnRecord* rec) {
  rec->next_ = head_;
  if (head_ != nullptr) head_->prev_ = rec;
  head_ = rec;
  ++live_;
  loop_->task_spawned();
}

std::coroutine_handle<> Scope::remove(internal::SpawnRecord* rec) {
  if (rec->prev_ != nullptr) {
    rec->prev_->next_ = rec->next_;
  } else {
    head_ = rec->next_;
  }
  if (rec->next_ != nullptr) rec->next_->prev_ = rec->prev_;
  rec->prev_ = rec->next_ = nullptr;
  --live_;
  loop_->task_finished();
  if (live_ == 0 && joiner_) return std::exchange(joiner_, nullptr);
  return nullptr;
}

void Scope::start(std::coroutine_handle<> task, internal::SpawnRecord* rec) {
  loop_->start_spawned(task, rec);
}

void Scope::cancel() {
  cancelled_ = true;
  // Cancel hooks never resume a task inline, so no task leaves the list
  // while it is walked.
  for (internal::SpawnRecord* rec = head_; rec != nullptr;) {
    internal::SpawnRecord* next = rec->next_;
    rec->fiber().cancel();
    rec = next;
  }
}

}  // namespace gaio::coro
