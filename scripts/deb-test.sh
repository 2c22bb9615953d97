#!/usr/bin/env bash
# Installs the built Debian package (and its -dev package, the plugin SDK) on this machine and checks it as a
# user would get it:
#   - the SDK: headers, CMake package, ava-plugin.pc; an installed template builds out of tree with
#     find_package and passes ava-plugin-check, and so does the installed color_intensity plugin;
#   - the conffile, the system user, the layout, and no path of the build machine in any installed file;
#   - the installed host, run as the package's user with the source and build trees hidden (a private mount
#     namespace with an empty tmpfs over the repository), answers /healthz, /score and /faces (a real face
#     photo finds a face), and its --health-check mode works;
#   - apt-get remove keeps the (edited) configuration, apt-get purge removes it.
# Needs root (apt-get, unshare). Leaves the package purged. Takes ~1 minute after the package is built.
# Usage: scripts/deb-test.sh [package.deb]     (default: the newest build-deb/*.deb; build it with
#        packaging/debian/build-deb.sh, ~15 minutes on 2 cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deb=${1:-$(ls -t "$root"/build-deb/ava-extension-host_*.deb 2>/dev/null | head -1)}
[[ -n "$deb" && -f "$deb" ]] || { echo "deb-test: no package (run packaging/debian/build-deb.sh first)" >&2; exit 2; }
deb=$(realpath "$deb")
dev=$(dirname "$deb")/$(basename "$deb" | sed 's/^ava-extension-host_/ava-extension-host-dev_/')
[[ -f "$dev" ]] || { echo "deb-test: no $dev beside $deb" >&2; exit 2; }
photo=/usr/share/doc/opencv-doc/examples/data/messi5.jpg # one face (opencv-doc)
[[ -f "$photo" ]] || { echo "deb-test: $photo missing (apt-get install opencv-doc)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "deb-test: needs root" >&2; exit 2; }

failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

export DEBIAN_FRONTEND=noninteractive
echo "deb-test: installing $deb and $dev"
apt-get install -y -qq "$deb" "$dev" >/tmp/deb-test-install.log 2>&1 || { tail -20 /tmp/deb-test-install.log; exit 1; }

# --- what was installed
check "config.json is a conffile" bash -c "dpkg-query -W -f='\${Conffiles}' ava-extension-host | grep -q /etc/ava-extension-host/config.json"
check "system user ava-extension-host exists" getent passwd ava-extension-host
for f in /usr/bin/ava-extension-host /usr/libexec/ava-extension-host/ava-analyzer-worker /usr/lib/ava-extension-host/plugins/libfaces.so \
         /usr/share/ava-extension-host/models/face_detection_back_256x256_barracuda.onnx \
         /lib/systemd/system/ava-extension-host.service /usr/share/doc/ava-extension-host/copyright \
         /usr/share/doc/ava-extension-host/changelog.Debian.gz /usr/include/ava-extension-host/ava_plugin.h \
         /usr/include/ava-extension-host/ava_plugin_cpp.hpp /usr/bin/ava-plugin-check \
         /usr/share/doc/ava-extension-host-dev/copyright; do
  check "installed $f" test -s "$f"
done
check "folder for a site's own plugins" test -d /var/lib/ava-extension-host/plugins
check "nothing installed at the filesystem root" bash -c "! dpkg -L ava-extension-host ava-extension-host-dev | grep -qE '^/ava-extension-host'"
# No installed file may name the build machine's source or build tree.
leaks=$(dpkg -L ava-extension-host ava-extension-host-dev | while read -r f; do
  [[ -f "$f" ]] && strings -a "$f" | grep -q -F "$root" && echo "$f"; done || true)
check "no installed file names $root${leaks:+ (found in: $leaks)}" test -z "$leaks"

# --- the SDK, as a plugin author uses it
sdk=$(mktemp -d /tmp/deb-test-sdk.XXXXXX)
check "pkg-config finds ava-plugin" pkg-config --exists ava-plugin
check "an installed template builds with find_package and passes ava-plugin-check" bash -c "
  cmake -S /usr/share/ava-extension-host/templates/c-analyzer -B '$sdk/c' >'$sdk/log' 2>&1 &&
  cmake --build '$sdk/c' >>'$sdk/log' 2>&1 && ctest --test-dir '$sdk/c' --output-on-failure >>'$sdk/log' 2>&1 ||
  { cat '$sdk/log'; false; }"
check "ava-plugin-check passes the installed color_intensity" \
  ava-plugin-check /usr/lib/ava-extension-host/plugins/libcolor_intensity.so --frames 20
rm -rf "$sdk"

# --- the installed host, with the repository (sources, build trees, .cache/models) hidden
echo "deb-test: running the installed host as ava-extension-host, $root hidden"
work=$(mktemp -d /tmp/deb-test.XXXXXX)
chmod 755 "$work"
cp "$photo" "$work/face.jpg"
cat >"$work/inside.sh" <<INSIDE
set -euo pipefail
mount -t tmpfs -o size=1m,mode=0755 none "$root"
cd /
[[ -z "\$(ls -A "$root")" ]] || { echo "repository still visible"; exit 1; }
unset AVA_MODELS_DIR
install -d -o ava-extension-host "$work/run"
setpriv --reuid=ava-extension-host --regid=ava-extension-host --init-groups \
  /usr/bin/ava-extension-host --config /etc/ava-extension-host/config.json --http-port 0 --grpc-port 0 \
  --bind 127.0.0.1 --ready-file "$work/run/ready" >"$work/host.log" 2>&1 &
pid=\$!
for _ in \$(seq 100); do [[ -s "$work/run/ready" ]] && break; kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
port=\$(sed -E 's/.*"http_port":([0-9]+).*/\1/' "$work/run/ready" 2>/dev/null || echo 0)
url=http://127.0.0.1:\$port
curl -s -o "$work/healthz.txt" -w '%{http_code}' "\$url/healthz" >"$work/healthz.code" || true
curl -s -o "$work/score.json" -w '%{http_code}' -H 'Content-Type: image/jpeg' --data-binary @"$work/face.jpg" "\$url/score" >"$work/score.code" || true
curl -s -o "$work/faces.json" -w '%{http_code}' -H 'Content-Type: image/jpeg' --data-binary @"$work/face.jpg" "\$url/faces" >"$work/faces.code" || true
/usr/bin/ava-extension-host --health-check "\$url/healthz" >"$work/health-check.txt" 2>&1; echo \$? >"$work/health-check.code"
kill -TERM \$pid; wait \$pid || true
INSIDE
unshare --mount --propagation private bash "$work/inside.sh" || fail "running the host in a private mount namespace"
check "GET /healthz answers 200" grep -qx 200 "$work/healthz.code"
check "POST /score answers 200 with an inference" bash -c "grep -qx 200 '$work/score.code' && grep -q inferences '$work/score.json'"
check "POST /faces finds a face" bash -c "grep -qx 200 '$work/faces.code' && grep -q '\"face\"' '$work/faces.json'"
check "--health-check exits 0 on a healthy host" grep -qx 0 "$work/health-check.code"
check "the host read no file of $root" bash -c "! grep -qF '$root' '$work/host.log'"
check "faces loaded from the installed model" bash -c "grep -q \"loaded analyzer 'faces'\" '$work/host.log'"
if ((failures)); then echo "--- host log"; cat "$work/host.log"; echo "--- /faces: $(cat "$work/faces.json" 2>/dev/null)"; fi

# --- remove keeps the configuration, purge deletes it
sed -i 's/"logLevel": "info"/"logLevel": "debug"/' /etc/ava-extension-host/config.json
apt-get remove -y -qq ava-extension-host ava-extension-host-dev >/dev/null 2>&1
check "remove: binary gone" test ! -e /usr/bin/ava-extension-host
check "remove: the edited configuration stays" grep -q '"logLevel": "debug"' /etc/ava-extension-host/config.json
apt-get purge -y -qq ava-extension-host ava-extension-host-dev >/dev/null 2>&1
check "purge: configuration gone" test ! -e /etc/ava-extension-host/config.json
check "purge: package gone" bash -c "! dpkg-query -W -f='\${Status}' ava-extension-host 2>/dev/null | grep -q installed"
rm -rf "$work"

if ((failures)); then echo "deb-test: $failures check(s) failed"; exit 1; fi
echo "deb-test: all checks passed"
