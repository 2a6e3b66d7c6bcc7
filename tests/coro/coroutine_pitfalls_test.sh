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
set -uo pipefail
found=0
for f in "$@"; do
  if grep -nE '\bif *\(.*\bco_await\b' "$f"; then
    echo "^ in $f: co_await inside an if condition"
    found=1
  fi
  if grep -nE '\[[^]]+\] *\([^)]*\)[^{;]*-> *(gaio::coro::)?(Task|AsyncGenerator)<' "$f"; then
    echo "^ in $f: a capturing lambda coroutine"
    found=1
  fi
done
[[ $found -eq 0 ]] && echo "no co_await inside an if condition, no capturing lambda coroutine in $# files"
exit $found
