"""Eight processes load the same model by id at once: each file is downloaded once, every process predicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from helpers.fake_weights_api import metadata_page, onnx_package
from helpers.tiny_yolo import write_package

from inference_exp.cache.management import verify

PROCESSES = 8
# Each process: wait for "go", load the model through AutoModel, predict on a white image, print the classes.
WORKER = """
import json, sys
import numpy as np
from inference_exp import AutoModel
print("ready", flush=True)
sys.stdin.readline()
model = AutoModel.from_pretrained("acme/yolo/1")
[detections] = model(np.full((64, 64, 3), 255, np.uint8))
print(json.dumps({"classes": detections.class_name, "package": model.loaded_package.package_id}), flush=True)
"""


def test_eight_processes_load_one_model_and_download_each_file_once(fake_api, tmp_path):
    head = np.array([[20.0, 40.0], [20.0, 40.0], [10.0, 16.0], [10.0, 16.0], [0.9, 0.1], [0.1, 0.8]], np.float32)
    source = write_package(tmp_path / "yolo", [head], architecture="yolov8", task="object-detection", class_names=["cat", "dog"])
    files = {name: fake_api.add_file(name, (source / name).read_bytes()) for name in ("weights.onnx", "class_names.txt", "inference_config.json")}
    fake_api.add_model("acme/yolo/1", [metadata_page("acme/yolo/1", [onnx_package("p1", [f.entry() for f in files.values()])])])
    fake_api.throttle(chunk_bytes=256, delay=0.01)  # slow downloads, so that the processes overlap
    env = {**os.environ, "API_CALLS_TIMEOUT": "10", "DOWNLOAD_READ_TIMEOUT": "10", "CACHE_LOCK_TIMEOUT": "60"}
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(PROCESSES)
    ]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [worker.communicate(timeout=240) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == {"classes": ["cat", "dog"], "package": "p1"}
    for served in files.values():
        assert fake_api.count(served.path) == 1, served.name
    assert verify().ok
