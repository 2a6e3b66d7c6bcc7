// Groups of child tasks for when_all / when_any / with_timeout / shield: each
// child runs in a fiber of its own and reports to the group when it
// finishes; the group resumes the awaiting coroutine once every child (and,
// for with_timeout, the timer) has reported. Children are started inline
// from await_suspend; a pending count that starts one above the number of
// reports keeps the awaiter from being resumed before await_suspend returns
// (then await_suspend returns false instead: no stack growth).
#ifndef GAIO_CORO_INTERNAL_GROUP_H_
#define GAIO_CORO_INTERNAL_GROUP_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "coro/internal/fiber.h"
#include "coro/result.h"
#include "coro/task.h"

namespace gaio::coro::internal {

inline constexpr size_t kNoWinner = static_cast<size_t>(-1);

// `co_await group.wait()`: a prvalue awaiter forwarding to the group, which
// lives in the combinator's frame (awaiting the group lvalue itself would let
// some compilers copy it).
template <class G>
class GroupAwaiter {
 public:
  explicit GroupAwaiter(G* g) : g_(g) {}
  bool await_ready() const noexcept {
    BumpAwaitEpoch();
    g_->note_begin();
    return g_->ready();
  }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return g_->await_suspend(h);
  }
  void await_resume() { g_->await_resume(); }

 private:
  G* g_;
};

class GroupBase : public CancelHook {
 public:
  // A child finished with status `s` (StatusOf its value).
  std::coroutine_handle<> child_done(size_t index, const absl::Status& s) noexcept {
    on_child_done(index, s);
    return arrive();
  }
  // One report in: the awaiter to resume when it was the last.
  std::coroutine_handle<> arrive() noexcept {
    if (--pending_ == 0) return parent_;
    return std::noop_coroutine();
  }
  void request_cancel() noexcept override {
    parent_cancelled_ = true;
    if (!shield_) cancel_children();
  }
  // The awaiter's co_await of the group begins (for the swap-bytes check).
  void note_begin() noexcept { begin_epoch_ = AwaitEpoch(); }

 protected:
  virtual void on_child_done(size_t index, const absl::Status& s) noexcept = 0;
  virtual void cancel_children() noexcept = 0;
  virtual void start_children() noexcept = 0;

  // The common await_suspend: `reports` is the number of arrive()s to wait for.
  template <class P>
  bool suspend(std::coroutine_handle<P> h, size_t reports) {
    parent_ = h;
    parent_fiber_ = h.promise().fiber();
    pending_ = reports + 1;
    parent_fiber_->set_hook(this);
    if (parent_fiber_->cancelled()) {
      parent_cancelled_ = true;
      if (!shield_) cancel_children();
    }
    start_children();
    if (--pending_ == 0) {
      parent_fiber_->clear_hook();
      parent_fiber_ = nullptr;
      return false;
    }
    return true;
  }
  void resumed() {
    if (parent_fiber_ != nullptr) parent_fiber_->clear_hook();
    // The children's values are the awaiter's now: bytes among them are
    // fresh until its next co_await (coro/bytes.h).
    OpenGrace(begin_epoch_);
  }

  std::coroutine_handle<> parent_ = nullptr;
  Fiber* parent_fiber_ = nullptr;
  size_t pending_ = 0;
  uint32_t begin_epoch_ = 0;
  bool parent_cancelled_ = false;
  bool shield_ = false;
};

// A task run as a child of a group. Not to be moved once started.
template <class T>
class Child final : public FinishHook {
 public:
  explicit Child(Task<T> task) : task_(std::move(task)) {}
  Child(Child&& o) noexcept : task_(std::move(o.task_)) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void start(GroupBase* group, size_t index) {
    group_ = group;
    index_ = index;
    auto h = task_.handle();
    h.promise().set_finish_hook(this);
    h.promise().set_fiber(&fiber_);
    h.resume();
  }
  std::coroutine_handle<> on_finish(std::coroutine_handle<>) noexcept override {
    done_ = true;
    return group_->child_done(index_, StatusOfResult(task_.handle().promise()));
  }
  void cancel() { fiber_.cancel(); }
  bool done() const { return done_; }
  ValueOf<T> take() { return TakeValue(task_.handle().promise()); }
  Result<T> take_result() { return TakeResult(task_.handle().promise()); }

