#!/usr/bin/env python3
"""HTTP /score on a 416x416 JPEG: our host against the full-decode floor and a Python peer built like
Microsoft's HTTP sample, side by side (issue 16's target: >= 2.5x the floor and >= 5x the Python design).

Started by bench/http_score.sh (which installs the Debian packages and builds first). Servers, all started
here and serving the whole run:
- host: <build>/host/ava-extension-host with <build>/bench-plugins (colour intensity and the null
  analyzer), default configuration, so POST /score reaches color_intensity, which declares GRAY8, min 64x64
  (ABI 1.2): a 416x416 JPEG is decoded straight to gray at 1/4 scale. Once with the default
  `--isolation process` and once with `--isolation none`;
- floor: bench's Boost.Beast HTTP floor (reads the body, answers 204) and decode floor (full-size
  cv::imdecode of the same JPEG on min(connections, cores) threads), combined as in bench.py:
  1 / (1/beast + 1/decode), since both saturate the same cores;
- peer: bench/peers/python_http_peer.py (Flask on gunicorn, full-size cv2 decode, gray, mean);
- host /null: the same host, the null analyzer, which declares nothing, so the host decodes the full BGR
  frame as it did before ABI 1.2 and analyses nothing: an upper bound for colour intensity without the
  declaration, hence a lower bound for what the reduced decode gains.

Before measuring, the same pictures (a dark and a light real photo, and the measured picture) go to the
host (both modes) and the peer; any different value, or a confidence more than 0.05 apart, fails the run.
Then each round runs, for each connection count, ava-loadgen against each server one after the other, so
each ratio comes from runs made back to back. Prints every round, then the median ratio and the spread.
Raw results: <build>/bench-results/http-score-<time>.json.
"""
import argparse
import datetime
import fcntl
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import FLOOR_MALLOC, combined_floor_fps, loadgen, Server, start_host, write_results  # noqa: E402
from density import tree_cpu_seconds  # noqa: E402

DATA = "/usr/share/doc/opencv-doc/examples/data"
# Real photos from opencv-doc: gray means at 416x416 83 (dark) and 142 (light), far from the threshold 127.
PICTURES = {"dark": os.path.join(DATA, "messi5.jpg"), "light": os.path.join(DATA, "building.jpg")}
SIZE = (416, 416)


def jpeg_of(path):
    """The picture as ava-loadgen --image sends it: resized to 416x416 (bilinear), JPEG at OpenCV's default 95."""
    import cv2  # python3-opencv
    picture = cv2.imread(path, cv2.IMREAD_COLOR)
    if picture is None:
        raise RuntimeError(f"cannot read {path} (install opencv-doc)")
    ok, encoded = cv2.imencode(".jpg", cv2.resize(picture, SIZE))
    if not ok:
        raise RuntimeError(f"cannot encode {path}")
    return encoded.tobytes()


