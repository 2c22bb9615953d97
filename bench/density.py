#!/usr/bin/env python3
"""Stream density: how many 30-fps streams a server sustains, our host and a Python peer side by side.

For each analyzer and case it searches the stream count (doubling from 1, then bisection) for the largest
number of 30-fps streams served with every frame acknowledged on time and p99 answer latency under 100 ms,
using ava-loadgen in paced mode (--fps 30). A trial passes when ava-loadgen reports no error, loss or
silent stream, the acknowledged rate is at least --on-time (0.97) of streams x 30 fps (ava-loadgen does
not burst to catch up, so a server that falls behind shows as a lower rate), and p99 is under --p99-ms.

Servers, both started here and both serving the whole run:
- host: <build>/host/ava-extension-host with the bundled plugins (<build>/plugins-out), default isolation.
- peer: bench/peers/python_grpc_peer.py, built the way Microsoft's Python gRPC sample is (grpcio thread pool,
  OpenCV in Python, the same models and parameters). gRPC cases only: the sample has no HTTP front-end.
CPU per frame: user+system time from /proc/<pid>/stat of the server and all its descendants (the host's
analyzer worker processes), sampled in the steady middle of the measured window, divided by the frames
acknowledged in that time (ava-loadgen's rate x the time between the samples).

Frames: one frame of opencv-doc's vtest.avi (people walking; a still image, so `motion` learns a still
scene: it costs the same per frame but reports nothing), resized by ava-loadgen to the case's size.
Raw results: <build>/bench-results/density-<time>.json.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Server, analyzer_args, fmt, write_results  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ANALYZERS = ["color_intensity", "motion", "quality", "faces", "people"]
CASES = {
    # name: (protocol, ava-loadgen arguments)
    "grpc-shm-640x480": ("grpc", ["--transfer", "shm", "--size", "640x480"]),
    "grpc-shm-1280x720": ("grpc", ["--transfer", "shm", "--size", "1280x720"]),
    "http-jpeg-640x480": ("http", ["--encoding", "jpg", "--size", "640x480"]),
}
VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
FACE_PICTURE = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"


def test_image(tmp, frame_index):
    """One frame of vtest.avi as a PNG ava-loadgen can read (--image)."""
    import cv2  # python3-opencv; only needed here
    capture = cv2.VideoCapture(VIDEO)
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
    ok, frame = capture.read()
    if not ok:
        raise RuntimeError(f"cannot read frame {frame_index} of {VIDEO} (install opencv-doc)")
    path = os.path.join(tmp, f"vtest-{frame_index}.png")
    cv2.imwrite(path, frame)
    return path


def tree_cpu_seconds(root_pid):
    """utime+stime of root_pid and every live descendant (the host's analyzer workers)."""
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "(comm)": state ppid ... utime is field 14 of stat, i.e. index 11 here; stime index 12
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = int(fields[11]) + int(fields[12])
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def run_loadgen(args, protocol, port, pid, extra, streams):
    """One paced ava-loadgen run. CPU per frame is taken in the steady middle of the measured window (stream
    set-up and tear-down left out): the server tree's CPU time between two samples / (frames per second x
    the time between them); the whole-run figure (CPU over the run / frames acked) is kept too."""
    argv = [os.path.join(args.build_dir, "tools", "loadgen", "ava-loadgen"), protocol, "--port", str(port),
            "--streams", str(streams), "--fps", "30", "--duration", str(args.seconds), "--warmup",
            str(args.warmup), "--image", args.image, "--host-pid", str(pid), "--json", "--quiet"] + extra
    margin = min(0.5, args.seconds / 4)
    samples = []

    def sample_at(delay):
        time.sleep(delay)
        samples.append((time.monotonic(), tree_cpu_seconds(pid)))

    cpu_before = tree_cpu_seconds(pid)
    start = time.monotonic()
    load = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sample_at(args.warmup + margin)
    sample_at(max(0.0, start + args.warmup + args.seconds - margin - time.monotonic()))
    try:
        stdout, stderr = load.communicate(timeout=args.seconds + args.warmup + 120)
    except subprocess.TimeoutExpired:
        load.kill()
        stdout, stderr = load.communicate()
    cpu = tree_cpu_seconds(pid) - cpu_before
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"ok": False, "streams": streams, "fps": 0, "errors": {"loadgen": load.returncode},
                "error_examples": {"loadgen": (stdout + stderr)[-500:]},
                "latency_us": {"p50": 0, "p99": 0}, "frames_acked": 0}
    result = json.loads(lines[-1])
    result["exit_code"] = load.returncode
    result["cpu_seconds"] = cpu
    result["cpu_us_per_frame_whole_run"] = cpu * 1e6 / result["frames_acked"] if result["frames_acked"] else None
    (t1, c1), (t2, c2) = samples
    steady_frames = result["fps"] * (t2 - t1)
    result["cpu_us_per_frame"] = (c2 - c1) * 1e6 / steady_frames if steady_frames > 0 else None
    return result


