#!/usr/bin/env bash
# Lint, each part clean on the tree or the script fails (docs/CMAKE.md):
#  1. buildifier: formatting of every Starlark file, and its lint warnings
#     on the project's own (not the third_party stand-ins, which forward to
#     native rules by design); .buildifier.json drops native-sh-test and
#     native-sh-binary, as Bazel 4.2.3 has no rules_shell to load them from;
#  2. clang-format: the C++ lines changed since the commit in
#     tools/lint/format-base (git clang-format), as .clang-format says;
#  3. clang-tidy: the C++ files of the CMake build, as .clang-tidy says:
#     those whose source or project headers changed since the commit in
#     tools/lint/tidy-base (whose tree was clean; tools/lint/tidy_scope.py),
#     or every one with --tidy-all or when .clang-tidy or the CMake build changed.
# In CI (CI=true) the work tree must also be clean: what is checked is what
# is committed. Run it through ./lintw, which installs the tools:
#   ./lintw [BUILD_DIR]     BUILD_DIR: a configured CMake build (compile_commands.json)
#   ./lintw --no-tidy       parts 1 and 2 only: seconds instead of minutes
#   ./lintw --tidy-all [BUILD_DIR]   clang-tidy on every file (then a clean
#                           HEAD may become tools/lint/tidy-base)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
: "${BUILDIFIER:?run through ./lintw}" "${CLANG_FORMAT:?}" "${GIT_CLANG_FORMAT:?}" "${CLANG_TIDY:?}"
tidy=1
tidy_every=0
if [[ ${1:-} == --no-tidy ]]; then tidy=0; shift; fi
if [[ ${1:-} == --tidy-all ]]; then tidy_every=1; shift; fi
build=${1:-}
failed=()
fail() { local name=$1; shift; echo "lint: $name: $*"; failed+=("$name"); }

buildifier_all() {
  local starlark own
  mapfile -t starlark < <(git ls-files '*.bzl' 'BUILD' '*/BUILD' '*BUILD.bazel' 'WORKSPACE' '*/WORKSPACE')
  mapfile -t own < <(printf '%s\n' "${starlark[@]}" | grep -v '^third_party/rules_')
  if ((${#starlark[@]} == 0)); then fail buildifier "no Starlark files found"; return; fi
  "$BUILDIFIER" -config=.buildifier.json --mode=check --lint=off "${starlark[@]}" 2>&1 ||
    fail buildifier "the files above need formatting: $BUILDIFIER -mode=fix FILE"
  "$BUILDIFIER" -config=.buildifier.json --mode=check --lint=warn "${own[@]}" 2>&1 ||
    fail buildifier-lint "fix the warnings above (or $BUILDIFIER -lint=fix FILE)"
  echo "lint: buildifier checked ${#starlark[@]} files"
}

clang_format_changed() {
  local base changed out
  base=$(<tools/lint/format-base)
  if ! git merge-base --is-ancestor "$base" HEAD 2>/dev/null; then
    fail clang-format "base $base (tools/lint/format-base) is not an ancestor of HEAD" \
         "here (a shallow clone? git fetch --unshallow)"
    return
  fi
  changed=$(git diff --name-only "$base" -- '*.cc' '*.h' | wc -l)
  out=$("$GIT_CLANG_FORMAT" --binary "$CLANG_FORMAT" --diff --extensions cc,h "$base" 2>&1)
  if [[ $out == "no modified files to format" || $out == *"did not modify any files"* ]]; then
    echo "lint: clang-format: the changed lines of $changed C++ files since ${base:0:12} are formatted"
  else
    echo "$out"
    fail clang-format "apply the diff above (lines changed since ${base:0:12}):" \
         "$GIT_CLANG_FORMAT --binary $CLANG_FORMAT $base"
  fi
}

tidy_all() {
  local sources log rc findings
  if ! "$CLANG_TIDY" --list-checks | grep -q cppcoreguidelines-avoid-capturing-lambda-coroutines; then
    fail clang-tidy "$CLANG_TIDY lacks checks .clang-tidy enables (needs clang-tidy 17 or later)"
    return
  fi
  if [[ -z $build ]]; then
    build=$(mktemp -d)
    trap 'rm -rf "$build"' EXIT
    cmake -S . -B "$build" -G Ninja >"$build/configure.log" 2>&1 ||
      { cat "$build/configure.log"; fail clang-tidy "cmake configure failed"; return; }
  fi
  mapfile -t sources < <(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' \
                           "$build/compile_commands.json" | grep "^$PWD/" | sort -u)
  if ((${#sources[@]} == 0)); then
    fail clang-tidy "no project sources in $build/compile_commands.json"; return
  fi
  local all=${#sources[@]} scope="every file" base
  base=$(cat tools/lint/tidy-base 2>/dev/null)
  if ((!tidy_every)) && [[ -n $base ]]; then
    local picked
    if picked=$(python3 tools/lint/tidy_scope.py "$build" "$base" "${sources[@]}"); then
      mapfile -t sources < <(grep . <<<"$picked")
      scope="those depending on changes since ${base:0:12}"
    else
      echo "lint: clang-tidy: no dependency lists (above); checking every file"
    fi
  fi
  echo "lint: clang-tidy: ${#sources[@]} of $all files ($scope)"
  ((${#sources[@]} > 0)) || { echo "lint: clang-tidy: nothing to check"; return; }
  log=$(mktemp)
  # The tests' precompiled header is gcc's (GAIO_TEST_PCH): clang reads the
  # headers it names instead, and is told not to warn that it did.
  printf '%s\n' "${sources[@]}" |
    xargs -P "$(nproc)" -n 1 "$CLANG_TIDY" -p "$build" --quiet --extra-arg=-Wno-ignored-gch \
      >"$log" 2>&1
  rc=$?
  findings=$(grep -E ': (warning|error): ' "$log" | sed "s#^$PWD/##" | sort -u)
  if ((rc != 0)) || [[ -n $findings ]]; then
    if [[ -n $findings ]]; then echo "$findings"; else cat "$log"; fi
    fail clang-tidy "$(grep -c . <<<"$findings") findings in ${#sources[@]} files (exit $rc)"
  else
    echo "lint: clang-tidy: ${#sources[@]} files clean"
  fi
  rm -f "$log"
}

dirty=$(git status --porcelain)
if [[ -n $dirty ]]; then
  if [[ ${CI:-} == true ]]; then
    echo "$dirty"
    fail tree "the work tree is not clean (above)"
  else
    echo "lint: note: the work tree is not clean; checking the files as they are"
  fi
fi
buildifier_all
clang_format_changed
if ((tidy)); then tidy_all; else echo "lint: clang-tidy skipped (--no-tidy)"; fi

if ((${#failed[@]})); then
  echo "lint: FAILED: ${failed[*]}"
  exit 1
fi
echo "lint: ok"
