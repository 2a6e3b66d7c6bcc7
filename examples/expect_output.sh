#!/usr/bin/env bash
# Usage: expect_output.sh EXPECTED_FILE COMMAND [ARGS...]
# Runs COMMAND (bounded to 60 s); passes when it exits 0 and its standard
# output is exactly EXPECTED_FILE.
set -uo pipefail
expected=$1
shift
out=$(timeout 60 "$@")
rc=$?
echo "$out"
[[ $rc -eq 0 ]] || { echo "exit code $rc"; exit 1; }
if ! diff <(echo "$out") "$expected"; then
  echo "output differs from $expected (diff above: < got, > expected)"
  exit 1
fi
echo "output matches $expected"
