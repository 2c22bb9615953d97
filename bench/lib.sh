# Shared by the bench/*.sh entry points (sourced after setting `root`, the repository).

# The value given to --build-dir among the arguments, or nothing.
build_dir_arg() {
  prev=""
  for arg in "$@"; do
    [ "$prev" = "--build-dir" ] && { printf '%s\n' "$arg"; return 0; }
    prev="$arg"
  done
}

# Configures DIR as a RelWithDebInfo Ninja tree unless it already is one.
configure_bench_build() {
  [ -f "$1/build.ninja" ] || cmake -S "$root" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
}

# Builds each named plugin target in DIR; one that fails says so and does not stop the bench.
build_plugins() {
  dir=$1
  shift
  for plugin in "$@"; do
    cmake --build "$dir" -j"$(nproc)" --target "$plugin" >/dev/null 2>&1 || echo "bench: plugin $plugin not built"
  done
}

# Debian's interpreter: bench/debian-packages.sh installs there (a python3 earlier on PATH, e.g. pyenv's,
# lacks those packages).
debian_python() {
  if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else echo python3; fi
}