def verdict(args, run, streams):
    target = streams * 30.0
    if not run["ok"]:
        silent = run.get("streams_without_ack")
        return False, f"errors {run['errors']}" + (f", no ack on streams {silent}" if silent else "")
    if run["fps"] < args.on_time * target:
        return False, f"{run['fps']:.1f} fps < {args.on_time:.2f} x {target:.0f}"
    if run["latency_us"]["p99"] > args.p99_ms * 1000:
        return False, f"p99 {run['latency_us']['p99'] / 1000:.1f} ms"
    return True, "ok"


def search(args, label, trial):
    """Largest n in 1..max_streams with trial(n) passing: doubling, then bisection between the last pass and
    the first failure. Returns (density, runs)."""
    runs = {}

    def attempt(n):
        # A failure is tried again (--retries): one scheduling hiccup of a shared machine costs a paced
        # stream frames it never catches up, and the search must not stop on that.
        for tries in range(args.retries + 1):
            run = trial(n)
            passed, why = verdict(args, run, n)
            run.update(passed=passed, why=why, tries=tries + 1)
            runs[n] = run
            print(f"    {label:44} x{n:<3} {run['fps']:7.1f} fps  p99 {run['latency_us']['p99'] / 1000:7.1f} ms  "
                  f"CPU {fmt(run.get('cpu_us_per_frame'))} us/frame  {'pass' if passed else 'FAIL: ' + why}"
                  f"{' (again)' if tries else ''}", flush=True)
            if passed:
                return True
        return False

    good, bad, n = 0, None, 1
    while n <= args.max_streams:
        if not attempt(n):
            bad = n
            break
        good = n
        n *= 2
    if bad is None and good < args.max_streams:  # passed every doubling: try the cap itself
        if attempt(args.max_streams):
            good = args.max_streams
        else:
            bad = args.max_streams
    while bad is not None and bad - good > 1:
        mid = (good + bad) // 2
        if attempt(mid):
            good = mid
        else:
            bad = mid
    return good, runs


def check_answers(args, host, peer, analyzers, frames=16):
    """Sends the same frames to both servers (640x480 RAW BGR24 embedded: `frames` consecutive frames of
    vtest.avi from --frame, so motion sees people move; for faces, opencv-doc's messi5.jpg) and compares the
    answers to the last frame: the same inferences (type, subtype, tag), confidences within 0.05, boxes with
    IoU >= 0.8. Shows that both do the same work; reported, not fatal."""
    import cv2
    import grpc
    sys.path.insert(0, os.path.join(HERE, "peers"))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import python_grpc_peer as peer_module
    pb, pb_grpc, _, media = peer_module.load_contract(os.path.join(ROOT, "proto"))
    capture = cv2.VideoCapture(VIDEO)
    capture.set(cv2.CAP_PROP_POS_FRAMES, args.frame)
    video_frames = []
    for _ in range(frames):
        ok, frame = capture.read()
        if ok:
            video_frames.append(cv2.resize(frame, (640, 480)))
    face = cv2.imread(FACE_PICTURE, cv2.IMREAD_COLOR)
    face_frames = [cv2.resize(face, (640, 480))] * 2 if face is not None else video_frames
    fmt_ = media.VideoFrameSampleFormat

    def ask(port, analyzer):
        images = face_frames if analyzer == "faces" else video_frames

        def messages():
            descriptor = pb.MediaStreamDescriptor(extension_configuration=analyzer)
            descriptor.graph_identifier.graph_instance_name = "density-check"
            descriptor.media_descriptor.timescale = 90000
            video = descriptor.media_descriptor.video_frame_sample_format
            video.encoding, video.pixel_format, video.stride_bytes = fmt_.RAW, fmt_.BGR24, 640 * 3
            video.dimensions.width, video.dimensions.height = 640, 480
            yield pb.MediaStreamMessage(sequence_number=1, media_stream_descriptor=descriptor)
            for i, image in enumerate(images):
                message = pb.MediaStreamMessage(sequence_number=i + 2)
                message.media_sample.timestamp = (i + 2) * 3000
                message.media_sample.content_bytes.bytes = image.tobytes()
                yield message
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.MediaGraphExtensionStub(channel)
            replies = list(stub.ProcessMediaStream(messages(), timeout=120))
        return replies[-1].media_sample.inferences

    def summary(inference):
        kind = inference.WhichOneof("value")
        value = getattr(inference, kind) if kind else None
        tag = value.tag.value if kind in ("classification", "entity") else ""
        confidence = value.tag.confidence if kind in ("classification", "entity") else 0.0
        box = value.box if kind in ("entity", "motion") else None
        return kind, inference.subtype, tag, confidence, (box.l, box.t, box.w, box.h) if box else None

    checks = {}
    for analyzer in analyzers:
        try:
            h = [summary(i) for i in ask(host.ports["grpc_port"], analyzer)]
            p = [summary(i) for i in ask(peer.ports["grpc_port"], analyzer)]
        except Exception as e:  # noqa: BLE001 (reported, the run goes on)
            checks[analyzer] = f"not compared: {e}"
            print(f"  answers {analyzer}: {checks[analyzer]}")
            continue
        problems = []
        if len(h) != len(p):
            problems.append(f"{len(h)} inferences from the host, {len(p)} from the peer")
        for a, b in zip(h, p):
            if a[:3] != b[:3]:
                problems.append(f"host {a[:3]} vs peer {b[:3]}")
            elif abs(a[3] - b[3]) > 0.05:
                problems.append(f"{a[2]} confidence {a[3]:.3f} vs {b[3]:.3f}")
            elif a[4] and b[4] and peer_module.iou(a[4], b[4]) < 0.8:
                problems.append(f"{a[2] or a[0]} box {a[4]} vs {b[4]}")
        checks[analyzer] = "same" if not problems else "; ".join(problems[:3])
        tags = ", ".join(sorted({x[2] or x[0] for x in h})) or "nothing"
        print(f"  answers {analyzer}: {checks[analyzer]} ({len(h)} inferences: {tags})", flush=True)
    return checks






