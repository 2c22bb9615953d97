#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, build, and start the host serving the bundled
# plugins on its defaults (HTTP :8080, gRPC :5001). Extra arguments go to ava-extension-host.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" "$root/build"
exec "$root/build/host/ava-extension-host" --plugins-dir "$root/build/plugins-out" "$@"
