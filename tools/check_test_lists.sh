#!/usr/bin/env bash
# Fails when `bazel test //...` and ctest would not run the same tests.
#
#   tools/check_test_lists.sh BUILD_DIR     (a configured CMake build dir)
#
# Bazel's side: every test target under //... that is not tagged manual (what
# `bazel test //...` runs), from `bazel query`. CMake's side: `ctest -N`,
# whose tests are named after their Bazel label (//package:name). CMake-only
# tests must be named cmake:* and be listed in CMAKE_ONLY below. Fails closed:
# an empty list or a failing query is an error, not a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: tools/check_test_lists.sh BUILD_DIR}
CMAKE_ONLY=(cmake:install_consumer_test)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

./bazelw query --noshow_progress \
  'tests(//...) except attr(tags, "\bmanual\b", //...)' >"$work/bazel.raw"
sort -u "$work/bazel.raw" >"$work/bazel"

ctest --test-dir "$build" -N >"$work/ctest.raw"
if grep -q 'Disabled' "$work/ctest.raw"; then
  echo "check_test_lists: ctest has disabled tests:"; grep 'Disabled' "$work/ctest.raw"; exit 1
fi
sed -n 's/^ *Test *#[0-9]*: \(.*\)$/\1/p' "$work/ctest.raw" | sort -u >"$work/ctest.all"
printf '%s\n' "${CMAKE_ONLY[@]}" | sort -u >"$work/cmake_only"
grep -v '^cmake:' "$work/ctest.all" >"$work/ctest" || true

status=0
n_bazel=$(wc -l <"$work/bazel")
n_ctest=$(wc -l <"$work/ctest")
if ((n_bazel == 0 || n_ctest == 0)); then
  echo "check_test_lists: no tests found (bazel: $n_bazel, ctest: $n_ctest)"; exit 1
fi
if ! diff -u --label bazel --label ctest "$work/bazel" "$work/ctest"; then
  echo "check_test_lists: the lines above (- only in Bazel, + only in CMake) differ;"
  echo "  add each test to both builds (tests/tests.bzl for the grouped suites)"
  status=1
fi
if ! diff -u --label CMAKE_ONLY --label ctest "$work/cmake_only" <(grep '^cmake:' "$work/ctest.all"); then
  echo "check_test_lists: CMake-only tests (cmake:*) differ from CMAKE_ONLY in $0"
  status=1
fi
((status == 0)) && echo "check_test_lists: $n_bazel tests in both builds, plus ${#CMAKE_ONLY[@]} CMake-only"
exit $status
