#!/usr/bin/env python3
"""A Python gRPC extension built the way Microsoft's AVA gRPC sample extension is built: the peer that
bench/density.py runs side by side with our host.

Design (as the sample's): a `grpcio` server on a `futures.ThreadPoolExecutor`, a servicer whose
`ProcessMediaStream` is a generator reading the request iterator and yielding one reply per message. So one
stream holds one pool thread for its whole life, and frames of a stream are analysed one after the other:
`--threads` caps how many streams are served at once. Frames come embedded or through shared memory
(`/dev/shm/<handle_name>` mapped read-only, each sample read at its content_reference offset and length),
RAW BGR24 / RGB24 / BGRA / RGBA with a stride, or JPEG / BMP / PNG through `cv2.imdecode`.

The analyzers are the bundled plugins (plugins/*/*.cpp) rewritten in Python with `cv2`: the same steps,
models and default parameters, and replies in the shape our host sends (subtypes, tags, confidences,
attributes, normalised boxes). The analyzer is chosen by the descriptor's extension_configuration, as our
host accepts it: a bare name (`people`) or `{"analyzer": "people", "parameters": {...}}`.

The Python code for the contract is generated at start-up from proto/ with `python3 -m grpc_tools.protoc`
into a temporary folder (never committed). Prints `port N` on stdout once it serves.

Needs Debian's python3-grpcio, python3-grpc-tools, python3-opencv, python3-numpy (bench/debian-packages.txt).
"""
import argparse
import atexit
import json
import math
import mmap
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent import futures

import cv2
import grpc
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_contract(proto_dir):
    """Generates extension_pb2 & co. from our .proto files into a temporary folder and imports them."""
    out = tempfile.mkdtemp(prefix="ava-peer-proto-")
    atexit.register(shutil.rmtree, out, True)
    protos = [os.path.join(proto_dir, name) for name in ("extension.proto", "inferencing.proto", "media.proto")]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + proto_dir, "--python_out=" + out,
                    "--grpc_python_out=" + out] + protos, check=True)
    sys.path.insert(0, out)
    import extension_pb2  # noqa: E402 (generated just above)
    import extension_pb2_grpc  # noqa: E402
    import inferencing_pb2  # noqa: E402
    import media_pb2  # noqa: E402
    return extension_pb2, extension_pb2_grpc, inferencing_pb2, media_pb2


# --- helpers shared by the analyzers (plugins/common) -------------------------------------------------------

def fit_width(width, max_width):
    return 1.0 if max_width <= 0 or width <= max_width else max_width / width


def convert(bgr, to, scale=1.0):
    """plugins/common convert(): shrink with INTER_AREA (when scale < 1) whichever of the source and the result
    has fewer channels: to gray, convert first and then shrink; otherwise shrink, then change the layout."""
    def shrink(image):
        if 0.0 < scale < 1.0:
            h, w = image.shape[:2]
            size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
            if size != (w, h):
                return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return image
    if to == "gray":
        return shrink(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    image = shrink(bgr)
    if to == "rgb":
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def nms_clusters(boxes, scores, score_threshold, iou_threshold):
    """plugins/common nms_clusters(): greedy, best score first (stable), each leader takes what overlaps it."""
    order = [i for i in range(min(len(boxes), len(scores))) if scores[i] >= score_threshold
             and boxes[i][2] * boxes[i][3] > 0]
    order.sort(key=lambda i: -scores[i])
    taken = [False] * len(boxes)
    clusters = []
    for n, leader in enumerate(order):
        if taken[leader]:
            continue
        taken[leader] = True
        cluster = [leader]
        for other in order[n + 1:]:
            if not taken[other] and iou(boxes[leader], boxes[other]) > iou_threshold:
                taken[other] = True
                cluster.append(other)
        clusters.append(cluster)
    return clusters


def clamp_unit(x, y, w, h):
    l, t = min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)
    r, b = min(max(x + w, 0.0), 1.0), min(max(y + h, 0.0), 1.0)
    if not (r > l and b > t):
        return None
    return (l, t, r - l, b - t)


def normalise(box, width, height):
    x, y, w, h = box
    return clamp_unit(x / width, y / height, w / width, h / height)


