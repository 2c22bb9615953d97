#!/bin/sh
# Installs the Debian packages in bench/debian-packages.txt that are missing (the Python peers and the test
# pictures the benchmarks need; not in the list CI installs). Used by density.sh and http_score.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
missing=""
while read -r pkg; do
  case "$pkg" in ''|\#*) continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done < "$here/debian-packages.txt"
if [ -n "$missing" ]; then
  echo "bench: installing$missing"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086 (one word per package)
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi
