#!/usr/bin/env python3
"""Latency under overload, per route policy (issue 16): one or more gRPC shared-memory streams paced at --fps
into the "slow" bench analyzer (bench/null_analyzer, built with NULL_SLOW: sleeps --cost-ms per frame, one
frame at a time per stream), once through a route with "overload": "queue" and once with "latest".

  bench/overload.py --build-dir build-bench [--fps 30] [--cost-ms 66] [--seconds 10] [--streams 1]

With cost 66 ms at 30 fps each stream asks for twice what its analyzer can do. Target: with "latest", every
frame is acknowledged and p99 answer latency stays under 3 frame intervals; "queue" is shown for contrast
(its wait grows with the run, bounded by the frames a client keeps in flight). Not part of ctest."""

import argparse
import json
import os
import re
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import loadgen, start_host  # noqa: E402  (the suite's own helpers)


def skipped_frames(http_port):
    """ava_frames_total{outcome="skipped"} summed over routes, from the host's /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=10).read().decode()
    return sum(float(m.group(1)) for m in re.finditer(r'^ava_frames_total\{[^}]*outcome="skipped"[^}]*\} (\S+)$',
                                                      text, re.M))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--cost-ms", type=int, default=66)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--window", type=int, default=64, help="frames a stream keeps in flight at most")
    parser.add_argument("--workers", type=int, default=0, help="the host's --workers (0: its default, one per core)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    plugins = os.path.join(build, "bench-plugins")
    if not os.path.exists(os.path.join(plugins, "libslow.so")):
        sys.exit(f"overload: {plugins}/libslow.so is missing: build the 'slow' target (bench/run.sh builds it)")

    interval_us = 1e6 / args.fps
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.json")
        with open(config, "w") as f:
            json.dump({"routes": [{"analyzer": "slow", "extensionConfiguration": "slow-" + policy,
                                   "overload": policy, "parameters": {"cost_ms": args.cost_ms}}
                                  for policy in ("queue", "latest")]}, f)
        host = start_host(build, plugins, tmp, "overload",
                          ["--config", config] + (["--workers", str(args.workers)] if args.workers else []))
        try:
            for policy in ("latest", "queue"):
                before = skipped_frames(host.ports["http_port"])
                result = loadgen(build, "grpc", host.ports["grpc_port"], host.pid,
                                 ["--transfer", "shm", "--streams", str(args.streams), "--fps", str(args.fps),
                                  "--window", str(args.window), "--extension-configuration", "slow-" + policy,
                                  "--pipeline-prefix", policy],
                                 args.seconds, args.warmup)
                skipped = skipped_frames(host.ports["http_port"]) - before
                latency = result["latency_us"]
                rows.append({"policy": policy, "ok": result["ok"], "exit_code": result["exit_code"],
                             "frames_sent": result["frames_sent"], "frames_acked": result["frames_acked"],
                             "skipped": int(skipped), "analysed": int(result["frames_acked"] - skipped),
                             "p50_ms": latency["p50"] / 1000, "p99_ms": latency["p99"] / 1000,
                             "max_ms": latency["max"] / 1000, "p99_intervals": latency["p99"] / interval_us})
        finally:
            host.stop()

    if args.json:
        print(json.dumps({"fps": args.fps, "cost_ms": args.cost_ms, "streams": args.streams, "rows": rows}))
        return
    print(f"overload: {args.streams} stream(s) x {args.fps:g} fps (interval {interval_us / 1000:.1f} ms) into an "
          f"analyzer taking {args.cost_ms} ms a frame ({args.cost_ms * args.fps / 1000:.1f}x overload), "
          f"{args.seconds:g} s measured")
    print(f"{'policy':<8} {'sent':>6} {'acked':>6} {'analysed':>8} {'skipped':>7} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'p99/interval':>12}  all acked")
    for r in rows:
        print(f"{r['policy']:<8} {r['frames_sent']:>6} {r['frames_acked']:>6} {r['analysed']:>8} {r['skipped']:>7} "
              f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} {r['p99_intervals']:>12.2f}  "
              f"{'yes' if r['ok'] else 'NO (exit %d)' % r['exit_code']}")
    latest = next(r for r in rows if r["policy"] == "latest")
    met = latest["ok"] and latest["p99_intervals"] < 3
    print(f"target (latest: every frame acked, p99 < 3 intervals): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