def colour_answer(port, body):
    """POST /score; the colorIntensity classification as (value, confidence)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/score", body, {"Content-Type": "image/jpeg"})
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"port {port}: HTTP {response.status} {text[:200]}")
    for inference in json.loads(text)["inferences"]:
        if inference.get("type") == "classification" and inference.get("subtype") == "colorIntensity":
            tag = inference["classification"]["tag"]
            return tag["value"], tag["confidence"]
    raise RuntimeError(f"port {port}: no colorIntensity classification in {text[:200]}")


def check_answers(servers, pictures):
    """Every server's answer on every picture against the first server's. Returns the differences."""
    differences, answers = [], {}
    for label, path in pictures.items():
        body = jpeg_of(path)
        got = {name: colour_answer(port, body) for name, port in servers.items()}
        answers[label] = got
        print(f"  {label:6} {os.path.basename(path):14} " +
              "  ".join(f"{name} {value} {confidence:.3f}" for name, (value, confidence) in got.items()))
        reference_name, (value, confidence) = next(iter(got.items()))
        for name, (other_value, other_confidence) in got.items():
            if other_value != value or abs(other_confidence - confidence) > 0.05:
                differences.append(f"{label}: {reference_name} says {value} {confidence:.3f}, "
                                   f"{name} says {other_value} {other_confidence:.3f}")
    return differences, answers


class Peer:
    """bench/peers/python_http_peer.py under Debian's interpreter, in its own environment (as the sample runs)."""

    def __init__(self, python):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([python, os.path.join(HERE, "peers", "python_http_peer.py"), "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("port "):
            self.log.seek(0)
            raise RuntimeError(f"python peer did not start: {line!r} {self.log.read().decode()[-2000:]}")
        self.port = int(line.split()[1])
        # gunicorn forks its workers after binding: wait until one answers.
        deadline = time.time() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def measure(build, port, pid, common, seconds, warmup):
    """One ava-loadgen run; CPU per frame of the server's whole process tree (the host's analyzer workers,
    gunicorn's workers) over the run, divided by every frame acknowledged in it (warm-up included)."""
    before = tree_cpu_seconds(pid)
    run = loadgen(build, "http", port, pid, common, seconds, warmup)
    cpu = tree_cpu_seconds(pid) - before
    run["tree_cpu_us_per_frame"] = cpu * 1e6 / run["frames_acked"] if run.get("frames_acked") else None
    return run


class Lock:
    """Holds --lock (flock) during each round, so builds sharing the machine wait while it measures."""

    def __init__(self, path):
        self.path, self.file = path, None

    def __enter__(self):
        if self.path:
            self.file = open(self.path, "a")
            fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *_):
        if self.file:
            self.file.close()  # releases the lock


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--image", default=PICTURES["dark"], help="picture sent (resized to 416x416, JPEG)")
    parser.add_argument("--no-in-process", action="store_true", help="skip the --isolation none host")
    parser.add_argument("--no-null", action="store_true", help="skip the host /null (full decode) runs")
    parser.add_argument("--lock", help="flock this file during each round (e.g. a build lock)")
    parser.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                        help="interpreter for the peer (Debian's: the packages install there)")
    args = parser.parse_args()

    build = os.path.abspath(args.build_dir)
    connections = [int(c) for c in args.connections.split(",")]
    tmp = tempfile.mkdtemp(prefix="ava-http-score-")
    plugins = os.path.join(build, "bench-plugins")
    results = {"when": datetime.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
               "seconds": args.seconds, "warmup": args.warmup, "image": args.image, "rounds": []}

    servers = {"host": start_host(build, plugins, tmp, "host", os.environ.get("AVA_BENCH_HOST_ARGS", "").split())}
    try:
        if not args.no_in_process:
            servers["in-process"] = start_host(build, plugins, tmp, "in-process", ["--isolation", "none"])
        servers["python"] = Peer(args.python)
        servers["beast"] = Server([os.path.join(build, "bench", "http_floor")])
        ports = {name: (s.port if name in ("python", "beast") else s.ports["http_port"]) for name, s in servers.items()}

        print(f"answers (colour intensity on {SIZE[0]}x{SIZE[1]} JPEGs):")
        differences, results["answers"] = check_answers(
            {name: ports[name] for name in ("host", "in-process", "python") if name in servers},
            dict(PICTURES, measured=args.image))
        if differences:
            print("FAILED: the servers answer differently:\n  " + "\n  ".join(differences))
            return 1

        common = ["--encoding", "jpg", "--size", f"{SIZE[0]}x{SIZE[1]}", "--image", args.image]
        targets = [("host", "/score"), ("in-process", "/score"), ("python", "/score"), ("null", "/null")]
        failures = []
        for round_index in range(args.rounds):
            with Lock(args.lock):
                for n in connections:
                    row = {"round": round_index + 1, "connections": n}
                    run_args = common + ["--streams", str(n)]
                    row["beast"] = measure(build, ports["beast"], servers["beast"].pid, run_args, args.seconds, args.warmup)
                    row["decode"] = decode_floor_of(build, args.seconds, min(n, os.cpu_count()), args.image)
                    for name, path in targets:
                        server = "host" if name == "null" else name
                        if server not in servers or (name == "null" and args.no_null):
                            continue
                        row[name] = measure(build, ports[server], servers[server].pid, run_args + ["--path", path],
                                            args.seconds, args.warmup)
                    for name in ("beast", "host", "in-process", "python", "null"):
                        if name in row and not row[name]["ok"]:
                            failures.append(f"round {round_index + 1} x{n} {name}: {row[name]['errors']} "
                                            f"{row[name]['error_examples']}")
                    derive(row)
                    results["rounds"].append(row)
                    print_row(row, header=round_index == 0 and n == connections[0])
    finally:
        for server in servers.values():
            server.stop()

    summary = summarise(results["rounds"], connections)
    results["summary"] = summary
    write_results(build, "http-score-", results)
    if failures:
        print("FAILED runs (loss or wrong answer):\n  " + "\n  ".join(failures))
        return 1
    return 0


