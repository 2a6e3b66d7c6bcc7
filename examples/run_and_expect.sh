#!/usr/bin/env bash
# Usage: run_and_expect.sh PATTERN COMMAND [ARGS...]
# Runs COMMAND (bounded to 60 s); passes when it exits 0 and prints PATTERN.
set -uo pipefail
pattern=$1
shift
out=$(timeout 60 "$@" 2>&1)
rc=$?
echo "$out"
[[ $rc -eq 0 ]] || { echo "exit code $rc"; exit 1; }
grep -qF -- "$pattern" <<<"$out" || { echo "missing: $pattern"; exit 1; }
