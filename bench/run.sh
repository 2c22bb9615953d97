#!/bin/sh
# The benchmark suite, in one command (not part of ctest):
#   bench/run.sh [--quick] [--soak MINUTES] [--build-dir DIR] [--cases a,b] [--streams 1,8,64]
# Builds the host, the bundled plugins, ava-loadgen and the bench programs (RelWithDebInfo) in
# build-bench/, then runs bench/bench.py. See bench/README.md for what each figure means.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build="$root/build-bench"
prev=""
for arg in "$@"; do
  [ "$prev" = "--build-dir" ] && build="$arg"
  prev="$arg"
done
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
jobs=$(nproc)
# The bundled plugins are built for the idle-memory figure; a plugin that fails to build does not stop the bench.
cmake --build "$build" -j"$jobs" --target ava_bench >/dev/null
for plugin in faces people motion quality; do
  cmake --build "$build" -j"$jobs" --target "$plugin" >/dev/null 2>&1 || echo "bench: plugin $plugin not built (skipped)"
done
exec python3 "$here/bench.py" --build-dir "$build" "$@"
