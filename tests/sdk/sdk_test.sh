#!/usr/bin/env bash
# The plugin SDK as a plugin author gets it: installed (cmake --install --component sdk) into a temporary
# prefix, both templates (as installed with it) built out of tree against it — with find_package and with pkg-config — and every
# build checked by the installed ava-plugin-check. The CMake builds' plugins are left in OUT for
# template_host_test. Usage: sdk_test.sh BUILD_DIR OUT
set -euo pipefail
build=$1 out=$2
work=$(mktemp -d /tmp/ava-sdk-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
step() { echo "--- $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "install the SDK into $prefix"
cmake --install "$build" --prefix "$prefix" --component sdk >"$work/install.log" || { cat "$work/install.log"; fail "install"; }
for f in include/ava-extension-host/ava_plugin.h include/ava-extension-host/ava_plugin_cpp.hpp \
         include/ava-extension-host/ava_plugin_params.hpp include/ava-extension-host/ava_plugin_pixels.h \
         lib/cmake/ava-extension-host/ava-extension-host-config.cmake lib/pkgconfig/ava-plugin.pc bin/ava-plugin-check; do
  [[ -s "$prefix/$f" ]] || fail "the SDK install lacks $f"
done
# Nothing of the host's runtime belongs to the SDK component.
[[ ! -e "$prefix/bin/ava-extension-host" ]] || fail "the sdk component installed the host"
templates=$prefix/share/ava-extension-host/templates
[[ -s "$prefix/share/doc/ava-extension-host-dev/plugin-guide.md" ]] || fail "the SDK install lacks the guide"
checker=$prefix/bin/ava-plugin-check
rm -rf "$out" && mkdir -p "$out"

for template in c-analyzer:libbrightness.so cpp-analyzer:libbright_spot.so; do
  name=${template%%:*} lib=${template#*:}
  step "$name: CMake, find_package(ava-extension-host)"
  cmake -S "$templates/$name" -B "$work/$name-cmake" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "$name: configure"; }
  grep -q "$prefix/bin/ava-plugin-check" "$work/$name-cmake/CMakeCache.txt" || fail "$name: the package did not find the installed checker"
  cmake --build "$work/$name-cmake" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "$name: build"; }
  # The template's own test: ava-plugin-check on the plugin.
  ctest --test-dir "$work/$name-cmake" --output-on-failure || fail "$name: its ctest (ava-plugin-check) failed"
  cp "$work/$name-cmake/$lib" "$out/"

  step "$name: pkg-config ava-plugin"
  mkdir -p "$work/$name-pc"
  PKG_CONFIG_PATH=$prefix/lib/pkgconfig make -s -f "$templates/$name/Makefile" O="$work/$name-pc" ||
    fail "$name: pkg-config build"
  "$checker" "$work/$name-pc/$lib" --frames 50 --params '{}' || fail "$name: ava-plugin-check on the pkg-config build"
done
step "all SDK checks passed"
