#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are missing
# (apt-get, quietly; sudo when not root). Used by ./cmakew and ./lintw:
#   tools/ensure_debs.sh cmake ninja-build
set -euo pipefail

missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$p")
  fi
done
((${#missing[@]})) || exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "ensure_debs: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { "${sudo[@]}" apt-get update -qq &&
       "${sudo[@]}" apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure_debs: apt-get failed" >&2
  exit 1
fi
rm -f "$log"
