#!/usr/bin/env bash
# Installs the gaio build in BUILD_DIR into a fresh prefix, then builds and
# runs the README example against the installed tree twice: as a CMake project
# (find_package(gaio), this folder's CMakeLists.txt) and with pkg-config
# (gaio.pc). Also checks that asking for a version gaio is not fails. Both
# ways it also builds a coroutine program (coro_consumer.cc: lines() and
# with_timeout(g.next(), d)) in the other build mode than the installed
# library's (a Debug program against a Release install, the usual mix; a
# Release one against a Debug install) and runs it: the swap-bytes check must
# give the library's answer (issue 19).
# ctest runs it (cmake:install_consumer_test); by hand:
#   tests/install_consumer/run.sh cmake build c++
set -euo pipefail
cmake=$1 build=$2 cxx=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/gaio/watcher/watcher.h include/gaio/watcher/options.h \
         include/gaio/watcher/buffer_traits.h include/gaio/watcher/stats.h \
         include/gaio/watcher/op_result.h include/gaio/tls/context.h \
         include/gaio/tls/session.h include/gaio/tls/status.h; do
  [[ -f $prefix/$f ]] || { echo "not installed: $f"; exit 1; }
done
find "$prefix" -name 'gaioConfig*.cmake' | grep -q . || { echo "no gaioConfig.cmake"; exit 1; }
pc=$(find "$prefix" -name gaio.pc)
[[ -n $pc ]] || { echo "no gaio.pc"; exit 1; }

# The installed library's mode (NDEBUG or not), and the consumer's: the other.
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
# The library's instrumentation (CI's build is under -fsanitize=...): a
# program that links it needs the same runtime.
lib_flags=$(sed -n 's/^CMAKE_CXX_FLAGS:[A-Z]*=//p' "$build/CMakeCache.txt")
case $build_type in
  Release | RelWithDebInfo | MinSizeRel) consumer_type=Debug consumer_flags="-g -O0" ;;
  *) consumer_type=Release consumer_flags="-O2 -DNDEBUG" ;;
esac
echo "installed: ${build_type:-no build type}; the coroutine consumer: $consumer_type"

expect() {  # expect BINARY [OUTPUT]: the README example's output, or OUTPUT
  local out want=${2:-"echoed: hello"}
  out=$("$1" 2>&1) || { echo "$1 failed: $out"; exit 1; }
  [[ $out == "$want" ]] || { echo "$1: unexpected output: $out"; exit 1; }
  echo "$1: $out"
}
coro_output="lines: one two three"

echo "--- find_package(gaio)"
"$cmake" -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE="$consumer_type" \
  -DCMAKE_CXX_FLAGS="$lib_flags" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/cmake" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
expect "$work/cmake/consumer"
expect "$work/cmake/coro_consumer" "$coro_output"

echo "--- find_package(gaio 99) must fail"
if "$cmake" -S "$here" -B "$work/cmake99" -DCMAKE_PREFIX_PATH="$prefix" \
     -DGAIO_VERSION_WANTED=99 >"$work/configure99.log" 2>&1; then
  echo "find_package(gaio 99) succeeded: the version file does not work"
  exit 1
fi
tr -s ' \n' ' ' <"$work/configure99.log" | grep -q 'compatible with requested version "99"' ||
  { cat "$work/configure99.log"; exit 1; }

echo "--- pkg-config gaio"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
flags=$(pkg-config --cflags --libs gaio)
echo "pkg-config --cflags --libs gaio: $flags"
# shellcheck disable=SC2086  # flags are words
"$cxx" -std=c++20 $lib_flags "$here/../../examples/readme_echo.cc" -o "$work/consumer_pc" $flags
# A shared libgaio_watcher outside the loader's path needs LD_LIBRARY_PATH.
LD_LIBRARY_PATH=$(pkg-config --variable=libdir gaio) expect "$work/consumer_pc"
# The README's pkg-config line, in the consumer's mode.
# shellcheck disable=SC2086  # flags are words
"$cxx" -std=c++20 $consumer_flags $lib_flags "$here/coro_consumer.cc" -o "$work/coro_consumer_pc" \
  $flags
LD_LIBRARY_PATH=$(pkg-config --variable=libdir gaio) expect "$work/coro_consumer_pc" "$coro_output"
echo "install consumer ok"
