"""YOLO model families on ONNX and TorchScript.

| module | architectures | tasks |
|---|---|---|
| :mod:`.ultralytics` | ``yolov8``, ``yolov9``, ``yolov11``, ``yolov12`` (the anchor-free Ultralytics head) | detection, instance segmentation, keypoints |
| :mod:`.classification` | ``yolov8``, ``yolov11`` classifiers | classification |
| :mod:`.yolov5` | ``yolov5`` (objectness head, and the anchor-free "u" exports) | detection |
| :mod:`.yolov10` | ``yolov10`` (NMS-free one-to-one head) | detection |

Each class is one (layout family, task) for every backend: the backend comes with the load options. The output
layouts are decoded by :mod:`.decoding`; everything else comes from :mod:`inference_exp.models.tasks`.
"""