def certainty(measure, threshold):
    octaves = abs(math.log2(max(measure, 1e-6) / max(threshold, 1e-6)))
    return 1.0 / (1.0 + math.exp(-2.0 * octaves))


def number_text(value):
    return "%.4f" % value


class Results:
    """What an analyzer emits for one frame, kept as plain tuples; turned into protobuf by the servicer."""

    def __init__(self):
        self.items = []

    def classification(self, subtype, value, confidence, attributes=()):
        self.items.append(("classification", subtype, value, confidence, None, list(attributes)))

    def entity(self, subtype, tag, confidence, box, attributes=()):
        self.items.append(("entity", subtype, tag, confidence, box, list(attributes)))

    def motion(self, box):
        self.items.append(("motion", "", None, None, box, []))


# --- the analyzers (plugins/<name>/<name>.cpp, default parameters) ------------------------------------------

class ColorIntensity:
    """plugins/color_intensity: grayscale mean below `threshold` (127) is "dark"; confidence = share of
    pixels on the winning side."""
    name = "color_intensity"

    def __init__(self, params):
        self.threshold = float(params.get("threshold", 127.0))

    def open_stream(self):
        return self

    def process(self, bgr, out):
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        mean = cv2.mean(gray)[0]
        dark = mean < self.threshold
        total = gray.size
        below = total - cv2.countNonZero((gray >= self.threshold).astype(np.uint8))
        share = (below if dark else total - below) / total
        out.classification("colorIntensity", "dark" if dark else "light", share)


class Motion:
    """plugins/motion: MOG2 (history 300, varThreshold 16, shadows detected) or KNN (400) on frames shrunk to
    320 wide, 10 warm-up frames, threshold 200, ellipse opening and closing, connected components above
    min_area (0.0005 of the frame). State per stream."""
    name = "motion"

    def __init__(self, params):
        self.method = params.get("method", "mog2")
        self.history = int(params.get("history", 300))
        self.threshold = float(params.get("threshold", 16.0 if self.method == "mog2" else 400.0))
        self.detect_shadows = bool(params.get("detect_shadows", True))
        self.min_area = float(params.get("min_area", 0.0005))
        self.warmup_frames = int(params.get("warmup_frames", 10))
        self.max_width = int(params.get("max_width", 320))

    def open_stream(self):
        return MotionSession(self)


class MotionSession:
    def __init__(self, settings):
        self.s = settings
        self.subtractor = None
        self.size = None
        self.frames = 0

    def reset(self, size):
        s = self.s
        self.size = size
        self.frames = 0
        if s.method == "mog2":
            self.subtractor = cv2.createBackgroundSubtractorMOG2(s.history, s.threshold, s.detect_shadows)
        else:
            self.subtractor = cv2.createBackgroundSubtractorKNN(s.history, s.threshold, s.detect_shadows)
        unit = max(1, size[0] // 320)
        self.open_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * unit + 1, 2 * unit + 1))
        self.close_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (6 * unit + 1, 6 * unit + 1))

    def process(self, bgr, out):
        image = convert(bgr, "bgr", fit_width(bgr.shape[1], self.s.max_width))
        size = (image.shape[1], image.shape[0])
        if self.subtractor is None or size != self.size:
            self.reset(size)
        mask = self.subtractor.apply(image)
        self.frames += 1
        if self.frames <= self.s.warmup_frames:
            return
        _, mask = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self.open_kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self.close_kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
        min_pixels = max(1.0, self.s.min_area * mask.size)
        for i in range(1, count):
            if stats[i, cv2.CC_STAT_AREA] < min_pixels:
                continue
            box = normalise((float(stats[i, cv2.CC_STAT_LEFT]), float(stats[i, cv2.CC_STAT_TOP]),
                             float(stats[i, cv2.CC_STAT_WIDTH]), float(stats[i, cv2.CC_STAT_HEIGHT])),
                            mask.shape[1], mask.shape[0])
            if box:
                out.motion(box)


