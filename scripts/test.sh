#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, build, and run the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" "$root/build"
cd "$root/build"
ctest --output-on-failure --parallel 2 --timeout 300 "$@"