def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--analyzers", default=",".join(ANALYZERS))
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of: " + ", ".join(CASES))
    parser.add_argument("--servers", default="host,peer")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per trial")
    parser.add_argument("--warmup", type=float, default=2, help="seconds before measuring (frames still checked)")
    parser.add_argument("--max-streams", type=int, default=64)
    parser.add_argument("--p99-ms", type=float, default=100)
    parser.add_argument("--on-time", type=float, default=0.97,
                        help="share of streams x 30 fps that must be acknowledged (paced sender does not catch up)")
    parser.add_argument("--retries", type=int, default=1, help="times a failed trial is run again")
    parser.add_argument("--window", type=int, default=4, help="gRPC frames in flight per stream")
    parser.add_argument("--image", help="picture to send (default: frame --frame of opencv-doc's vtest.avi)")
    parser.add_argument("--frame", type=int, default=100)
    parser.add_argument("--peer-threads", type=int, default=0, help="peer thread pool (default: --max-streams)")
    parser.add_argument("--no-check", action="store_true", help="skip comparing the two servers' answers")
    parser.add_argument("--host-args", default=os.environ.get("AVA_BENCH_HOST_ARGS", ""))
    args = parser.parse_args()

    args.build_dir = os.path.abspath(args.build_dir)
    analyzers = [a for a in args.analyzers.split(",") if a]
    cases = [c for c in args.cases.split(",") if c]
    servers = [s for s in args.servers.split(",") if s]
    for case in cases:
        if case not in CASES:
            parser.error(f"unknown case {case}")
    tmp = tempfile.mkdtemp(prefix="ava-density-")
    if not args.image:
        args.image = test_image(tmp, args.frame)

    started = []
    results = {"when": datetime.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
               "seconds": args.seconds, "warmup": args.warmup, "max_streams": args.max_streams, "p99_ms": args.p99_ms, "on_time": args.on_time,
               "image": args.image, "load_average_start": os.getloadavg(), "searches": []}
    try:
        host = peer = None
        if "host" in servers:
            ready = os.path.join(tmp, "host.ready")
            host = Server([os.path.join(args.build_dir, "host", "ava-extension-host"), "--http-port", "0",
                           "--grpc-port", "0", "--bind", "127.0.0.1", "--plugins-dir",
                           os.path.join(args.build_dir, "plugins-out"), "--log-level", "warn",
                           "--ready-file", ready] + args.host_args.split(),
                          ready_file=ready, env=dict(os.environ), name="host", timeout=60)
            started.append(host)
        if "peer" in servers:
            peer = Server([sys.executable, os.path.join(HERE, "peers", "python_grpc_peer.py"), "--port", "0",
                           "--threads", str(args.peer_threads or args.max_streams)],
                          port_key="grpc_port", env=dict(os.environ), name="peer", timeout=60)
            started.append(peer)
        print(f"density: 30-fps streams with every frame acked on time (>= {args.on_time:.2f} of the rate) and "
              f"p99 < {args.p99_ms:.0f} ms; {args.seconds:g} s per trial (+{args.warmup:g} s warm-up), "
              f"at most {args.max_streams} streams; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
              flush=True)
        if host and peer and not args.no_check:
            results["answers"] = check_answers(args, host, peer, analyzers)
        for analyzer in analyzers:
            for case in cases:
                protocol, case_args = CASES[case]
                if protocol == "grpc":
                    case_args = case_args + ["--window", str(args.window)]
                for server in (host, peer):
                    if server is None or (server.name == "peer" and protocol != "grpc"):
                        continue
                    if not server.alive():
                        raise RuntimeError(f"{server.name} died: {server.tail()}")
                    port = server.ports["grpc_port" if protocol == "grpc" else "http_port"]
                    extra = case_args + analyzer_args(protocol, analyzer)
                    label = f"{analyzer} {case} {server.name}"
                    density, runs = search(args, label, lambda n: run_loadgen(args, protocol, port, server.pid,
                                                                              extra, n))
                    # Below one stream, how much of one stream it serves (the 1-stream run's rate / 30).
                    best = runs.get(density) or runs.get(1)
                    streams = density if density else (runs[1]["fps"] / 30.0 if 1 in runs else 0.0)
                    results["searches"].append({
                        "analyzer": analyzer, "case": case, "server": server.name, "density": density,
                        "streams_served": streams,
                        "cpu_us_per_frame": best.get("cpu_us_per_frame") if best else None,
                        "p99_us": best["latency_us"]["p99"] if best else None,
                        "runs": [dict(r, streams=n) for n, r in sorted(runs.items())]})
                    print(f"  {label}: density {density}", flush=True)
    finally:
        for server in started:
            server.stop()
    results["load_average_end"] = os.getloadavg()
    report(results)
    write_results(args.build_dir, "density-", results)
    return 0


