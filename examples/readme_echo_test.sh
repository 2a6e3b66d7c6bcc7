#!/usr/bin/env bash
# Usage: readme_echo_test.sh BINARY SOURCE README
# Runs the README example, then checks that README.md contains the example's
# code (from its first #include to the end) verbatim.
set -euo pipefail
binary=$1 source=$2 readme=$3
out=$("$binary")
[[ $out == "echoed: hello" ]] || { echo "unexpected output: $out"; exit 1; }
code=$(sed -n '/^#include/,$p' "$source")
python3 - "$readme" "$code" <<'PY'
import sys
readme, code = open(sys.argv[1]).read(), sys.argv[2]
if code.strip() not in readme:
    sys.exit("README.md does not show examples/readme_echo.cc verbatim: update the README")
PY
echo "readme example ok"
