#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, in build-asan/ with the sanitized suite:
# scripts/sanitize.sh) and runs them:
#   scripts/fuzz.sh [seconds] [target...]     default: 300 s each, every target
# For each target it first replays fuzz/regressions/<target>/ (every crash found so far) and the seed
# corpus fuzz/corpus/<target>/, then fuzzes for `seconds` (0: replay only). New interesting inputs go to
# build-asan/corpus/<target>/ (not the repo); a crash stops with its reproducer in build-asan/artifacts/<target>/:
# copy it into fuzz/regressions/<target>/ with the fix. .ci/run runs `scripts/fuzz.sh 20`.
# Environment: AVA_FUZZ_JOBS=N (parallel fuzzing processes per target, default 1), AVA_FUZZ_ARGS (more
# libFuzzer flags), AVA_FUZZ_STRICT_UTF8=1 (the HTTP target also requires UTF-8-valid JSON bodies).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-asan"
seconds=${1:-300}
shift || true
all=(http_request content_type image_decode grpc_stream routing config_file inference_writers worker_reply worker_hello
     parameter_schema)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool is missing: scripts/setup.sh installs it" >&2; exit 1; }
done

start=$SECONDS
# The sanitized tree (already built when scripts/test.sh ran: then this is a no-op).
AVA_SANITIZE_BUILD_ONLY=1 "$root/scripts/sanitize.sh" address

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
command -v llvm-symbolizer >/dev/null && export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)

failed=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/${t}_fuzzer"
  seeds="$root/fuzz/corpus/$t"
  regressions="$root/fuzz/regressions/$t"
  work="$build/corpus/$t"
  artifacts="$build/artifacts/$t/"
  mkdir -p "$work" "$artifacts" "$seeds"
  # -timeout: one input taking longer is a hang (a finding); -rss_limit_mb/-malloc_limit_mb: a decompression
  # bomb is a finding too. -max_len: big enough for the image seeds.
  common=(-timeout=25 -rss_limit_mb=2560 -malloc_limit_mb=1024 -max_len=65536 "-artifact_prefix=$artifacts")
  t0=$SECONDS
  replay=("$seeds")
  [[ -d "$regressions" ]] && ls -A "$regressions" | grep -q . && replay+=("$regressions")
  if ! "$bin" "${common[@]}" -runs=0 "${replay[@]}" >"$build/$t.replay.log" 2>&1; then
    echo "fuzz: $t FAILED replaying its corpus/regressions (log: $build/$t.replay.log)"
    tail -40 "$build/$t.replay.log"
    failed+=("$t")
    continue
  fi
  if ((seconds > 0)); then
    fuzz_jobs=${AVA_FUZZ_JOBS:-1}
    extra=()
    ((fuzz_jobs > 1)) && extra=("-jobs=$fuzz_jobs" "-workers=$fuzz_jobs")
    # shellcheck disable=SC2086
    if ! "$bin" "${common[@]}" "${extra[@]}" -max_total_time="$seconds" -print_final_stats=1 ${AVA_FUZZ_ARGS:-} \
        "$work" "$seeds" >"$build/$t.log" 2>&1; then
      echo "fuzz: $t FAILED: reproducer in $artifacts (log: $build/$t.log)"
      grep -E "==ava-fuzz==|ERROR: |SUMMARY: |runtime error|Test unit written" "$build/$t.log" | head -20
      failed+=("$t")
      continue
    fi
  fi
  stats=$(grep -E "^#[0-9]+.*(DONE|INITED)" "$build/$t.log" 2>/dev/null | tail -1 || true)
  echo "fuzz: $t ok ($((SECONDS - t0)) s) ${stats}"
done
echo "fuzz: total $((SECONDS - start)) s"
if ((${#failed[@]})); then
  echo "fuzz: failures: ${failed[*]}" >&2
  exit 1
fi