 private:
  Task<T> task_;
  Fiber fiber_;
  GroupBase* group_ = nullptr;
  size_t index_ = 0;
  bool done_ = false;
};

enum class GroupMode { kAll, kAny, kShield, kSettled, kFirstOk };

// What a group does when a child finishes, by mode: kAll cancels the rest at
// the first failure, kAny at the first finish (the winner), kFirstOk at the
// first success (the winner), kSettled nothing, kShield nothing (and ignores
// the parent's cancellation).
template <GroupMode kMode>
class ModeGroup : public GroupBase {
 public:
  size_t winner() const { return winner_; }

 protected:
  ModeGroup() { shield_ = kMode == GroupMode::kShield; }

 private:
  void on_child_done(size_t index, const absl::Status& s) noexcept override {
    if constexpr (kMode == GroupMode::kAll) {
      if (!s.ok() && !failed_) {
        failed_ = true;
        cancel_children();
      }
    } else if constexpr (kMode == GroupMode::kAny) {
      if (winner_ == kNoWinner) {
        winner_ = index;
        cancel_children();
      }
    } else if constexpr (kMode == GroupMode::kFirstOk) {
      if (s.ok() && winner_ == kNoWinner) {
        winner_ = index;
        cancel_children();
      }
    }
  }

  size_t winner_ = kNoWinner;
  bool failed_ = false;
};

// A fixed set of children of types Ts...
template <GroupMode kMode, class... Ts>
class TupleGroup final : public ModeGroup<kMode> {
 public:
  explicit TupleGroup(Task<Ts>... tasks) : children_(Child<Ts>(std::move(tasks))...) {}
  TupleGroup(const TupleGroup&) = delete;
  TupleGroup& operator=(const TupleGroup&) = delete;
  GroupAwaiter<TupleGroup> wait() { return GroupAwaiter<TupleGroup>(this); }
  bool ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return this->suspend(h, sizeof...(Ts));
  }
  void await_resume() { this->resumed(); }

  std::tuple<ValueOf<Ts>...> values() {
    return std::apply([](auto&... c) { return std::tuple<ValueOf<Ts>...>(c.take()...); },
                      children_);
  }
  bool parent_cancelled() const { return this->parent_cancelled_; }
  template <size_t I>
  auto& child() {
    return std::get<I>(children_);
  }

 private:
  void cancel_children() noexcept override {
    std::apply([](auto&... c) { (c.cancel(), ...); }, children_);
  }
  void start_children() noexcept override {
    std::apply(
        [this](auto&... c) {
          size_t i = 0;
          (c.start(this, i++), ...);
        },
        children_);
  }

  std::tuple<Child<Ts>...> children_;
};

// Any number of children of one type T.
template <GroupMode kMode, class T>
class VectorGroup final : public ModeGroup<kMode> {
 public:
  explicit VectorGroup(std::vector<Task<T>> tasks) {
    children_.reserve(tasks.size());
    for (Task<T>& t : tasks) children_.emplace_back(std::move(t));
  }
  VectorGroup(const VectorGroup&) = delete;
  VectorGroup& operator=(const VectorGroup&) = delete;
  GroupAwaiter<VectorGroup> wait() { return GroupAwaiter<VectorGroup>(this); }
  bool ready() const noexcept { return children_.empty(); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return this->suspend(h, children_.size());
  }
  void await_resume() { this->resumed(); }

  std::vector<ValueOf<T>> values() {
    std::vector<ValueOf<T>> out;
    out.reserve(children_.size());
    for (Child<T>& c : children_) out.push_back(c.take());
    return out;
  }

 private:
  void cancel_children() noexcept override {
    for (Child<T>& c : children_) c.cancel();
  }
  void start_children() noexcept override {
    for (size_t i = 0; i < children_.size(); ++i) children_[i].start(this, i);
  }

  std::vector<Child<T>> children_;
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_GROUP_H_
