"""Run by the cache tests as a separate process: materialise one package and print its directory.

Usage: ``python materialize_worker.py ROOT MODEL_ID PACKAGE_JSON [--wait]``. With ``--wait`` it prints
``ready`` once imported and starts only when a line arrives on stdin (so that many workers start together).
"""

from __future__ import annotations

import json
import sys

from inference_exp.cache import ModelCache
from inference_exp.packages.manifests import ModelPackage


def main() -> None:
    root, model_id, package_json = sys.argv[1:4]
    package = ModelPackage.model_validate(json.loads(package_json))
    if "--wait" in sys.argv[4:]:
        print("ready", flush=True)
        sys.stdin.readline()
    print("started", flush=True)
    print(ModelCache(root).materialize_package(model_id, package, progress=False), flush=True)


if __name__ == "__main__":
    main()
