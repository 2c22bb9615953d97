#!/bin/sh
# The benchmark suite, in one command (not part of ctest):
#   bench/run.sh [--quick] [--soak MINUTES] [--build-dir DIR] [--cases a,b] [--streams 1,8,64]
# Builds the host, the bundled plugins, ava-loadgen and the bench programs (RelWithDebInfo) in
# build-bench/, then runs bench/bench.py. See bench/README.md for what each figure means.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
build=$(build_dir_arg "$@")
build=${build:-$root/build-bench}
configure_bench_build "$build"
# The bundled plugins are built for the idle-memory figure; a plugin that fails to build does not stop the bench.
cmake --build "$build" -j"$(nproc)" --target ava_bench >/dev/null
build_plugins "$build" faces people motion quality
exec python3 "$here/bench.py" --build-dir "$build" "$@"
