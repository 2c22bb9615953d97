#!/usr/bin/env python3
"""The benchmark suite: the host side by side with the bare transport and decode floors.

Started by bench/run.sh (which builds everything first). For every case and every stream count it runs
ava-loadgen against the floor and then against the host, so each host/floor ratio comes from two runs
made one after the other on the same machine. Prints the ratio table, the targets, the host's idle
memory, and (--soak) its memory over a long run at steady load. Raw results go to
<build>/bench-results/<time>.json.
"""
import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

# The host fixes glibc's malloc thresholds (host/main.cpp) so multi-megabyte frame buffers stay in the heap;
# the floors get the same through glibc's environment tunables, or they would measure glibc's mmap/page-fault
# churn rather than the transport. (Harmless for the host, which sets the same values itself.)
FLOOR_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(128 << 20)}

CASES = {
    # name: (protocol, loadgen arguments shared by floor and host, host analyzer argument for null / colour)
    "grpc-shm-416": ("grpc", ["--transfer", "shm", "--size", "416x416", "--window", "4"]),
    "grpc-embedded-416": ("grpc", ["--transfer", "embedded", "--size", "416x416", "--window", "4"]),
    "grpc-embedded-1080p": ("grpc", ["--transfer", "embedded", "--size", "1080p", "--window", "2"]),
    "http-jpeg-416": ("http", ["--encoding", "jpg", "--size", "416x416"]),
}


def analyzer_args(protocol, analyzer):
    if protocol == "grpc":
        return ["--extension-configuration", analyzer]
    return ["--path", "/" + analyzer]


class Server:
    """A server process that reports its port: the floors and peers print "port N" (kept as .port and as
    .ports[port_key]), the host writes --ready-file (.ports). The environment defaults to the floors' malloc
    settings."""

    def __init__(self, argv, ready_file=None, port_key="port", env=None, name=None, timeout=30):
        self.name = name or os.path.basename(argv[0])
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE if ready_file is None else self.log,
                                     stderr=self.log, env=dict(os.environ, **FLOOR_MALLOC) if env is None else env)
        self.port = None
        self.ports = {}
        deadline = time.time() + timeout
        if ready_file is None:
            line = self.proc.stdout.readline().decode()
            if not line.startswith("port "):
                raise RuntimeError(f"{self.name} did not start: {line!r} {self.tail()}")
            self.port = int(line.split()[1])
            self.ports[port_key] = self.port
            return
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            if os.path.exists(ready_file) and os.path.getsize(ready_file) > 0:
                with open(ready_file) as f:
                    self.ports = json.load(f)
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready in {timeout} s")

    def tail(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_host(build, plugins_dir, tmp, name, extra=()):
    ready = os.path.join(tmp, name + ".ready")
    host = Server([os.path.join(build, "host", "ava-extension-host"), "--http-port", "0", "--grpc-port", "0",
                   "--bind", "127.0.0.1", "--plugins-dir", plugins_dir, "--log-level", "warn",
                   "--ready-file", ready] + list(extra), ready_file=ready)
    return host


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def loadgen(build, protocol, port, pid, args, seconds, warmup):
    argv = [os.path.join(build, "tools", "loadgen", "ava-loadgen"), protocol, "--port", str(port),
            "--duration", str(seconds), "--warmup", str(warmup), "--host-pid", str(pid), "--json"] + args
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + warmup + 120)
    lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"ava-loadgen failed ({done.returncode}): {done.stdout}{done.stderr}")
    result = json.loads(lines[-1])
    result["exit_code"] = done.returncode
    return result


