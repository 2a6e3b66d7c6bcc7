#!/usr/bin/env bash
# Two coroutine pitfalls the package, its examples and its tests avoid
# (docs/CORO.md), checked line by line in the files given:
# - `if (... co_await ...`: gcc 12.2 (Debian 12) miscompiles some coroutines
#   that co_await inside an `if` condition. Bind the awaited value to a
#   variable first; `while (auto v = co_await ...)` is fine.
# - a capturing lambda that is a coroutine (returns Task<> or
#   AsyncGenerator<>): its captures die at the first suspension (what
#   clang-tidy 16's cppcoreguidelines-avoid-capturing-lambda-coroutines
#   reports; Debian 12's clang-tidy 14 does not have that check).
# - a conditional operator inside the operands of a co_await'ed call
#   (`co_await when_any(flag ? A() : B(), C())`): gcc 12.2 destroys the
#   chosen temporary twice (docs/CORO.md). Bind it to a local first.
set -uo pipefail
# `?` inside the parentheses of the call a co_await applies to (one level of
# nested parentheses allowed).
ternary_in_await='\bco_await +[A-Za-z_][A-Za-z0-9_:.>-]*(<[^;]*>)? *\(([^()]|\([^()]*\))*\?'
# The checks check themselves first.
if ! grep -qE "$ternary_in_await" <<<'  auto r = co_await when_any(flag ? A() : B(), C());' ||
   ! grep -qE "$ternary_in_await" <<<'co_await with_timeout(f(x) ? A(1) : B(), d);' ||
   grep -qE "$ternary_in_await" <<<'while (auto v = co_await g.next()) n += (*v == n) ? 1 : 0;'; then
  echo "the ternary-in-co_await pattern does not match its own examples"
  exit 1
fi
found=0
for f in "$@"; do
  if grep -nE "$ternary_in_await" "$f"; then
    echo "^ in $f: a conditional operator in a co_await'ed call (bind it to a local first)"
    found=1
  fi
  if grep -nE '\bif *\(.*\bco_await\b' "$f"; then
    echo "^ in $f: co_await inside an if condition"
    found=1
  fi
  if grep -nE '\[[^]]+\] *\([^)]*\)[^{;]*-> *(gaio::coro::)?(Task|AsyncGenerator)<' "$f"; then
    echo "^ in $f: a capturing lambda coroutine"
    found=1
  fi
done
[[ $found -eq 0 ]] && echo "no co_await inside an if condition, no capturing lambda coroutine, no conditional operator in a co_await'ed call in $# files"
exit $found
