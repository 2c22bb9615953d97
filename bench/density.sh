#!/bin/sh
# Stream density, our host and the Python peer side by side (not part of ctest):
#   bench/density.sh [--build-dir DIR] [--analyzers a,b] [--cases c,d] [--seconds S] [--max-streams N] ...
# Installs the Debian packages in bench/debian-packages.txt that are missing, fetches the BlazeFace model
# (scripts/fetch-models.sh), builds the host, the bundled plugins and ava-loadgen (RelWithDebInfo) in
# build-bench/ unless --build-dir names a built tree, then runs bench/density.py. See bench/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=""
prev=""
for arg in "$@"; do
  [ "$prev" = "--build-dir" ] && build="$arg"
  prev="$arg"
done

"$here/debian-packages.sh"
"$root/scripts/fetch-models.sh" || echo "density: BlazeFace model not fetched: the faces rows will fail"

if [ -z "$build" ]; then
  build="$root/build-bench"
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  jobs=$(nproc)
  cmake --build "$build" -j"$jobs" --target ava-extension-host ava-loadgen >/dev/null
  for plugin in color_intensity faces people motion quality; do
    cmake --build "$build" -j"$jobs" --target "$plugin" >/dev/null 2>&1 || echo "density: plugin $plugin not built"
  done
  set -- --build-dir "$build" "$@"
fi
# Debian's interpreter: the packages above install there (a python3 earlier on PATH, e.g. pyenv's, lacks them).
python=/usr/bin/python3
[ -x "$python" ] || python=python3
exec "$python" "$here/density.py" "$@"