class People:
    """plugins/people: OpenCV's Daimler HOG people detector (48x96 window, 16x16 blocks, 8x8 block stride and
    cells, 9 bins; or `model=inria`, the default 64x128 detector) on the gray frame shrunk to 640 wide, scale
    1.25, win_stride 8, hit_threshold 1.0 (inria: 0.3), no OpenCV grouping, our NMS at IoU 0.3, box tightened
    to the body (daimler 0.15/0.1/0.7/0.8 of the window, inria 0.1/0.07/0.8/0.8), confidence
    logistic(margin)."""
    name = "people"

    def __init__(self, params):
        self.model = params.get("model", "daimler")
        self.scale = float(params.get("scale", 1.25))
        self.win_stride = int(params.get("win_stride", 8))
        self.hit_threshold = float(params.get("hit_threshold", 0.3 if self.model == "inria" else 1.0))
        self.nms_threshold = float(params.get("nms_threshold", 0.3))
        self.max_width = int(params.get("max_width", 640))
        self.body = (0.1, 0.07, 0.8, 0.8) if self.model == "inria" else (0.15, 0.1, 0.7, 0.8)
        self.local = threading.local()  # one detector per thread, as the plugin leases one per call

    def open_stream(self):
        return self

    def detector(self):
        hog = getattr(self.local, "hog", None)
        if hog is None:
            if self.model == "inria":
                hog = cv2.HOGDescriptor()
                hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
            else:
                hog = cv2.HOGDescriptor((48, 96), (16, 16), (8, 8), (8, 8), 9)
                hog.setSVMDetector(cv2.HOGDescriptor_getDaimlerPeopleDetector())
            self.local.hog = hog
        return hog

    def process(self, bgr, out):
        gray = convert(bgr, "gray", fit_width(bgr.shape[1], self.max_width))
        found, weights = (), ()
        hog = self.detector()
        win_w, win_h = hog.winSize
        if gray.shape[1] >= win_w and gray.shape[0] >= win_h:
            found, weights = hog.detectMultiScale(
                gray, self.hit_threshold, (self.win_stride, self.win_stride), (0, 0), self.scale, 0.0, False)
        boxes, scores = [], []
        bx, by, bw, bh = self.body
        for r, w in zip(found, np.ravel(weights) if len(weights) else ()):
            x, y, rw, rh = (float(v) for v in r)
            boxes.append((x + bx * rw, y + by * rh, bw * rw, bh * rh))
            scores.append(1.0 / (1.0 + math.exp(-float(w))))
        for cluster in nms_clusters(boxes, scores, 0.0, self.nms_threshold):
            i = cluster[0]
            box = normalise(boxes[i], gray.shape[1], gray.shape[0])
            if box:
                out.entity("personDetection", "person", scores[i], box)


BLAZEFACE_FILE = "face_detection_back_256x256_barracuda.onnx"
KEYPOINTS = ("rightEye", "leftEye", "noseTip", "mouth", "rightEar", "leftEar")


def blazeface_path():
    tried = []
    if os.environ.get("AVA_MODELS_DIR"):
        tried.append(os.path.join(os.environ["AVA_MODELS_DIR"], BLAZEFACE_FILE))
    tried += [os.path.join("/usr/share/ava-extension-host/models", BLAZEFACE_FILE),
              os.path.join(ROOT, ".cache", "models", BLAZEFACE_FILE)]
    for path in tried:
        if os.path.isfile(path):
            return path
    raise ValueError("BlazeFace model not found (tried %s); run scripts/fetch-models.sh" % ", ".join(tried))


