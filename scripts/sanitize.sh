#!/usr/bin/env bash
# Sanitizer builds of the host, the plugins and the test suite, each in its own build dir.
#
#   scripts/sanitize.sh address [ctest args...]   AddressSanitizer + UndefinedBehaviorSanitizer (clang), whole
#                                                 suite, in build-asan/ (run by .ci/run); the same tree builds
#                                                 the libFuzzer targets (fuzz/, run by scripts/fuzz.sh), so CI
#                                                 compiles the project twice, not three times.
#   AVA_SANITIZE_BUILD_ONLY=1 scripts/sanitize.sh address   configure and build only (scripts/fuzz.sh)
#   scripts/sanitize.sh thread  [ctest args...]   ThreadSanitizer (gcc), the host's concurrency tests, in
#                                                 build-tsan/ (optional, see fuzz/README.md)
#
# Any sanitizer report fails the run: the code is built with -fno-sanitize-recover=all, the runtime options
# below halt on the first error and exit with 66, and tests/support/host_process.cpp fails the test whose
# host child exited with 66. Run scripts/setup.sh once first (scripts/test.sh does) for the packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-address}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)
supp="$root/scripts/sanitizers"

case "$mode" in
address)
  build="$root/build-asan"
  sanitize="address,undefined"
  # clang: libFuzzer needs it, and one instrumented tree serves the suite and the fuzzers.
  export CC=clang CXX=clang++
  extra=(-DAVA_FUZZ=ON)
  # Everything the tests run: the tests, the host binary (spawned by them, it inherits the environment),
  # the plugins (dlopen'ed by the host) and the tools the tests drive (ava-loadgen, ava-replay).
  # Leak checking is on; the only suppressions are for uninstrumented Debian libraries (lsan.supp).
  export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:exitcode=66:detect_leaks=1:strict_init_order=1:\
check_initialization_order=1:detect_stack_use_after_return=0:print_suppressions=0"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0:exitcode=66"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=66:suppressions=$supp/ubsan.supp"
  tests=()
  ;;
thread)
  build="$root/build-tsan"
  sanitize="thread"
  extra=()
  # Suppressions only for races inside uninstrumented gRPC/protobuf/absl/OpenCV code: see tsan.supp.
  export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:report_signal_unsafe=0:\
suppressions=$supp/tsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=66"
  # The host's own concurrency: gRPC front-end (many streams, shared workers), HTTP front-end (concurrent
  # connections, the serial-plugin overlap probe), hot reload of plugins and configuration under load.
  tests=(-R "${AVA_TSAN_TESTS:-^(GrpcFrontend\.(SequenceAndAckNumbersOverManyPipelinedFrames|HundredFramesThroughSharedMemory|\
ManyConcurrentStreams|ClientDisconnectingMidStreamFreesTheStream|AnalyzerFailureMidStream)|GrpcBackPressure|\
GrpcShutdown|HttpFrontend\.(KeepAliveServesManyRequestsOnOneConnection|ManyConcurrentConnectionsAllAnswered)|HttpOverload|\
HttpShutdown|PluginConcurrency|HotReload|ConfigReload|GrpcHotReload)}")
  ;;
*)
  echo "usage: $0 address|thread [ctest args...]" >&2
  exit 2
  ;;
esac
command -v llvm-symbolizer >/dev/null && export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer)}

start=$SECONDS
# -O1 -g1: a third of -O2 -g's compile time, line numbers in every report. bench/ is not needed by tests.
nice -n 10 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DAVA_SANITIZE="$sanitize" -DAVA_BUILD_BENCH=OFF "${extra[@]}" >/dev/null
nice -n 10 cmake --build "$build" --parallel "$jobs"
echo "sanitize($mode): build took $((SECONDS - start)) s"
[[ "${AVA_SANITIZE_BUILD_ONLY:-0}" == 1 ]] && exit 0

start=$SECONDS
cd "$build"
status=0
ctest --output-on-failure --parallel 2 --timeout 600 "${tests[@]}" "$@" || status=$?
echo "sanitize($mode): tests took $((SECONDS - start)) s"
exit $status