def decode_floor_of(build, seconds, threads, image):
    """bench.py's decode floor, of the picture sent (bench.decode_floor decodes the synthetic scene)."""
    done = subprocess.run([os.path.join(build, "bench", "decode_floor"), f"{SIZE[0]}x{SIZE[1]}", str(seconds),
                           str(threads), image], capture_output=True, text=True, check=True,
                          env=dict(os.environ, **FLOOR_MALLOC))
    return json.loads(done.stdout)


def derive(row):
    floor = dict(row["beast"], decode_floor=row["decode"])
    row["floor_fps"] = combined_floor_fps(floor)
    for name in ("host", "in-process", "null"):
        if name in row:
            row[f"{name}/floor"] = row[name]["fps"] / row["floor_fps"]
            if "python" in row and row["python"]["fps"]:
                row[f"{name}/python"] = row[name]["fps"] / row["python"]["fps"]
    if "null" in row and row["null"]["fps"]:
        row["host/null"] = row["host"]["fps"] / row["null"]["fps"]


COLUMNS = [  # (header, function of a row)
    ("round", lambda r: str(r["round"])),
    ("conns", lambda r: str(r["connections"])),
    ("Beast fps", lambda r: f"{r['beast']['fps']:,.0f}"),
    ("decode fps", lambda r: f"{r['decode']['decodes_per_s']:,.0f}"),
    ("floor fps", lambda r: f"{r['floor_fps']:,.0f}"),
    ("host fps", lambda r: f"{r['host']['fps']:,.0f}"),
    ("in-proc fps", lambda r: f"{r['in-process']['fps']:,.0f}" if "in-process" in r else "-"),
    ("python fps", lambda r: f"{r['python']['fps']:,.0f}"),
    ("host /null fps", lambda r: f"{r['null']['fps']:,.0f}" if "null" in r else "-"),
    ("host/floor", lambda r: f"{r['host/floor']:.2f}"),
    ("host/python", lambda r: f"{r['host/python']:.2f}"),
    ("host CPU us/f", lambda r: cpu(r, "host")),
    ("in-proc CPU us/f", lambda r: cpu(r, "in-process")),
    ("python CPU us/f", lambda r: cpu(r, "python")),
]


def cpu(row, name):
    value = row.get(name, {}).get("tree_cpu_us_per_frame")
    return "-" if value is None else f"{value:,.0f}"


def print_row(row, header):
    if header:
        print("\n| " + " | ".join(h for h, _ in COLUMNS) + " |")
        print("|" + "---:|" * len(COLUMNS))
    print("| " + " | ".join(f(row) for _, f in COLUMNS) + " |", flush=True)


def summarise(rounds, connections):
    print("\nmedian over rounds [min - max]:")
    print("| connections | host/floor | host/python | in-process/floor | in-process/python | host/(host /null) |"
          " host CPU us/frame | in-process CPU us/frame | python CPU us/frame |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = {}
    for n in connections:
        rows = [r for r in rounds if r["connections"] == n]
        cells, summary[n] = [], {}
        for key in ("host/floor", "host/python", "in-process/floor", "in-process/python", "host/null"):
            median, low, high = spread([r.get(key) for r in rows])
            summary[n][key] = (median, low, high)
            cells.append("-" if median is None else f"{median:.2f} [{low:.2f}-{high:.2f}]")
        for name in ("host", "in-process", "python"):
            median, low, high = spread([r.get(name, {}).get("tree_cpu_us_per_frame") for r in rows])
            summary[n][name + "_cpu_us"] = (median, low, high)
            cells.append("-" if median is None else f"{median:,.0f} [{low:,.0f}-{high:,.0f}]")
        print(f"| {n} | " + " | ".join(cells) + " |")
    print("\ntargets (issue 16): host/floor >= 2.5 and host/python >= 5, with the same answers")
    for n in connections:
        floor, python = summary[n]["host/floor"][0], summary[n]["host/python"][0]
        print(f"  x{n}: host/floor {floor:.2f} ({'met' if floor >= 2.5 else 'NOT met'}), "
              f"host/python {python:.2f} ({'met' if python >= 5 else 'NOT met'})")
    return summary


if __name__ == "__main__":
    sys.exit(main())