class Faces:
    """plugins/faces: MediaPipe BlazeFace back 256x256 (ONNX through cv2.dnn, OpenCV backend, CPU), frame
    shrunk so its longer side is 256, padded right/down to a square, [-1, 1] NHWC; SSD anchors 16x16x2 and
    8x8x6; score threshold 0.6; MediaPipe's weighted NMS at IoU 0.3; six keypoints as attributes.
    Or `model=haar`: opencv-data's frontal face cascade on the equalised gray frame (<= 640 wide), scale
    1.1, min_neighbors 5, min size 24."""
    name = "faces"
    side = 256

    def __init__(self, params):
        self.model = params.get("model", "blazeface")
        self.threshold = float(params.get("threshold", 0.6))
        self.nms_threshold = float(params.get("nms_threshold", 0.3))
        self.min_neighbors = int(params.get("min_neighbors", 5))
        self.local = threading.local()
        if self.model == "haar":
            self.path = os.path.join(cv2.data.haarcascades if hasattr(cv2, "data") else
                                     "/usr/share/opencv4/haarcascades/", "haarcascade_frontalface_default.xml")
            if not os.path.isfile(self.path):
                self.path = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
        else:
            self.path = blazeface_path()
            with open(self.path, "rb") as f:
                self.onnx = f.read()
            anchors = []
            for grid, per_cell in ((16, 2), (8, 6)):
                for cell in range(grid * grid):
                    for _ in range(per_cell):
                        anchors.append(((cell % grid + 0.5) / grid, (cell // grid + 0.5) / grid))
            self.anchors = np.array(anchors, np.float32)

    def open_stream(self):
        return self

    def net(self):
        net = getattr(self.local, "net", None)
        if net is None:
            if self.model == "haar":
                net = cv2.CascadeClassifier(self.path)
            else:
                net = cv2.dnn.readNetFromONNX(np.frombuffer(self.onnx, np.uint8))
                net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
                net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
                self.local.outputs = net.getUnconnectedOutLayersNames()
            self.local.net = net
        return net

    def process(self, bgr, out):
        faces = self.haar(bgr) if self.model == "haar" else self.blazeface(bgr)
        faces.sort(key=lambda f: (-f[1], f[0][1], f[0][0]))
        for box, score, keypoints, neighbors in faces:
            unit = clamp_unit(*box)
            if not unit:
                continue
            if keypoints is not None:
                attributes = []
                for name, (x, y) in zip(KEYPOINTS, keypoints):
                    attributes.append((name + ".x", number_text(min(max(x, 0.0), 1.0)), -1.0))
                    attributes.append((name + ".y", number_text(min(max(y, 0.0), 1.0)), -1.0))
            else:
                attributes = [("neighbors", str(neighbors), -1.0)]
            out.entity("faceDetection", "face", score, unit, attributes)

    def blazeface(self, bgr):
        h, w = bgr.shape[:2]
        scale = min(1.0, self.side / max(w, h))
        rgb = convert(bgr, "rgb", scale)
        side = max(rgb.shape[0], rgb.shape[1])
        square = cv2.copyMakeBorder(rgb, 0, side - rgb.shape[0], 0, side - rgb.shape[1], cv2.BORDER_CONSTANT,
                                    value=(0, 0, 0))
        if side != self.side:
            square = cv2.resize(square, (self.side, self.side), interpolation=cv2.INTER_LINEAR)
        blob = (square.astype(np.float32) * (1.0 / 127.5) - 1.0).reshape(1, self.side, self.side, 3)
        net = self.net()
        net.setInput(blob)
        outputs = net.forward(self.local.outputs)
        scores, regressors = [None, None], [None, None]
        for m in outputs:
            grid = 0 if m.size in (512, 512 * 16) else 1 if m.size in (384, 384 * 16) else -1
            if grid < 0:
                raise ValueError("not the BlazeFace back 256x256 model (unexpected output shape)")
            (scores if m.shape[-1] == 1 else regressors)[grid] = m
        raw = np.concatenate([scores[0].reshape(-1), scores[1].reshape(-1)])
        reg = np.concatenate([regressors[0].reshape(-1, 16), regressors[1].reshape(-1, 16)])
        sx, sy = side / rgb.shape[1], side / rgb.shape[0]
        t = self.threshold
        if t >= 1.0:
            return []
        keep = np.arange(len(raw)) if t <= 0.0 else np.nonzero(raw >= math.log(t / (1.0 - t)))[0]
        candidates, boxes, confidences = [], [], []
        for i in keep:
            r = reg[i]
            ax, ay = self.anchors[i]
            cx, cy = ax + r[0] / self.side, ay + r[1] / self.side
            bw, bh = r[2] / self.side, r[3] / self.side
            score = 1.0 / (1.0 + math.exp(-float(raw[i])))
            box = (float((cx - bw / 2) * sx), float((cy - bh / 2) * sy), float(bw * sx), float(bh * sy))
            points = [(float((ax + r[4 + 2 * k] / self.side) * sx), float((ay + r[5 + 2 * k] / self.side) * sy))
                      for k in range(len(KEYPOINTS))]
            candidates.append((box, score, points))
            boxes.append(box)
            confidences.append(score)
        faces = []
        for cluster in nms_clusters(boxes, confidences, t, self.nms_threshold):
            total, l, tp, rr, b = 0.0, 0.0, 0.0, 0.0, 0.0
            points = np.zeros((len(KEYPOINTS), 2))
            for m in cluster:
                (x, y, bw, bh), score, pts = candidates[m]
                total += score
                l, tp, rr, b = l + score * x, tp + score * y, rr + score * (x + bw), b + score * (y + bh)
                points += score * np.array(pts)
            points /= total
            faces.append(((l / total, tp / total, (rr - l) / total, (b - tp) / total), candidates[cluster[0]][1],
                          [tuple(p) for p in points], 0))
        return faces

    def haar(self, bgr):
        gray = convert(bgr, "gray", fit_width(bgr.shape[1], 640))
        equalized = cv2.equalizeHist(gray)
        rects, neighbors = self.net().detectMultiScale2(equalized, 1.1, self.min_neighbors, 0, (24, 24))
        h, w = equalized.shape
        return [((x / w, y / h, rw / w, rh / h), -1.0, None, int(n))
                for (x, y, rw, rh), n in zip(rects, np.ravel(neighbors) if len(rects) else ())]


class Quality:
    """plugins/quality: on the gray frame shrunk to 640 wide, sharpness = variance of the 16-bit Laplacian
    against blur_threshold 100; exposure from the mean (40 / 215) and the shares <= 16 / >= 240 against
    clip_fraction 0.4; BRISQUE (opencv-data's live model) only with brisque=true."""
    name = "quality"

    def __init__(self, params):
        self.blur_threshold = float(params.get("blur_threshold", 100.0))
        self.dark_mean = float(params.get("dark_mean", 40.0))
        self.bright_mean = float(params.get("bright_mean", 215.0))
        self.clip_fraction = float(params.get("clip_fraction", 0.4))
        self.brisque = bool(params.get("brisque", False))
        self.brisque_threshold = float(params.get("brisque_threshold", 40.0))
        self.max_width = int(params.get("max_width", 640))
        self.local = threading.local()

    def open_stream(self):
        return self

    def process(self, bgr, out):
        gray = convert(bgr, "gray", fit_width(bgr.shape[1], self.max_width))
        laplacian = cv2.Laplacian(gray, cv2.CV_16S)  # exact for 8-bit input, as the plugin computes it
        _, stddev = cv2.meanStdDev(laplacian)
        variance = float(stddev[0][0]) ** 2
        out.classification("sharpness", "blurred" if variance < self.blur_threshold else "sharp",
                           certainty(variance, self.blur_threshold),
                           [("laplacianVariance", number_text(variance), -1.0)])
        mean = cv2.mean(gray)[0]
        total = float(gray.size)
        dark = cv2.countNonZero((gray <= 16).astype(np.uint8)) / total
        bright = cv2.countNonZero((gray >= 240).astype(np.uint8)) / total
        if mean < self.dark_mean or dark > self.clip_fraction:
            value = "underexposed"
            confidence = max(certainty(mean, self.dark_mean) if mean < self.dark_mean else 0.0,
                             certainty(dark, self.clip_fraction) if dark > self.clip_fraction else 0.0)
        elif mean > self.bright_mean or bright > self.clip_fraction:
            value = "overexposed"
            confidence = max(certainty(mean, self.bright_mean) if mean > self.bright_mean else 0.0,
                             certainty(bright, self.clip_fraction) if bright > self.clip_fraction else 0.0)
        else:
            confidence = min(certainty(mean, self.dark_mean), certainty(mean, self.bright_mean),
                             certainty(dark, self.clip_fraction), certainty(bright, self.clip_fraction))
            value = "normal"
        out.classification("exposure", value, confidence,
                           [("meanLevel", number_text(mean), -1.0), ("darkShare", number_text(dark), -1.0),
                            ("brightShare", number_text(bright), -1.0)])
        if self.brisque and min(gray.shape) >= 32:
            model = getattr(self.local, "brisque", None)
            if model is None:
                folder = "/usr/share/opencv4/quality"
                model = cv2.quality.QualityBRISQUE_create(os.path.join(folder, "brisque_model_live.yml"),
                                                          os.path.join(folder, "brisque_range_live.yml"))
                self.local.brisque = model
            score = float(model.compute(gray)[0])
            out.classification("quality", "poor" if score > self.brisque_threshold else "good",
                               certainty(score, self.brisque_threshold), [("brisque", number_text(score), -1.0)])


ANALYZERS = {cls.name: cls for cls in (ColorIntensity, Motion, People, Faces, Quality)}


def parse_configuration(text):
    """A bare analyzer name, or {"analyzer": name, "parameters": {...}} (as our host takes it)."""
    text = text.strip()
    if text.startswith("{"):
        config = json.loads(text)
        return config.get("analyzer", "color_intensity"), dict(config.get("parameters") or {})
    return (text or "color_intensity"), {}


# --- the service ------------------------------------------------------------------------------------------

RAW_LAYOUTS = {  # VideoFrameSampleFormat.PixelFormat -> (channels, cvtColor code to BGR or None)
    60: (3, cv2.COLOR_RGB2BGR), 61: (3, None), 80: (4, None), 81: (4, cv2.COLOR_RGBA2BGR),
    82: (4, None), 83: (4, cv2.COLOR_BGRA2BGR),
}


def make_servicer(pb, pb_grpc, inf, media):
    Inference = inf.Inference
    encodings = media.VideoFrameSampleFormat

    def to_proto(results, sample):
        for kind, subtype, value, confidence, box, attributes in results.items:
            item = sample.inferences.add()
            item.subtype = subtype
            if kind == "classification":
                item.type = Inference.CLASSIFICATION
                item.classification.tag.value = value
                item.classification.tag.confidence = max(0.0, confidence)
                for name, text, c in attributes:
                    item.classification.attributes.add(name=name, value=text, confidence=max(0.0, c))
            elif kind == "entity":
                item.type = Inference.ENTITY
                item.entity.tag.value = value
                item.entity.tag.confidence = max(0.0, confidence)
                for name, text, c in attributes:
                    item.entity.attributes.add(name=name, value=text, confidence=max(0.0, c))
                item.entity.box.l, item.entity.box.t, item.entity.box.w, item.entity.box.h = box
            else:
                item.type = Inference.MOTION
                item.motion.box.l, item.motion.box.t, item.motion.box.w, item.motion.box.h = box

    class StreamFormat:
        def __init__(self, descriptor):
            video = descriptor.media_descriptor.video_frame_sample_format
            self.encoding = video.encoding
            self.width, self.height = video.dimensions.width, video.dimensions.height
            self.pixel_format = video.pixel_format
            self.stride = video.stride_bytes
            if self.encoding == encodings.RAW:
                if self.pixel_format not in RAW_LAYOUTS:
                    raise ValueError("unsupported pixel format %d" % self.pixel_format)
                channels = RAW_LAYOUTS[self.pixel_format][0]
                self.stride = self.stride or self.width * channels
                if not self.width or not self.height or self.stride < self.width * channels:
                    raise ValueError("RAW frames need dimensions and a stride of at least a row")

        def image(self, buffer, offset, length):
            if self.encoding == encodings.RAW:
                channels, code = RAW_LAYOUTS[self.pixel_format]
                if length < self.stride * (self.height - 1) + self.width * channels:
                    raise ValueError("sample of %d bytes is shorter than the frame" % length)
                rows = np.frombuffer(buffer, np.uint8, count=self.stride * (self.height - 1) + self.width * channels,
                                     offset=offset)
                frame = np.lib.stride_tricks.as_strided(
                    rows, (self.height, self.width, channels), (self.stride, channels, 1), writeable=False)
                if self.pixel_format == 82:  # ABGR -> BGRA
                    frame = frame[:, :, [1, 2, 3, 0]]
                elif self.pixel_format == 80:  # ARGB -> BGR
                    return np.ascontiguousarray(frame[:, :, [3, 2, 1]])
                if code is not None:
                    return cv2.cvtColor(frame, code)
                return frame if channels == 3 else cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
            image = cv2.imdecode(np.frombuffer(buffer, np.uint8, count=length, offset=offset), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError("cannot decode the frame")
            return image

    class Servicer(pb_grpc.MediaGraphExtensionServicer):
        def __init__(self):
            self.instances = {}
            self.lock = threading.Lock()

        def instance(self, name, params):
            key = (name, json.dumps(params, sort_keys=True))
            with self.lock:
                if key not in self.instances:
                    if name not in ANALYZERS:
                        raise ValueError("unknown analyzer '%s' (have: %s)" % (name, ", ".join(sorted(ANALYZERS))))
                    self.instances[key] = ANALYZERS[name](params)
                return self.instances[key]

        def ProcessMediaStream(self, requests, context):
            first = next(requests, None)
            if first is None:
                return
            if not first.HasField("media_stream_descriptor"):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be a MediaStreamDescriptor")
            descriptor = first.media_stream_descriptor
            shm = None
            try:
                name, params = parse_configuration(descriptor.extension_configuration)
                session = self.instance(name, params).open_stream()
                fmt = StreamFormat(descriptor)
                if descriptor.HasField("shared_memory_buffer_transfer_properties"):
                    handle = descriptor.shared_memory_buffer_transfer_properties.handle_name
                    if "/" in handle or handle in ("", ".", ".."):
                        raise ValueError("bad shared memory handle name")
                    with open(os.path.join("/dev/shm", handle), "rb") as f:
                        shm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (ValueError, OSError, cv2.error) as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
            try:
                reply_number = 1
                yield pb.MediaStreamMessage(
                    sequence_number=reply_number, ack_sequence_number=first.sequence_number,
                    media_stream_descriptor=pb.MediaStreamDescriptor(extension_identifier="ava-python-peer/" + name))
                for request in requests:
                    reply_number += 1
                    sample = request.media_sample
                    reply = pb.MediaStreamMessage(sequence_number=reply_number,
                                                  ack_sequence_number=request.sequence_number)
                    reply.media_sample.timestamp = sample.timestamp
                    try:
                        if sample.HasField("content_reference"):
                            ref = sample.content_reference
                            if shm is None:
                                raise ValueError("content_reference without shared memory")
                            if ref.address_offset + ref.length_bytes > len(shm):
                                raise ValueError("content_reference outside the shared memory buffer")
                            image = fmt.image(shm, ref.address_offset, ref.length_bytes)
                        else:
                            data = sample.content_bytes.bytes
                            image = fmt.image(data, 0, len(data))
                        results = Results()
                        session.process(image, results)
                        del image  # no view into the mapping may outlive the frame
                    except (ValueError, cv2.error) as e:
                        context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                      "sample %d: %s" % (request.sequence_number, e))
                    to_proto(results, reply.media_sample)
                    yield reply
            finally:
                if shm is not None:
                    try:
                        shm.close()
                    except BufferError:
                        pass  # a view still alive: the mapping goes with the last reference

    return Servicer()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5001, help="0: any free port (printed)")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--threads", type=int, default=10,
                        help="thread pool size: each stream holds one thread, so at most this many streams at once")
    parser.add_argument("--proto-dir", default=os.path.join(ROOT, "proto"))
    args = parser.parse_args()

    pb, pb_grpc, inf, media = load_contract(args.proto_dir)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.threads),
                         options=[("grpc.max_receive_message_length", 64 << 20),
                                  ("grpc.max_send_message_length", 64 << 20)])
    pb_grpc.add_MediaGraphExtensionServicer_to_server(make_servicer(pb, pb_grpc, inf, media), server)
    port = server.add_insecure_port("%s:%d" % (args.bind, args.port))
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: server.stop(1))  # wait_for_termination() then returns
    print("port %d" % port, flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        pass
    server.stop(1)


if __name__ == "__main__":
    main()
