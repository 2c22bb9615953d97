#!/usr/bin/env bash
# Builds the container image from this tree as ../shared/container-testing.md says (podman, no registry,
# no docker daemon), then runs the image's own files (chroot into the mounted image, as its non-root user,
# with /proc, /dev and a private /tmp mounted in a private mount namespace) and checks /healthz, /score,
# /faces (a real face photo), the binary's --health-check, the image's HEALTHCHECK and USER, and that no
# installed file names this build machine's tree. Prints the image size.
# Needs root. Slow: the image build compiles the project (~20-30 minutes on 2 cores).
# Usage: scripts/container-test.sh [--no-build] [image-tag]      (default tag: localhost/ava-extension-host:test)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=1
[[ "${1:-}" == "--no-build" ]] && { build=0; shift; }
image=${1:-localhost/ava-extension-host:test}
photo=/usr/share/doc/opencv-doc/examples/data/messi5.jpg
[[ -f "$photo" ]] || { echo "container-test: $photo missing (apt-get install opencv-doc)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "container-test: needs root" >&2; exit 2; }

shared_tools="$root/../shared/tools/local-base-images.sh"
if ((build)); then
  if [[ -x "$shared_tools" ]]; then "$shared_tools"; fi
  echo "container-test: building $image"
  # --format docker: the OCI format has no HEALTHCHECK. --isolation=chroot and --network=host: see
  # ../shared/container-testing.md.
  # The CA bundle this machine trusts (a TLS-inspecting proxy's CA included) reaches npm in the build stage
  # as a secret, never a layer.
  ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
  podman build --pull=never --isolation=chroot --network=host --format docker \
    --secret id=ca-certificates,src="$ca" \
    --build-arg JOBS="${AVA_JOBS:-$(nproc)}" -f "$root/packaging/docker/Dockerfile" -t "$image" "$root"
fi

failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

size=$(podman image inspect --format '{{.Size}}' "$image")
echo "container-test: image $image is $((size / 1000 / 1000)) MB ($size bytes)"
check "image USER is non-root" bash -c "[[ \$(podman image inspect --format '{{.Config.User}}' '$image') =~ ^[1-9][0-9]*(:[0-9]+)?$ ]]"
check "image HEALTHCHECK runs --health-check" bash -c "podman image inspect --format '{{json .Config.Healthcheck}}' '$image' | grep -q -- --health-check"

dir=$(podman image mount "$image")
trap 'podman image unmount "$image" >/dev/null 2>&1 || true' EXIT
check "host binary in the image" test -x "$dir/usr/bin/ava-extension-host"
check "BlazeFace model in the image" test -s "$dir/usr/share/ava-extension-host/models/face_detection_back_256x256_barracuda.onnx"
leaks=$(for f in "$dir"/usr/bin/ava-extension-host "$dir"/usr/lib/ava-extension-host/plugins/*.so; do
  strings -a "$f" | grep -q -E "$root/|/src/(host|plugins|plugin-api|build)" && echo "${f#"$dir"}"; done || true)
check "no installed file names the build trees ($root, the build stage's /src)${leaks:+ (found in: $leaks)}" test -z "$leaks"
check "no compiler in the image" test ! -e "$dir/usr/bin/g++" -a ! -e "$dir/usr/bin/cmake"

work=$(mktemp -d /tmp/container-test.XXXXXX)
chmod 755 "$work"
cp "$photo" "$work/face.jpg"
uid=$(podman image inspect --format '{{.Config.User}}' "$image"); uid=${uid%%:*}
cat >"$work/inside.sh" <<INSIDE
set -euo pipefail
mount -t proc proc "$dir/proc"
mount --rbind /dev "$dir/dev"
mount -t tmpfs -o mode=1777 tmpfs "$dir/tmp"
chroot --userspec=$uid:$uid "$dir" /usr/bin/ava-extension-host --config /etc/ava-extension-host/config.json \
  --http-port 0 --grpc-port 0 --bind 127.0.0.1 --ready-file /tmp/ready >"$work/host.log" 2>&1 &
pid=\$!
for _ in \$(seq 150); do [[ -s "$dir/tmp/ready" ]] && break; kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
port=\$(sed -E 's/.*"http_port":([0-9]+).*/\1/' "$dir/tmp/ready" 2>/dev/null || echo 0)
url=http://127.0.0.1:\$port
curl -s -o "$work/healthz.txt" -w '%{http_code}' "\$url/healthz" >"$work/healthz.code" || true
curl -s -o "$work/score.json" -w '%{http_code}' -H 'Content-Type: image/jpeg' --data-binary @"$work/face.jpg" "\$url/score" >"$work/score.code" || true
curl -s -o "$work/faces.json" -w '%{http_code}' -H 'Content-Type: image/jpeg' --data-binary @"$work/face.jpg" "\$url/faces" >"$work/faces.code" || true
chroot --userspec=$uid:$uid "$dir" /usr/bin/ava-extension-host --health-check "\$url/healthz" >"$work/health-check.txt" 2>&1; echo \$? >"$work/health-check.code"
kill -TERM \$pid; wait \$pid || true
INSIDE
unshare --mount --propagation private bash "$work/inside.sh" || fail "running the image's host in a private mount namespace"
check "GET /healthz answers 200" grep -qx 200 "$work/healthz.code"
check "POST /score answers 200 with an inference" bash -c "grep -qx 200 '$work/score.code' && grep -q inferences '$work/score.json'"
check "POST /faces finds a face" bash -c "grep -qx 200 '$work/faces.code' && grep -q '\"face\"' '$work/faces.json'"
check "--health-check in the image exits 0" grep -qx 0 "$work/health-check.code"
check "faces loaded from the image's model" bash -c "grep -q \"loaded analyzer 'faces'\" '$work/host.log'"
if ((failures)); then echo "--- host log"; cat "$work/host.log"; fi
rm -rf "$work"

if ((failures)); then echo "container-test: $failures check(s) failed"; exit 1; fi
echo "container-test: all checks passed (image $((size / 1000 / 1000)) MB)"
