#!/usr/bin/env bash
# Installs the gaio build in BUILD_DIR into a fresh prefix, then builds and
# runs the README example against the installed tree twice: as a CMake project
# (find_package(gaio), this folder's CMakeLists.txt) and with pkg-config
# (gaio.pc). Also checks that asking for a version gaio is not fails.
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

expect() {  # expect BINARY: the README example's output
  local out
  out=$("$1")
  [[ $out == "echoed: hello" ]] || { echo "$1: unexpected output: $out"; exit 1; }
  echo "$1: $out"
}

echo "--- find_package(gaio)"
"$cmake" -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/cmake" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
expect "$work/cmake/consumer"

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
"$cxx" -std=c++20 "$here/../../examples/readme_echo.cc" -o "$work/consumer_pc" $flags
# A shared libgaio_watcher outside the loader's path needs LD_LIBRARY_PATH.
LD_LIBRARY_PATH=$(pkg-config --variable=libdir gaio) expect "$work/consumer_pc"
echo "install consumer ok"