def fmt(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--quick", action="store_true", help="3 s per run instead of 10")
    parser.add_argument("--soak", type=float, default=0, metavar="MINUTES", help="also run the memory soak")
    parser.add_argument("--only-soak", action="store_true", help="skip the throughput runs")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of: " + ", ".join(CASES))
    parser.add_argument("--streams", default="1,8,64")
    args = parser.parse_args()

    build = os.path.abspath(args.build_dir)
    seconds, warmup = (3, 1) if args.quick else (10, 2)
    streams = [int(s) for s in args.streams.split(",")]
    cases = [c for c in args.cases.split(",") if c]
    bench_plugins = os.path.join(build, "bench-plugins")
    bundled_plugins = os.path.join(build, "plugins-out")
    results = {"when": datetime.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
               "seconds": seconds, "warmup": warmup, "runs": []}
    failures = []
    tmp = tempfile.mkdtemp(prefix="ava-bench-")

    # Idle memory with the bundled plugins.
    idle = start_host(build, bundled_plugins, tmp, "idle")
    time.sleep(2)
    results["idle_rss_bytes"] = rss_bytes(idle.pid)
    idle.stop()
    print(f"host RSS idle with the bundled plugins ({', '.join(sorted(os.listdir(bundled_plugins)))}): "
          f"{results['idle_rss_bytes'] / 1048576:.1f} MiB (target < 64 MiB)")

    if not args.only_soak:
        host = start_host(build, bench_plugins, tmp, "bench", os.environ.get("AVA_BENCH_HOST_ARGS", "").split())
        # The same host with the analyzers loaded into it (--isolation none): what isolation costs.
        in_process = start_host(build, bench_plugins, tmp, "bench-in-process", ["--isolation", "none"])
        echo = Server([os.path.join(build, "bench", "grpc_echo_floor")])
        http_floor = Server([os.path.join(build, "bench", "http_floor")])
        try:
            for case in cases:
                protocol, case_args = CASES[case]
                for n in streams:
                    common = case_args + ["--streams", str(n)]
                    floor = echo if protocol == "grpc" else http_floor
                    floor_run = loadgen(build, protocol, floor.port, floor.pid, common, seconds, warmup)
                    if protocol == "http":
                        # Measured right next to the runs it is combined with: the machine's load drifts.
                        floor_run["decode_floor"] = decode_floor(build, seconds, min(n, os.cpu_count()))
                    host_port = host.ports["grpc_port" if protocol == "grpc" else "http_port"]
                    host_run = loadgen(build, protocol, host_port, host.pid,
                                       common + analyzer_args(protocol, "null"), seconds, warmup)
                    in_process_run = loadgen(build, protocol,
                                             in_process.ports["grpc_port" if protocol == "grpc" else "http_port"],
                                             in_process.pid, common + analyzer_args(protocol, "null"), seconds, warmup)
                    for label, run in (("floor", floor_run), ("host-null", host_run),
                                       ("host-null-in-process", in_process_run)):
                        run.update(case=case, server=label)
                        results["runs"].append(run)
                        if not run["ok"]:
                            failures.append(f"{case} x{n} {label}: {run['errors']} {run['error_examples']}")
                    print(f"  {case:20} x{n:<3} floor {floor_run['fps']:9,.0f} fps   host {host_run['fps']:9,.0f} fps"
                          f"   in-process {in_process_run['fps']:9,.0f} fps", flush=True)
                # The colour-intensity analyzer at 8 streams: what a real (cheap) analyzer adds.
                colour = loadgen(build, protocol, host.ports["grpc_port" if protocol == "grpc" else "http_port"],
                                 host.pid, case_args + ["--streams", "8"] + analyzer_args(protocol, "color_intensity"),
                                 seconds, warmup)
                colour.update(case=case, server="host-colour")
                results["runs"].append(colour)
                if not colour["ok"]:
                    failures.append(f"{case} x8 colour: {colour['errors']} {colour['error_examples']}")
            # Added latency at a steady camera rate (30 fps x 8 streams), below saturation.
            if "grpc-shm-416" in cases:
                paced = CASES["grpc-shm-416"][1] + ["--streams", "8", "--fps", "30"]
                for label, server, port, extra in (("floor", echo, echo.port, []),
                                                   ("host-null", host, host.ports["grpc_port"],
                                                    analyzer_args("grpc", "null")),
                                                   ("host-null-in-process", in_process, in_process.ports["grpc_port"],
                                                    analyzer_args("grpc", "null"))):
                    run = loadgen(build, "grpc", port, server.pid, paced + extra, max(seconds, 5), warmup)
                    run.update(case="grpc-shm-416-paced30", server=label)
                    results["runs"].append(run)
            results["host_rss_after_load_bytes"] = rss_bytes(host.pid)
        finally:
            host.stop()
            in_process.stop()
            echo.stop()
            http_floor.stop()
        report(results)
        report_isolation(results)

    if args.soak > 0:
        results["soak"] = soak(build, bench_plugins, tmp, args.soak)

    write_results(build, "", results)
    if failures:
        print("FAILED runs (loss or mismatch):\n  " + "\n  ".join(failures))
        return 1
    return 0


def write_results(build, prefix, results):
    """Writes `results` to <build>/bench-results/<prefix><results["when"]>.json and says where."""
    out_dir = os.path.join(build, "bench-results")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, prefix + results["when"].replace(":", "") + ".json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"raw results: {out}")


def decode_floor(build, seconds, threads):
    """cv::imdecode of the same 416x416 JPEG in a loop on `threads` threads: as many as the host can decode at
    once with that many connections (one request in flight per connection), at most one per core."""
    done = subprocess.run([os.path.join(build, "bench", "decode_floor"), "416x416", str(seconds),
                           str(threads)], capture_output=True, text=True, check=True,
                          env=dict(os.environ, **FLOOR_MALLOC))
    return json.loads(done.stdout)


def combined_floor_fps(floor):
    """HTTP: the Beast floor and the decode floor both saturate the same cores, so their per-frame costs add."""
    decode = floor.get("decode_floor", {}).get("decodes_per_s")
    if not decode or not floor["fps"]:
        return floor["fps"]
    return 1 / (1 / floor["fps"] + 1 / decode)


def find(results, case, server, streams):
    for run in results["runs"]:
        if run["case"] == case and run["server"] == server and run["streams"] == streams:
            return run
    return None


def report_isolation(results):
    """Isolated (the default) against in-process, both null analyzer, in the same run."""
    print("\n| case | streams | in-process fps | isolated fps | isolated/in-process | in-process p50 us | isolated p50 us |")
    print("|---|---|---|---|---|---|---|")
    for run in results["runs"]:
        if run["server"] != "host-null-in-process":
            continue
        isolated = find(results, run["case"], "host-null", run["streams"])
        if isolated:
            print(f"| {run['case']} | {run['streams']} | {run['fps']:,.0f} | {isolated['fps']:,.0f} | "
                  f"{isolated['fps'] / run['fps']:.2f} | {run['latency_us']['p50']:,.0f} | "
                  f"{isolated['latency_us']['p50']:,.0f} |")


def report(results):
    print()
    print("| case | streams | floor fps | host fps (null) | host/floor | floor p99 us | host p99 us | host CPU us/frame |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for case in CASES:
        for streams in sorted({r["streams"] for r in results["runs"] if r["case"] == case}):
            floor, host = find(results, case, "floor", streams), find(results, case, "host-null", streams)
            if not floor or not host:
                continue
            floor_fps = combined_floor_fps(floor)
            label = "Beast+decode floor"
            ratio = host["fps"] / floor_fps if floor_fps else 0
            decode = floor.get("decode_floor", {}).get("decodes_per_s")
            floor_text = f"{floor_fps:,.0f}" + (f" (Beast {floor['fps']:,.0f}, decode {decode:,.0f})" if decode else "")
            print(f"| {case}{' (' + label + ')' if case.startswith('http') else ''} | {streams} | {floor_text} | "
                  f"{host['fps']:,.0f} | {ratio:.2f} | {floor['latency_us']['p99']:,.0f} | "
                  f"{host['latency_us']['p99']:,.0f} | {fmt(host.get('host_cpu_us_per_frame'), 1)} |")
    print()
    print("| case (8 streams) | host fps, colour intensity | host fps, null | colour p99 us |")
    print("|---|---:|---:|---:|")
    for case in CASES:
        colour, null = find(results, case, "host-colour", 8), find(results, case, "host-null", 8)
        if colour and null:
            print(f"| {case} | {colour['fps']:,.0f} | {null['fps']:,.0f} | {colour['latency_us']['p99']:,.0f} |")
    floor, host = find(results, "grpc-shm-416-paced30", "floor", 8), find(results, "grpc-shm-416-paced30", "host-null", 8)
    print()
    targets = []
    if floor and host:
        added = host["latency_us"]["p99"] - floor["latency_us"]["p99"]
        print(f"gRPC shm 416x416, 8 streams x 30 fps: p99 floor {floor['latency_us']['p99']:.0f} us, host "
              f"{host['latency_us']['p99']:.0f} us, added {added:.0f} us; p50 floor {floor['latency_us']['p50']:.0f} "
              f"us, host {host['latency_us']['p50']:.0f} us")
        targets.append(("gRPC shm p99 added latency at 8 streams < 200 us", added, added < 200))

    def ratio(case, streams):
        floor, host = find(results, case, "floor", streams), find(results, case, "host-null", streams)
        if not floor or not host or not floor["fps"]:
            return None
        return host["fps"] / combined_floor_fps(floor)

    for case, target in (("grpc-shm-416", 0.9), ("grpc-embedded-1080p", 0.85), ("http-jpeg-416", 0.85)):
        for streams in (1, 8, 64):
            r = ratio(case, streams)
            if r is not None:
                targets.append((f"{case} x{streams} host/floor >= {target}", r, r >= target))
    for case in CASES:
        h8, h64 = find(results, case, "host-null", 8), find(results, case, "host-null", 64)
        if h8 and h64 and h8["fps"]:
            r = h64["fps"] / h8["fps"]
            targets.append((f"{case} host fps 64 / 8 streams >= 0.9", r, r >= 0.9))
    idle = results["idle_rss_bytes"] / 1048576
    targets.append(("host RSS idle with bundled plugins < 64 MiB", idle, idle < 64))
    print("| target | measured | met |")
    print("|---|---:|---|")
    for name, value, met in targets:
        print(f"| {name} | {value:.2f} | {'yes' if met else 'NO'} |")
    print()


def soak(build, plugins_dir, tmp, minutes):
    """Steady load (8 gRPC shm streams x 30 fps, colour intensity) for `minutes`, sampling the host's RSS."""
    host = start_host(build, plugins_dir, tmp, "soak")
    interval = 10 if minutes >= 5 else 5
    curve = []
    try:
        argv = [os.path.join(build, "tools", "loadgen", "ava-loadgen"), "grpc", "--port", str(host.ports["grpc_port"]),
                "--transfer", "shm", "--size", "416x416", "--streams", "8", "--fps", "30",
                "--extension-configuration", "color_intensity", "--duration", str(minutes * 60), "--json",
                "--host-pid", str(host.pid)]
        load = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        start = time.time()
        print(f"soak: {minutes:g} min, 8 gRPC shm streams x 30 fps, colour intensity; RSS every {interval} s")
        while load.poll() is None:
            curve.append((round(time.time() - start), rss_bytes(host.pid)))
            print(f"  t={curve[-1][0]:5d} s  RSS {curve[-1][1] / 1048576:6.1f} MiB", flush=True)
            for _ in range(interval * 10):
                if load.poll() is not None:
                    break
                time.sleep(0.1)
        summary = json.loads(load.stdout.read().splitlines()[-1])
        curve.append((round(time.time() - start), rss_bytes(host.pid)))
    finally:
        host.stop()
    # Growth after the first minute (allocators and caches settle in the first one).
    settled = [rss for t, rss in curve if t >= min(60, curve[-1][0] / 2)]
    growth = (settled[-1] - settled[0]) / 1048576 if settled else 0
    print(f"soak: {summary['frames_acked']} frames, ok={summary['ok']}; RSS {curve[0][1] / 1048576:.1f} -> "
          f"{curve[-1][1] / 1048576:.1f} MiB, growth after settling {growth:+.1f} MiB")
    return {"curve": curve, "loadgen": summary, "growth_mib": growth}


if __name__ == "__main__":
    sys.exit(main())