def report(results):
    def find(analyzer, case, server):
        for s in results["searches"]:
            if (s["analyzer"], s["case"], s["server"]) == (analyzer, case, server):
                return s
        return None

    print()
    # Streams: the density; 0 (x of one) when even one stream is not served, x = its frame rate / 30.
    # CPU and p99: at the density (or at one stream when the density is 0).
    print("| analyzer | case | host streams | peer streams | host/peer | host CPU us/frame | peer CPU us/frame | "
          "peer/host CPU | host p99 ms | peer p99 ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    seen = []
    for s in results["searches"]:
        key = (s["analyzer"], s["case"])
        if key in seen:
            continue
        seen.append(key)
        h, p = find(*key, "host"), find(*key, "peer")

        def cell(x, attr, scale=1, digits=0):
            return fmt(x[attr] / scale, digits) if x and x.get(attr) is not None else "-"

        def streams(x):
            if not x:
                return "-"
            if not x["density"]:
                return f"0 ({x['streams_served']:.2f} of one)"
            # The search stops at --max-streams: a server that passed the cap may serve more.
            return (">= " if x["density"] >= results["max_streams"] else "") + str(x["density"])

        ratio = "-"
        if h and p and p["streams_served"]:
            ratio = f"{h['streams_served'] / p['streams_served']:.1f}"
            if h["density"] >= results["max_streams"] > p["density"]:
                ratio = ">= " + ratio  # the host reached the cap: a lower bound
            elif p["density"] >= results["max_streams"] > h["density"]:
                ratio = "<= " + ratio
            elif h["density"] >= results["max_streams"] and p["density"] >= results["max_streams"]:
                ratio = "? (both at the cap)"
        cpu_ratio = (f"{p['cpu_us_per_frame'] / h['cpu_us_per_frame']:.1f}"
                     if h and p and h.get("cpu_us_per_frame") and p.get("cpu_us_per_frame") else "-")
        print(f"| {key[0]} | {key[1]} | {streams(h)} | {streams(p)} | {ratio} | "
              f"{cell(h, 'cpu_us_per_frame')} | {cell(p, 'cpu_us_per_frame')} | {cpu_ratio} | "
              f"{cell(h, 'p99_us', 1000, 1)} | {cell(p, 'p99_us', 1000, 1)} |")
    print(f"load average {results['load_average_start'][0]:.1f} at start, {results['load_average_end'][0]:.1f} at end "
          f"({results['cores']} cores)")


if __name__ == "__main__":
    sys.exit(main())
