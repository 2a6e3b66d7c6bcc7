#!/usr/bin/env bash
# gcc 12.2 (Debian 12) miscompiles some coroutines that co_await inside an
# `if` condition (docs/CORO.md, "Compiler notes"). Fails if a file given
# contains `if (... co_await ...` on one line. Bind the awaited value to a
# variable first; `while (auto v = co_await ...)` is fine.
set -uo pipefail
found=0
for f in "$@"; do
  if grep -nE '\bif *\(.*\bco_await\b' "$f"; then
    echo "^ in $f: co_await inside an if condition"
    found=1
  fi
done
[[ $found -eq 0 ]] && echo "no co_await inside an if condition in $# files"
exit $found
