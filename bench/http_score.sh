#!/bin/sh
# HTTP /score on a 416x416 JPEG: our host, the full-decode floor and a Python peer built like Microsoft's
# HTTP sample, side by side (not part of ctest):
#   bench/http_score.sh [--build-dir DIR] [--rounds N] [--seconds S] [--connections 1,8] [--lock FILE] ...
# Installs the Debian packages in bench/debian-packages.txt that are missing, builds the host, colour
# intensity, the null analyzer, the floors and ava-loadgen (RelWithDebInfo) in build-bench/ unless
# --build-dir names a built tree, then runs bench/http_score.py. See bench/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
build=$(build_dir_arg "$@")

"$here/debian-packages.sh"

if [ -z "$build" ]; then
  build="$root/build-bench"
  configure_bench_build "$build"
  cmake --build "$build" -j"$(nproc)" --target ava_bench >/dev/null
  set -- --build-dir "$build" "$@"
fi
exec "$(debian_python)" "$here/http_score.py" "$@"
