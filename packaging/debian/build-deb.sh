#!/usr/bin/env bash
# Builds the Debian package (ava-extension-host_<version>_amd64.deb) into build-deb/ with CPack.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/setup.sh" "$root/build" >/dev/null   # installs build dependencies, fetches models
cmake -S "$root" -B "$root/build-deb" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAVA_BUILD_TESTS=OFF \
  -DCMAKE_INSTALL_PREFIX=/usr -DAVA_DEFAULT_PLUGINS_DIR=/usr/lib/ava-extension-host/plugins -DAVA_MODELS_DIR=/usr/share/ava-extension-host/models
cmake --build "$root/build-deb" --parallel "$(nproc)"
(cd "$root/build-deb" && cpack -G DEB)
ls "$root"/build-deb/*.deb
