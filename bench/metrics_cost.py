#!/usr/bin/env python3
"""What the metrics and the live view cost per frame: the same host with and without --no-metrics.

  bench/metrics_cost.py --build-dir build [--streams 8] [--seconds 3] [--rounds 3]

gRPC shared-memory 416x416 frames (window 4) into the null analyzer, as fast as acknowledged, against two
hosts started side by side (one with --no-metrics), alternating runs so the machine's drifting load hits
both alike; prints each pair's fps and host CPU per frame (less sensitive to a busy machine than fps, as
it does not count time spent waiting for a core) and the median ratios, for in-process analyzers (--isolation none: the host's
own cost is all there is, so the overhead shows most) and the default worker processes.
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import CASES, analyzer_args, loadgen, start_host  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--isolation", default="none,process")
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    plugins = os.path.join(build, "bench-plugins")
    case = CASES["grpc-shm-416"][1] + ["--streams", str(args.streams)] + analyzer_args("grpc", "null")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for isolation in args.isolation.split(","):
            on = start_host(build, plugins, tmp, f"metrics-on-{isolation}", ["--isolation", isolation])
            off = start_host(build, plugins, tmp, f"metrics-off-{isolation}", ["--isolation", isolation, "--no-metrics"])
            ratios = []
            cpu_ratios = []
            try:
                for i in range(args.rounds):
                    # Alternate which goes first: a load spike then lands on either side.
                    order = [("on", on), ("off", off)] if i % 2 == 0 else [("off", off), ("on", on)]
                    fps = {}
                    cpu = {}
                    for label, host in order:
                        run = loadgen(build, "grpc", host.ports["grpc_port"], host.pid, case + ["--quiet"],
                                      args.seconds, 1)
                        failed = failed or not run["ok"]
                        fps[label] = run["fps"]
                        cpu[label] = run.get("host_cpu_us_per_frame", 0)
                    ratios.append(fps["on"] / fps["off"])
                    cpu_ratios.append(cpu["on"] / cpu["off"] if cpu["off"] else 1)
                    print(f"isolation {isolation:7} x{args.streams}: metrics on {fps['on']:9,.0f} fps "
                          f"{cpu['on']:6.1f} us/frame, off {fps['off']:9,.0f} fps {cpu['off']:6.1f} us/frame: "
                          f"fps on/off {ratios[-1]:.3f}, host CPU on/off {cpu_ratios[-1]:.3f}", flush=True)
            finally:
                on.stop()
                off.stop()
            print(f"isolation {isolation:7} x{args.streams}: median fps on/off {statistics.median(ratios):.3f}, "
                  f"median host CPU per frame on/off {statistics.median(cpu_ratios):.3f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
