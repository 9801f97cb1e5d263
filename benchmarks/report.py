"""Verdicts on the targets and the printed report of ``benchmarks/bench.py`` (from its JSON-ready dict)."""

from __future__ import annotations

from typing import Any

OURS, FLOOR = "inference-exp", "floor"
#: The floor again, run by inference-models' interpreter: its older ONNX Runtime without its library code.
PEER_FLOOR = "floor@inference-models"
#: (name, tool, reference, "max"/"min", threshold, batches); the ratio is tool time / reference time per repetition
TARGETS = (
    ("E2E <= 1.05x the ONNX Runtime floor", OURS, FLOOR, "max", 1.05, (1,)),
    (">= 1.5x faster than inference-models", "inference-models", OURS, "min", 1.5, (1, 8)),
    (">= 1.3x faster than Ultralytics", "ultralytics", OURS, "min", 1.3, (1, 8)),
)


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target per model and batch: the measured ratio, met or not, and why when not."""
    rows = {(r["model"], r["batch"], r["tool"]): r for r in report["e2e"]}
    found = []
    for name, tool, reference, kind, threshold, batches in TARGETS:
        for model in report["settings"]["models"]:
            for batch in batches:
                row = rows.get((model, batch, tool))
                key = "vs_floor" if reference == FLOOR else "vs_inference_exp"
                if row is None or key not in row:
                    missing = tool if row is None else reference
                    found.append({"target": name, "model": model, "batch": batch, "met": None,
                                  "why": f"not measured: {missing} did not run ({failure(report, missing)})"})
                    continue
                ratio = row[key]["median"]
                met = ratio <= threshold if kind == "max" else ratio >= threshold
                entry = {"target": name, "model": model, "batch": batch, "ratio": ratio, "threshold": threshold,
                         "met": met}
                if not met:
                    entry["why"] = explain(report, model, batch, tool, reference)
                found.append(entry)
    return found


def failure(report: dict[str, Any], tool: str) -> str:
    status = report["tools"].get(tool, {})
    return status.get("reason") or "; ".join(f"{k}: {v}" for k, v in status.get("failures", {}).items()) or "unknown"


def explain(report: dict[str, Any], model: str, batch: int, tool: str, reference: str) -> str:
    """Where the time goes, from the stage split measured in the same run."""
    stages = report["stages"].get(model, {}).get(str(batch), {})
    ours, other = stages.get(OURS), stages.get(tool if tool != OURS else reference)
    rows = {(r["model"], r["batch"], r["tool"]): r for r in report["e2e"]}
    if ours is None:
        return "no stage split of inference-exp"
    parts = ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in ours.items())
    if tool == OURS:  # against the floor
        floor = stages.get(FLOOR, {})
        deltas = ", ".join(f"{k} {(ours[k] - floor[k]) * 1e3:+.2f} ms" for k in ours if k in floor)
        return f"inference-exp stages: {parts}; minus the floor's: {deltas} (profile below)"
    ceiling, ours_ratio = (_ratio(rows, model, batch, t) for t in (tool, OURS))
    forward = stages.get(FLOOR, ours)["forward"]
    detail = f"; {tool} stages: " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in other.items()) if other else ""
    runtime = ""
    if tool == "inference-models" and (model, batch, PEER_FLOOR) in rows:
        runtime = (f"; the floor itself, run with inference-models' older ONNX Runtime ({PEER_FLOOR}), takes "
                   f"{_ratio(rows, model, batch, PEER_FLOOR):.2f}x the floor's time: that much of the gap is the "
                   f"runtime version, not the library")
    return (f"{tool} takes {ceiling:.2f}x the floor's time and inference-exp {ours_ratio:.2f}x; all run the same ONNX "
            f"graph ({forward * 1e3:.2f} ms forward pass in the floor), so even a pipeline as fast as the floor would be "
            f"only {ceiling:.2f}x faster than {tool}{runtime}; inference-exp stages: {parts}{detail}")


def _ratio(rows: dict[tuple[str, int, str], dict[str, Any]], model: str, batch: int, tool: str) -> float:
    return rows[(model, batch, tool)].get("vs_floor", {}).get("median", float("nan"))


def render(report: dict[str, Any]) -> str:
    """The report as Markdown: tables, agreement, tools, verdicts (and the profile when the floor target is missed)."""
    lines = [f"# inference-exp benchmarks, {report['date']}", "",
             f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
             f"{report['settings']['threads']} ONNX Runtime intra-op threads in every session; "
             f"load average at start {report['load_average']['start']}, end {report['load_average']['end']} "
             "(during the run it includes the benchmark's own ~2)"]
    if report.get("load_warning"):
        lines.append(f"WARNING: {report['load_warning']}")
    lines += ["", "## End to end (decoded BGR frames in, predictions out)", "",
              "| model | batch | tool | median ms | IQR ms | min-max ms | img/s | x floor (IQR) | inference-exp faster by |",
              "|---|---|---|---|---|---|---|---|---|"]
    for row in report["e2e"]:
        t = row["ms"]
        floor = row.get("vs_floor")
        vs_floor = f"{floor['median']:.3f} ({floor['q1']:.3f}-{floor['q3']:.3f})" if floor else "1"
        ours = row.get("vs_inference_exp")
        faster = f"{ours['median']:.2f}x ({ours['q1']:.2f}-{ours['q3']:.2f})" if ours else ""
        lines.append(f"| {row['model']} | {row['batch']} | {row['tool']} | {t['median']:.2f} | {t['q1']:.2f}-{t['q3']:.2f}"
                     f" | {t['min']:.2f}-{t['max']:.2f} | {row['images_per_s']:.1f} | {vs_floor} | {faster} |")
    lines += ["", "Stage medians (ms: pre-process / forward / post-process; ultralytics: its own `speed` record):"]
    for model, batches in report["stages"].items():
        for batch, tools in batches.items():
            split = "; ".join(f"{tool} " + " / ".join(f"{v * 1e3:.2f}" for v in stages.values())
                              for tool, stages in tools.items())
            lines.append(f"- {model} batch {batch}: {split}")
    lines += ["", "## Agreement with the floor (bus.jpg / zidane.jpg)", ""]
    for model, tools in report["agreement"].items():
        for tool, images in tools.items():
            text = "; ".join(
                f"{image}: {'ok' if c['agrees'] else 'DIFFERS'} ({c['detections']} det"
                + (f", boxes <= {c['max_box_diff_px']:.3f} px, scores <= {c['max_score_diff']:.1e}" if "max_box_diff_px" in c else "")
                + (f", mask IoU >= {c['min_mask_iou']:.3f}" if "min_mask_iou" in c else "")
                + (f", {c['why']}" if "why" in c else "") + ")"
                for image, c in images.items()
            )
            lines.append(f"- {model} / {tool}: {text}")
    if report["cold_start"]:
        lines += ["", "## Cold start (fresh process, warm file cache; medians over rounds, min-max)", "",
                  "| tool | import s | RSS after import MiB | import+load+1st predict s | RSS after 1st predict MiB "
                  "| x floor | x inference-exp |",
                  "|---|---|---|---|---|---|---|"]
        for tool, c in report["cold_start"].items():
            ratios = [c.get(key) for key in ("total_vs_floor", "total_vs_inference_exp")]
            lines.append(
                f"| {tool} | {c['import_s']['median']:.3f} ({c['import_s']['min']:.3f}-{c['import_s']['max']:.3f})"
                f" | {c['rss_after_import_mb']['median']:.0f} | {c['total_s']['median']:.3f} "
                f"({c['total_s']['min']:.3f}-{c['total_s']['max']:.3f}) | {c['rss_after_first_predict_mb']['median']:.0f} | "
                + " | ".join(f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})" if r else "" for r in ratios) + " |"
            )
    lines += ["", "## Tools", ""]
    for tool, status in report["tools"].items():
        if status.get("reason"):
            lines.append(f"- {tool}: UNAVAILABLE: {status['reason']}")
            continue
        versions = ", ".join(f"{k} {v}" for k, v in status.get("versions", {}).items())
        sessions = status.get("onnxruntime_sessions") or []
        asked = ", ".join(
            f"{'own SessionOptions' if s['own_session_options'] else 'no SessionOptions'}, "
            f"asked {s['requested_intra_op_num_threads'] or 'default'} threads, {s['graph_optimization_level']}"
            for s in sessions[:1]
        )
        installed = f" (its venv took {status['install_s']:.0f} s to install)" if status.get("install_s") else ""
        lines.append(f"- {tool}: {versions}" + (f"; ONNX Runtime session: {asked}" if asked else "") + installed)
        for where, error in status.get("failures", {}).items():
            lines.append(f"  - FAILED ({where}): {error}")
    lines += ["", "## Targets", ""]
    for v in report["targets"]:
        if v["met"] is None:
            lines.append(f"- {v['target']} ({v['model']}, batch {v['batch']}): NOT MEASURED: {v['why']}")
            continue
        verdict = "met" if v["met"] else "MISSED"
        lines.append(f"- {v['target']} ({v['model']}, batch {v['batch']}): {v['ratio']:.3f} -> {verdict}"
                     + (f"\n  why: {v['why']}" if not v["met"] else ""))
    if any(v["met"] is False and v["target"].startswith("E2E") for v in report["targets"]):
        for model, text in report["profiles"].items():
            lines += ["", f"cProfile of inference-exp, {model}, batch 1 (top functions by own time):", "```",
                      *[line for line in text.splitlines() if line.strip()][:40], "```"]
    return "\n".join(lines)
