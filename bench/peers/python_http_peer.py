#!/usr/bin/env python3
"""A Python HTTP extension built the way Microsoft's AVA/LVA Python HTTP extension samples are built: the
peer that bench/http_score.py runs side by side with our host's POST /score.

What the samples are: the colour-intensity "HTTP extension module" (/work/shared/seeds/001: a Python
application whose main creates the HTTP extension server and the image processor, defines the /score route
and listens on a port; the processor "reads the raw bytes, converts an image to grayscale and determines if
its color intensity is dark or light") and Microsoft's other Python HTTP extensions (Azure/video-analyzer
edge-modules/extensions: yolov3 / tinyyolov3 http-cpu, customvision), which are Flask apps served by
gunicorn behind nginx. So here:
- a Flask app with one POST /score route, served by gunicorn (the WSGI server those samples run);
- `ImageProcessor.process_images(bytes)`: `cv2.imdecode` of the whole frame at full size in colour, then
  `cv2.cvtColor` to gray, then the mean gray level against the threshold (127);
- the answer is the AVA inference JSON: one classification, subtype colorIntensity, value dark or light.

Where it differs from the samples, it is in the peer's favour or needed to compare answers:
- gunicorn's threaded worker (`gthread`, keep-alive) with one worker process per core (`--workers`,
  default: the number of cores) instead of the samples' single worker behind an nginx proxy: ava-loadgen,
  like the pipeline, keeps each connection open, the sync worker closes it after every answer, and a proxy
  hop or a single process would only slow the peer down (Flask's own development server closes every
  connection too: werkzeug 2.2 always sends "Connection: close");
- the confidence is the share of pixels on the winning side of the threshold (plugins/color_intensity's
  definition, one more pass over the gray frame), not the sample's constant 1, so answers compare exactly;
- it echoes `x-ms-client-request-id` (the protocol's example request carries it; ava-loadgen checks it).

Prints `port N` on stdout once it listens (`--port 0`: any free port).
Needs Debian's python3-flask, python3-gunicorn, python3-opencv, python3-numpy (bench/debian-packages.txt).
"""
import argparse
import json
import os
import socket

import cv2
import numpy as np
from flask import Flask, Response, request
from gunicorn.app.base import BaseApplication

REQUEST_ID = "x-ms-client-request-id"


class ImageProcessor:
    """The sample's image processor: full-size decode, grayscale, mean gray level against a threshold."""

    def __init__(self, threshold=127.0):
        self.threshold = threshold

    def process_images(self, image_bytes):
        encoded = np.frombuffer(image_bytes, dtype=np.uint8)
        bgr = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        if bgr is None:
            return None
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        dark = cv2.mean(gray)[0] < self.threshold
        # Confidence as plugins/color_intensity computes it: the share of pixels on the winning side.
        above = cv2.countNonZero((gray >= self.threshold).view(np.uint8))
        share = (gray.size - above if dark else above) / gray.size
        return [{"type": "classification", "subtype": "colorIntensity",
                 "classification": {"tag": {"value": "dark" if dark else "light", "confidence": share}}}]


def create_app(processor):
    app = Flask(__name__)

    @app.route("/score", methods=["POST"])
    def score():
        headers = {REQUEST_ID: request.headers[REQUEST_ID]} if REQUEST_ID in request.headers else {}
        inferences = processor.process_images(request.get_data())
        if inferences is None:
            return Response(json.dumps({"error": "the body is not a picture"}), status=400,
                            mimetype="application/json", headers=headers)
        if not inferences:
            return Response(status=204, headers=headers)
        return Response(json.dumps({"inferences": inferences}), mimetype="application/json", headers=headers)

    return app


class Gunicorn(BaseApplication):
    """gunicorn run from Python (what `gunicorn -k gthread -w N --threads T module:app` does)."""

    def __init__(self, app, settings):
        self.app, self.settings = app, settings
        super().__init__()

    def load_config(self):
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self):
        return self.app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-p", "--port", type=int, default=5001, help="0: any free port (printed)")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--threshold", type=float, default=127.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads (connections served at once) per worker")
    args = parser.parse_args()

    # The listening socket is made here and handed to gunicorn (fd://), so the port is known before it serves.
    listener = socket.create_server((args.bind, args.port), backlog=128)
    listener.set_inheritable(True)
    print("port %d" % listener.getsockname()[1], flush=True)
    Gunicorn(create_app(ImageProcessor(args.threshold)), {
        "bind": ["fd://%d" % listener.fileno()], "worker_class": "gthread", "workers": args.workers,
        "threads": args.threads, "keepalive": 75, "graceful_timeout": 5, "loglevel": "warning"}).run()


if __name__ == "__main__":
    main()
