#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, build, and run the whole test suite; then the
# same suite again built with AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize.sh address,
# in build-asan/). AVA_SANITIZE_TESTS=0 skips the sanitizer pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" "$root/build"
cd "$root/build"
start=$SECONDS
ctest --output-on-failure --parallel 2 --timeout 300 "$@"
echo "test: suite took $((SECONDS - start)) s"
if [[ "${AVA_SANITIZE_TESTS:-1}" != 0 ]]; then
  "$root/scripts/sanitize.sh" address "$@"
fi
