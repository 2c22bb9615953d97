#!/bin/sh
# Stream density, our host and the Python peer side by side (not part of ctest):
#   bench/density.sh [--build-dir DIR] [--analyzers a,b] [--cases c,d] [--seconds S] [--max-streams N] ...
# Installs the Debian packages in bench/debian-packages.txt that are missing, fetches the BlazeFace model
# (scripts/fetch-models.sh), builds the host, the bundled plugins and ava-loadgen (RelWithDebInfo) in
# build-bench/ unless --build-dir names a built tree, then runs bench/density.py. See bench/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
build=$(build_dir_arg "$@")

"$here/debian-packages.sh"
"$root/scripts/fetch-models.sh" || echo "density: BlazeFace model not fetched: the faces rows will fail"

if [ -z "$build" ]; then
  build="$root/build-bench"
  configure_bench_build "$build"
  cmake --build "$build" -j"$(nproc)" --target ava-extension-host ava-loadgen >/dev/null
  build_plugins "$build" color_intensity faces people motion quality
  set -- --build-dir "$build" "$@"
fi
exec "$(debian_python)" "$here/density.py" "$@"
