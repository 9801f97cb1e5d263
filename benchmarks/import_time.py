"""Cold import cost: ``from inference_exp import AutoModel`` next to ``import torch``, in fresh interpreters.

Run: ``python benchmarks/import_time.py [--repeats N]``

Each measurement is a new Python process that times the import statement itself (``time.perf_counter``) and
reports its peak resident memory afterwards (``ru_maxrss``, which includes the interpreter's own ~10 MB).
Both statements alternate within every repetition, so that drifts in machine load hit both. Targets for the
library: <= 0.25 s and <= 60 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

STATEMENTS = {"from inference_exp import AutoModel": (0.25, 60.0), "import torch": (None, None)}
PROBE = """
import json, resource, sys, time
start = time.perf_counter()
exec(sys.argv[1])
elapsed = time.perf_counter() - start
heavy = [m for m in ("torch", "transformers", "onnxruntime", "cv2") if m in sys.modules]
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "heavy": heavy}))
"""


def measure(statement: str) -> dict:
    output = subprocess.run([sys.executable, "-c", PROBE, statement], capture_output=True, text=True, check=True)
    return json.loads(output.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    repeats = parser.parse_args().repeats
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}, {repeats} fresh processes each")
    for statement in STATEMENTS:
        measure(statement)  # warm the file-system cache
    results: dict[str, list[dict]] = {statement: [] for statement in STATEMENTS}
    for repetition in range(repeats):
        order = list(STATEMENTS) if repetition % 2 else list(reversed(STATEMENTS))
        for statement in order:
            results[statement].append(measure(statement))
    medians = {}
    for statement, runs in results.items():
        seconds = sorted(run["seconds"] for run in runs)
        rss = statistics.median(run["rss_mb"] for run in runs)
        medians[statement] = statistics.median(seconds)
        target_seconds, target_rss = STATEMENTS[statement]
        verdict = ""
        if target_seconds is not None:
            met = medians[statement] <= target_seconds and rss <= target_rss
            verdict = f"  target <= {target_seconds} s and <= {target_rss:.0f} MB: {'met' if met else 'MISSED'}"
        print(
            f"{statement:<38} median {medians[statement]:.3f} s (min {seconds[0]:.3f}, max {seconds[-1]:.3f})  "
            f"peak RSS {rss:.0f} MB  heavy modules loaded: {', '.join(runs[0]['heavy']) or 'none'}{verdict}"
        )
    ours, torch = medians["from inference_exp import AutoModel"], medians["import torch"]
    print(f"ratio: the library imports in {ours / torch:.2f}x the time of torch alone")


if __name__ == "__main__":
    main()
