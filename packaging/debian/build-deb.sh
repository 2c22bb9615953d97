#!/usr/bin/env bash
# Builds the Debian package ava-extension-host_<version>-1_<arch>.deb: one Release build (no tests, no
# benchmarks) into its own folder, then CPack. Ninja shows its progress ([done/total]).
# Usage: packaging/debian/build-deb.sh [build-dir]      (default: <repo>/build-deb; AVA_JOBS=N to limit jobs)
# The package's contents, scripts and checks: docs/deploy.md; its test: scripts/deb-test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-deb}

# Build dependencies: scripts/debian-packages.txt without what only the test suite and fuzzing need
# (installs only the missing ones, as scripts/setup.sh does, but without building the development tree).
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  [[ "$pkg" =~ ^(libgtest-dev|libgmock-dev|clang|libclang-rt-.*|llvm|opencv-doc)$ ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$root/scripts/debian-packages.txt"
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
if ((${#missing[@]})); then
  echo "build-deb: installing ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The package ships the BlazeFace model: fetch it (checked by hash) and refuse to build without it.
"$root/scripts/fetch-models.sh"
model="$root/.cache/models/face_detection_back_256x256_barracuda.onnx"
[[ -s "$model" ]] || { echo "build-deb: $model is missing" >&2; exit 1; }

echo "build-deb: configuring $build"
# Debian's hardening flags (dpkg-buildflags, all features: fortify, stack protector, relro + bindnow), and
# -ffile-prefix-map: __FILE__ (OpenCV's CV_Assert, logging macros) and debug paths name files relative to the
# source tree, so no installed file carries this machine's paths (scripts/deb-test.sh checks).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
prefix_map="-ffile-prefix-map=$root/=./"
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) $prefix_map"
cxxflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS) $prefix_map"
ldflags=$(dpkg-buildflags --get LDFLAGS)
cflags=${cflags//-g /} cxxflags=${cxxflags//-g /} # no debug info: CPack strips it anyway, and it slows the build
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DAVA_BUILD_TESTS=OFF -DAVA_BUILD_BENCH=OFF -DCMAKE_C_FLAGS="$cflags" -DCMAKE_CXX_FLAGS="$cxxflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" -DCMAKE_MODULE_LINKER_FLAGS="$ldflags"
echo "build-deb: building (the only build; Ninja prints [done/total])"
cmake --build "$build" --parallel "${AVA_JOBS:-$(nproc)}"
echo "build-deb: packaging"
(cd "$build" && cpack -G DEB)
ls "$build"/*.deb
