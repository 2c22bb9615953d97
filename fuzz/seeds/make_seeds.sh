#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/<target>/ from real inputs: OpenCV's sample images (opencv-doc,
# downscaled to a few KB), HTTP requests as clients send them, serialized gRPC descriptors and samples
# (protoc --encode of the contract in proto/), the configuration files in packaging/. The output is
# committed; run this only to refresh it. Needs g++, pkg-config opencv4, protoc, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus="$root/fuzz/corpus"
data=${OPENCV_DATA:-/usr/share/doc/opencv-doc/examples/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

g++ -std=c++20 -O1 -w "$here/make_image_seeds.cpp" -o "$tmp/make_image_seeds" $(pkg-config --cflags --libs opencv4)
mkdir -p "$tmp/img"
"$tmp/make_image_seeds" "$data" "$tmp/img"

# gRPC messages from text format.
pkg=microsoft.azure.media.live_video_analytics.extensibility.grpc.v1
encode() { protoc --proto_path="$root/proto" --encode="$pkg.MediaStreamMessage" extension.proto; }
python3 - "$tmp" "$corpus" "$root" <<'PY'
import os, subprocess, sys, struct
tmp, corpus, root = sys.argv[1:4]
img = os.path.join(tmp, "img")
def read(p):
    with open(p, "rb") as f: return f.read()
def write(target, name, data):
    d = os.path.join(corpus, target); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f: f.write(data)
images = {n: read(os.path.join(img, n)) for n in sorted(os.listdir(img))}

# image_decode: <encoding byte: 0 JPEG, 1 PNG, 2 BMP><image>
for n, b in images.items():
    write("image_decode", n, bytes([{"jpg": 0, "png": 1, "bmp": 2}[n.rsplit(".", 1)[1]]]) + b)

# http_request: whole requests as bytes on the wire.
def req(method, target, headers=(), body=b""):
    h = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1:8080", "User-Agent: Azure Media Services"]
    h += list(headers)
    if body or method == "POST":
        h.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body
raw_bgr = bytes(range(4 * 2 * 3))
http = {
    "post_jpeg": req("POST", "/score", ["Content-Type: image/jpeg", "x-ms-client-request-id: 42"], images["messi.jpg"]),
    "post_png_query": req("POST", "/color_intensity?threshold=100", ["Content-Type: image/png"], images["fruits.png"]),
    "post_bmp_pipeline": req("POST", "/score", ["Content-Type: image/bmp", "x-ms-live-pipeline: lobby"], images["fruits24.bmp"]),
    "post_raw": req("POST", "/motion?pipeline=lobby", ["Content-Type: image/x-raw; width=4; height=2; format=bgr24"], raw_bgr),
    "post_raw_stride": req("POST", "/bright", ["Content-Type: image/x-raw; width=3; height=2; format=rgb565le; stride=8"], bytes(16)),
    "get_healthz": req("GET", "/healthz"),
    "get_analyzers": req("GET", "/analyzers", ["Authorization: Basic YXZhOnNlY3JldA=="]),
    "post_reload": req("POST", "/admin/reload", ["Authorization: Bearer token"]),
    "put_score": req("PUT", "/score", ["Content-Type: image/jpeg"], b"x"),
    "expect_continue": req("POST", "/score", ["Content-Type: image/png", "Expect: 100-continue"], images["gradient_gray.png"]),
}
chunks = images["fruits_gray.jpg"]
http["chunked_trailer"] = (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n"
    b"Trailer: X-Checksum\r\n\r\n" + b"".join(b"%x\r\n" % len(chunks[i:i+200]) + chunks[i:i+200] + b"\r\n"
    for i in range(0, len(chunks), 200)) + b"0\r\nX-Checksum: 1234\r\n\r\n")
http["http10_close"] = b"POST /score HTTP/1.0\r\nContent-Type: image/bmp\r\n\r\n" + images["chess_gray.bmp"]
for n, b in http.items():
    write("http_request", n, b)

# content_type: <Content-Type value>\n<body>
ct = {
    "raw_bgr24": (b"image/x-raw; width=4; height=2; format=bgr24", raw_bgr),
    "raw_quoted_stride": (b'image/x-raw; width="2"; height=2; format="bgra"; stride=12', bytes(24)),
    "raw_yuv420p": (b"IMAGE/X-RAW;format=yuv420p;width=4;height=2", bytes(12)),
    "raw_gray8": (b"image/x-raw; width=5; height=1; format=gray8", b"\x00\x40\x80\xc0\xff"),
    "raw_rgb555be": (b"image/x-raw; width=2; height=2; format=rgb555be", bytes(8)),
    "jpeg": (b"image/jpeg", images["fruits_420.jpg"]),
    "png_params": (b"image/png; charset=binary", images["gradient_gray.png"]),
    "bmp_ms": (b"image/x-ms-bmp", images["logo32.bmp"]),
}
for n, (t, b) in ct.items():
    write("content_type", n, t + b"\n" + b)

# grpc_stream: <u32 LE length><MediaStreamMessage>...
def enc(text):
    return subprocess.run(["protoc", f"--proto_path={root}/proto",
        "--encode=microsoft.azure.media.live_video_analytics.extensibility.grpc.v1.MediaStreamMessage",
        "extension.proto"], input=text.encode(), capture_output=True, check=True).stdout
def frame(*msgs):
    return b"".join(struct.pack("<I", len(m)) + m for m in msgs)
def cstr(b):
    return "".join("\\%03o" % c for c in b)
def descriptor(fmt, extra=""):
    return enc(f"""sequence_number: 1
media_stream_descriptor {{ graph_identifier {{ media_services_arm_id: "/subscriptions/x" graph_instance_name: "lobby" graph_node_name: "grpcExtension" }}
  {extra}
  media_descriptor {{ timescale: 90000 video_frame_sample_format {{ {fmt} }} }} }}""")
def sample(seq, content=None, ref=None):
    body = f'content_bytes {{ bytes: "{cstr(content)}" }}' if content is not None else \
           f"content_reference {{ address_offset: {ref[0]} length_bytes: {ref[1]} }}"
    return enc(f"sequence_number: {seq}\nmedia_sample {{ timestamp: {seq * 3000} {body} }}")
rawfmt = "encoding: RAW pixel_format: BGR24 dimensions { width: 4 height: 2 } stride_bytes: 12"
grpc = {
    "raw_embedded": frame(descriptor(rawfmt), sample(2, raw_bgr), sample(3, raw_bgr[::-1])),
    "raw_motion_config": frame(descriptor(rawfmt, 'extension_configuration: "{\\"analyzer\\":\\"motion\\",\\"parameters\\":{\\"warmup_frames\\":0}}"'),
                               sample(2, raw_bgr), sample(3, bytes(24)), sample(4, raw_bgr)),
    "jpg_embedded": frame(descriptor("encoding: JPG", 'extension_configuration: "color_intensity"'), sample(2, images["messi.jpg"])),
    "png_embedded": frame(descriptor("encoding: PNG dimensions { width: 20 height: 15 }"), sample(2, images["fruits.png"])),
    "bmp_embedded": frame(descriptor("encoding: BMP"), sample(2, images["fruits24.bmp"])),
    "yuv_shared_memory": frame(descriptor("encoding: RAW pixel_format: YUV420P dimensions { width: 8 height: 4 }",
                               'shared_memory_buffer_transfer_properties { handle_name: "frames" length_bytes: 1048576 }'),
                               sample(2, ref=(0, 48)), sample(3, ref=(48, 48)), sample(4, ref=(4096, 48))),
    "rgba_shared_memory": frame(descriptor("encoding: RAW pixel_format: RGBA dimensions { width: 16 height: 16 } stride_bytes: 64",
                                'extension_configuration: "camera-motion" shared_memory_buffer_transfer_properties { handle_name: "frames" length_bytes: 65536 }'),
                                sample(2, ref=(0, 1024)), sample(3, ref=(1024, 1024))),
}
for n, b in grpc.items():
    write("grpc_stream", n, b)

# routing: extension_configuration \0 pipeline \0 target \0 json_a \0 json_b
routing = {
    "empty": b"\0\0/score\0{}\0{}",
    "bare_name": b"motion\0\0/color_intensity?threshold=100&x=y%20z\0{\"a\":1}\0{\"b\":true}",
    "json_config": b'{"analyzer":"color_intensity","parameters":{"threshold":0.8}}\0\0/bright?threshold=3.5\0{"a":{"b":1}}\0{"a":[1,2]}',
    "pipeline": b"camera-motion\0lobby\0/lobby?pipeline=lobby&debug=true\0{}\0{\"threshold\":-1e3}",
    "unknown": b"faces\0nope\0/nope?%zz\0{\"x\":null}\0{\"x\":\"\\u00e9\"}",
}
for n, b in routing.items():
    write("routing", n, b)

# config_file: the packaged configurations and a small one with every kind of route.
write("config_file", "config.example.json", read(os.path.join(root, "packaging/config.example.json")))
write("config_file", "config.default.json", read(os.path.join(root, "packaging/config.default.json")))
write("config_file", "routes.json", b"""{"defaultAnalyzer": "color_intensity", "logLevel": "warn",
 "credentials": {"username": "ava", "password": "secret"},
 "limits": {"maxConcurrentFrames": 8, "workers": 2},
 "analyzers": {"motion": {"history": 50}},
 "routes": [{"httpPath": "/bright", "analyzer": "color_intensity", "parameters": {"threshold": 100}},
            {"extensionConfiguration": "camera-motion", "analyzer": "motion"},
            {"pipeline": "lobby", "httpPath": "/lobby", "analyzer": "color_intensity"}]}
""")

# inference_writers: FuzzedDataProvider streams (deterministic pseudo-random bytes, plus UTF-8 text).
import random
rng = random.Random(10)
for i in range(6):
    write("inference_writers", f"random{i}", bytes(rng.randrange(256) for _ in range(300)))
write("inference_writers", "text_utf8", ("caf\u00e9 \u2603 \U0001F600 person car " * 8).encode())
# worker_hello: hellos as ava-analyzer-worker writes them (wire.h Writer: u32-length strings, a u8 before
# each optional), naming the private copy the target expects; a refusal; a forged path.
def s32(b): return struct.pack("<I", len(b)) + b
def hello(name=b"color_intensity", path=b"/tmp/ava-fuzz-shadow/libcolor_intensity.1.0.so", concurrency=2,
          schemas=(None, None), declared=(0, 0, 0, 0)):
    out = b"\x01" + s32(name) + s32(b"1.0.0") + s32(b"gray mean") + s32(path)
    out += struct.pack("<IIi", 1, 2, concurrency)
    for text in schemas:
        out += b"\x00" if text is None else b"\x01" + s32(text)
    return out + struct.pack("<IIII", *declared)
write("worker_hello", "plain", hello())
write("worker_hello", "declared", hello(schemas=(b'{"type":"object","properties":{"threshold":{"type":"number"}}}',
      b'{"type":"object"}'), declared=(1 << 3, 64, 64, 0)))
write("worker_hello", "refusal", b"\x00" + s32(b"/plugins/libx.so: refused: no entry symbol 'ava_plugin_entry'"))
write("worker_hello", "forged_path", hello(path=b"/tmp/ava-fuzz-shadow/../etc/passwd"))
PY
echo "seeds written under $corpus"
