"""Table-driven negotiation: imaginary machines and package lists → the chosen package, the candidate order and
every rejected package with (fragments of) its reasons."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from negotiation_builders import (
    CPU_BOX,
    CPU_OLD_ONNXRUNTIME,
    CPU_ONLY_TRT_PYTHONLESS,
    CPU_WITHOUT_ONNXRUNTIME,
    L4_SERVER,
    NMS_DEFAULTS,
    ORIN_NX,
    TWO_GPU_SERVER,
    hf,
    metadata,
    onnx,
    torch_package,
    torchscript,
    trt,
    ultralytics,
    unusable,
)

from inference_exp.negotiation import NegotiationRequest, Verdict, evaluate_packages
from inference_exp.packages.manifests import ModelPackage, UnusablePackage

ORIN_NX_X = ("nvidia-jetson-orin-nx", "36.4.3")


@dataclass
class Case:
    name: str
    machine: Any
    packages: list[ModelPackage | UnusablePackage]
    chosen: str | None
    rejected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order: list[str] | None = None
    request: dict[str, Any] = field(default_factory=dict)


CASES = [
    # --- ONNX: opset vs onnxruntime, installation, providers -------------------------------------------------
    Case(
        "old onnxruntime limits the opset",
        CPU_OLD_ONNXRUNTIME,
        [onnx("a", opset=20), onnx("b", opset=19)],
        chosen="b",
        rejected={"a": ("opset 20", "onnxruntime 1.16.3 supports up to 19")},
    ),
    Case(
        "onnxruntime newer than the table keeps the newest row and prefers higher opsets",
        CPU_BOX,
        [onnx("a", opset=24), onnx("b", opset=23), onnx("c", opset=17)],
        chosen="b",
        order=["b", "c"],
        rejected={"a": ("opset 24", "supports up to 23")},
    ),
    Case(
        "requested backend whose runtime is not installed",
        CPU_WITHOUT_ONNXRUNTIME,
        [onnx("a"), torch_package("t")],
        request={"backend": "onnx"},
        chosen=None,
        rejected={
            "a": ("onnxruntime is not installed", "inference-exp[onnx-cpu]"),
            "t": ("backend torch was not requested",),
        },
    ),
    Case(
        "requested providers that onnxruntime does not have",
        CPU_BOX,
        [onnx("a"), torch_package("t")],
        request={"onnx_execution_providers": ["TensorrtExecutionProvider"]},
        chosen="t",
        rejected={"a": ("none of the requested ONNX execution providers is available",)},
    ),
    Case(
        "package incompatible with the first selected provider",
        L4_SERVER,
        [onnx("a", incompatible=["CUDAExecutionProvider"]), onnx("b")],
        chosen="b",
        rejected={
            "a": (
                "does not work with CUDAExecutionProvider",
                "onnx_execution_providers=['CPUExecutionProvider']",
            )
        },
    ),
    Case(
        "providers given as (name, options) are compared by name",
        L4_SERVER,
        [onnx("a", incompatible=["CUDAExecutionProvider"])],
        request={
            "onnx_execution_providers": [
                ("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})
            ]
        },
        chosen="a",
    ),
    Case(
        "fewer incompatible available providers rank first",
        L4_SERVER,
        [onnx("a", incompatible=["TensorrtExecutionProvider"]), onnx("b")],
        chosen="b",
        order=["b", "a"],
    ),
    # --- backend order and preference lists ---------------------------------------------------------------------
    Case(
        "default order on a CPU box: torch, ONNX, TorchScript",
        CPU_BOX,
        [onnx("a"), torch_package("t"), torchscript("s")],
        chosen="t",
        order=["t", "a", "s"],
    ),
    Case(
        "backend list is an ordered preference",
        CPU_BOX,
        [onnx("a"), torch_package("t"), torchscript("s")],
        request={"backend": ["onnx", "torch"]},
        chosen="a",
        order=["a", "t"],
        rejected={"s": ("backend torch-script was not requested (backend=onnx, torch)",)},
    ),
    Case(
        "hf is accepted as Hugging Face",
        CPU_BOX,
        [hf("h"), onnx("a")],
        request={"backend": "hf"},
        chosen="h",
        rejected={"a": ("backend onnx was not requested (backend=hugging-face)",)},
    ),
    # --- TensorRT on a server -------------------------------------------------------------------------------------
    Case(
        "L4 with TensorRT 10.12 prefers its exact engine",
        L4_SERVER,
        [onnx("a"), torch_package("t"), trt("e")],
        chosen="e",
        order=["e", "t", "a"],
    ),
    Case(
        "same-CC engine from another GPU of compute capability 8.9",
        L4_SERVER,
        [
            trt("g", device="nvidia-geforce-rtx-4090", cc="8.9", same_cc=True),
            trt("x", device="nvidia-a10g", cc="8.6", same_cc=True),
        ],
        chosen="g",
        rejected={"x": ("compute capability 8.6", "nvidia-l4 (CC 8.9)")},
    ),
    Case(
        "engine compiled for another GPU model",
        L4_SERVER,
        [trt("t4", device="tesla-t4", cc="7.5"), onnx("a")],
        chosen="a",
        rejected={"t4": ("compiled for tesla-t4 (CC 7.5) only",)},
    ),
    Case(
        "engine of another TensorRT release needs exactly that release",
        L4_SERVER,
        [trt("old", trt_version="10.4.0.26"), trt("cur")],
        chosen="cur",
        rejected={
            "old": ("built with TensorRT 10.4.0.26 and needs exactly that release", "installed 10.12.0.36")
        },
    ),
    Case(
        "forward-compatible engines run on equal or newer TensorRT only",
        L4_SERVER,
        [
            trt("fwdold", trt_version="10.4.0.26", forward_compatible=True),
            trt("fwdnew", trt_version="10.14.1.48", forward_compatible=True),
        ],
        chosen="fwdold",
        rejected={"fwdnew": ("needs TensorRT 10.14.1.48 or newer",)},
    ),
    Case(
        "exact engines rank before version-compatible ones",
        L4_SERVER,
        [trt("a", forward_compatible=True), trt("b")],
        chosen="b",
        order=["b", "a"],
    ),
    Case(
        "version-compatible engine without lean runtime",
        L4_SERVER,
        [trt("lean", forward_compatible=True, lean_excluded=True, trt_version="10.4.0.26"), onnx("a")],
        chosen="a",
        rejected={"lean": ("built without the lean runtime are not supported",)},
    ),
    Case(
        "host code forbidden rejects engines embedding the lean runtime",
        L4_SERVER,
        [trt("fwd", forward_compatible=True, trt_version="10.4.0.26"), torch_package("t")],
        request={"trt_engine_host_code_allowed": False},
        chosen="t",
        rejected={"fwd": ("runs host code", "trt_engine_host_code_allowed=True")},
    ),
    Case(
        "a dpkg .post1 suffix does not break exact TensorRT equality",
        L4_SERVER,
        [trt("p", trt_version="10.12.0.36.post1")],
        chosen="p",
    ),
    Case(
        "newest CUDA not above the machine's first",
        L4_SERVER,
        [trt("c126", cuda="12.6"), trt("c128", cuda="12.8"), trt("c129", cuda="12.9")],
        chosen="c128",
        order=["c128", "c126", "c129"],
    ),
    Case(
        "TensorRT missing on a CPU box: every reason is listed",
        CPU_BOX,
        [trt("e"), onnx("a")],
        chosen="a",
        rejected={
            "e": (
                "quantization fp16 is not among the defaults for device cpu",
                "TensorRT is not installed",
                "inference-exp[trt10]",
                "TensorRT engines run on CUDA devices, not on device cpu",
            )
        },
    ),
    Case(
        "TensorRT without its Python package",
        CPU_ONLY_TRT_PYTHONLESS,
        [trt("e"), torch_package("t")],
        chosen="t",
        rejected={"e": ("TensorRT 10.12.0.36 is installed but its Python package is not importable",)},
    ),
    Case(
        "device cuda:1 designates the second GPU",
        TWO_GPU_SERVER,
        [trt("l4"), trt("a10", device="nvidia-a10g", cc="8.6")],
        request={"device": "cuda:1"},
        chosen="a10",
        rejected={"l4": ("compiled for nvidia-l4", "cuda:1 is nvidia-a10g (CC 8.6)")},
    ),
    Case(
        "TensorRT engines need a CUDA device",
        L4_SERVER,
        [trt("e", quantization="fp32"), onnx("a")],
        request={"device": "cpu"},
        chosen="a",
        rejected={"e": ("not on device cpu",)},
    ),
    # --- Jetson -----------------------------------------------------------------------------------------------------
    Case(
        "Jetson engine on a server",
        L4_SERVER,
        [trt("j", device="orin", cc="8.7", jetson=ORIN_NX_X), torch_package("t")],
        chosen="t",
        rejected={
            "j": ("compiled on a Jetson", "this machine is not a Jetson", "compiled for orin (CC 8.7) only")
        },
    ),
    Case(
        "server engine on a Jetson",
        ORIN_NX,
        [trt("s", device="orin", cc="8.7", trt_version="10.3.0.30"), torch_package("t")],
        chosen="t",
        rejected={"s": ("compiled on a GPU server; this machine is a Jetson",)},
    ),
    Case(
        "L4T major.minor must match",
        ORIN_NX,
        [
            trt(
                "old",
                device="orin",
                cc="8.7",
                trt_version="10.3.0.30",
                jetson=("nvidia-jetson-orin-nx", "35.4.1"),
            ),
            trt(
                "ok",
                device="orin",
                cc="8.7",
                trt_version="10.3.0.30",
                jetson=("nvidia-jetson-orin-nx", "36.4.0"),
            ),
        ],
        chosen="ok",
        rejected={"old": ("compiled for L4T 35.4.1, this Jetson runs L4T 36.4.3",)},
    ),
    Case(
        "engines of the same Jetson module rank first",
        ORIN_NX,
        [
            trt(
                "agx",
                device="orin",
                cc="8.7",
                trt_version="10.3.0.30",
                jetson=("nvidia-jetson-agx-orin", "36.4.3"),
            ),
            trt("nx", device="orin", cc="8.7", trt_version="10.3.0.30", jetson=ORIN_NX_X),
        ],
        chosen="nx",
        order=["nx", "agx"],
    ),
    Case(
        "Jetson whose L4T version is hidden",
        replace(ORIN_NX, l4t_version=None),
        [trt("j", device="orin", cc="8.7", trt_version="10.3.0.30", jetson=ORIN_NX_X), torch_package("t")],
        chosen="t",
        rejected={"j": ("L4T version is unknown - set L4T_VERSION",)},
    ),
    # --- TorchScript and torch ------------------------------------------------------------------------------------
    Case(
        "TorchScript: torch version and device types",
        CPU_OLD_ONNXRUNTIME,
        [torchscript("new", torch_version="2.5.0"), torchscript("gpu", devices=("cuda",)), torchscript("ok")],
        request={"backend": "torch-script"},
        chosen="ok",
        rejected={
            "new": ("needs torch >= 2.5.0, installed 2.1.0",),
            "gpu": ("runs on cuda, not on device cpu",),
        },
    ),
    Case(
        "TorchScript needing torchvision",
        CPU_BOX,
        [torchscript("tv", torchvision_version="0.20.0"), torchscript("ok")],
        chosen="ok",
        rejected={"tv": ("torchvision >= 0.20.0, which is not installed",)},
    ),
    Case(
        "cuda requested where torch cannot use it",
        CPU_BOX,
        [torch_package("t"), onnx("a")],
        request={"device": "cuda"},
        chosen="a",
        rejected={"t": ("device cuda was requested but torch 2.13.0 cannot use CUDA here",)},
    ),
    # --- batch size -------------------------------------------------------------------------------------------------
    Case(
        "TensorRT batch bounds",
        L4_SERVER,
        [trt("small", bounds=(1, 8, 16)), trt("big", bounds=(1, 16, 64))],
        request={"batch_size": 32},
        chosen="big",
        rejected={"small": ("accepts batches of 1-16, requested batch_size=32",)},
    ),
    Case(
        "static batch vs requested batch",
        CPU_BOX,
        [onnx("st", dynamic=False, static=1), onnx("dyn")],
        request={"batch_size": 4},
        chosen="dyn",
        rejected={"st": ("static batch size of 1, requested batch_size=4",)},
    ),
    Case(
        "static batch inside a requested range",
        CPU_BOX,
        [torchscript("s4", static=4), onnx("s16", dynamic=False, static=16)],
        request={"batch_size": (1, 8)},
        chosen="s4",
        rejected={"s16": ("static batch size of 16, requested batch_size=1-8",)},
    ),
    Case(
        "dynamic batch first, then smaller static batches",
        CPU_BOX,
        [onnx("s8", dynamic=False, static=8), onnx("s2", dynamic=False, static=2), onnx("dyn")],
        chosen="dyn",
        order=["dyn", "s2", "s8"],
    ),
    Case(
        "packages without batch information match any batch request",
        CPU_BOX,
        [hf("h"), torchscript("s", static=1)],
        request={"batch_size": (2, 4)},
        chosen="h",
        rejected={"s": ("static batch size of 1, requested batch_size=2-4",)},
    ),
    # --- quantization -----------------------------------------------------------------------------------------------
    Case(
        "CPU defaults: fp32, unknown, bf16",
        CPU_BOX,
        [
            onnx("h16", quantization="fp16"),
            onnx("f32"),
            onnx("b16", quantization="bf16"),
            onnx("q8", quantization="int8"),
        ],
        chosen="f32",
        order=["f32", "b16"],
        rejected={
            "h16": ("quantization fp16 is not among the defaults for device cpu", "quantization='fp16'"),
            "q8": ("quantization int8 is not among the defaults for device cpu",),
        },
    ),
    Case(
        "GPU defaults: fp16 first, no bf16, never int8",
        L4_SERVER,
        [
            onnx("h16", quantization="fp16"),
            onnx("f32"),
            onnx("b16", quantization="bf16"),
            onnx("q8", quantization="int8"),
        ],
        chosen="h16",
        order=["h16", "f32"],
        rejected={
            "b16": ("quantization bf16 is not among the defaults for device cuda",),
            "q8": ("quantization int8 is not among the defaults for device cuda",),
        },
    ),
    Case(
        "int8 only when asked, in the asked order",
        L4_SERVER,
        [onnx("h16", quantization="fp16"), onnx("f32"), onnx("q8", quantization="int8")],
        request={"quantization": ["int8", "fp16"]},
        chosen="q8",
        order=["q8", "h16"],
        rejected={"f32": ("quantization fp32 was not requested (quantization=int8, fp16)",)},
    ),
    # --- trust ------------------------------------------------------------------------------------------------------
    Case(
        "untrusted packages are rejected by default",
        CPU_BOX,
        [onnx("u", trusted=False), onnx("t")],
        chosen="t",
        rejected={"u": ("not from a trusted source", "allow_untrusted_packages=True")},
    ),
    Case(
        "allowed untrusted packages still rank after trusted ones",
        CPU_BOX,
        [onnx("a", trusted=False), onnx("b")],
        request={"allow_untrusted_packages": True},
        chosen="b",
        order=["b", "a"],
    ),
    # --- NMS fusion ---------------------------------------------------------------------------------------------------
    Case(
        "fused NMS is rejected unless asked for",
        CPU_BOX,
        [onnx("f", features={"nms_fused": NMS_DEFAULTS}), onnx("p")],
        chosen="p",
        rejected={"f": ("NMS fused into the graph", "nms_fusion_preferences=True")},
    ),
    Case(
        "nms_fusion_preferences=True prefers fused packages with the default parameters",
        CPU_BOX,
        [
            onnx("f", features={"nms_fused": NMS_DEFAULTS}),
            onnx("p"),
            onnx("g", features={"nms_fused": {**NMS_DEFAULTS, "iou_threshold": 0.5}}),
        ],
        request={"nms_fusion_preferences": True},
        chosen="f",
        order=["f", "p"],
        rejected={"g": ("iou_threshold=0.5 (requested 0.7)",)},
    ),
    Case(
        "NMS constraint ranges: inside accepted, centre preferred",
        CPU_BOX,
        [
            onnx("f7", features={"nms_fused": NMS_DEFAULTS}),
            onnx("f45", features={"nms_fused": {**NMS_DEFAULTS, "iou_threshold": 0.45}}),
            onnx("f5", features={"nms_fused": {**NMS_DEFAULTS, "iou_threshold": 0.5}}),
        ],
        request={"nms_fusion_preferences": {"iou_threshold": (0.6, 0.4)}},
        chosen="f5",
        order=["f5", "f45"],
        rejected={"f7": ("iou_threshold=0.7 (requested 0.4-0.6)",)},
    ),
    Case(
        "malformed nms_fused feature",
        CPU_BOX,
        [onnx("m", features={"nms_fused": {"max_detections": 300}}), onnx("p")],
        request={"nms_fusion_preferences": True},
        chosen="p",
        rejected={"m": ("malformed nms_fused model feature",)},
    ),
    # --- implementations and unusable entries -------------------------------------------------------------------
    Case(
        "no implementation for the backend or the declared features",
        CPU_BOX,
        [ultralytics("u"), torch_package("t", features={"nms_fused": NMS_DEFAULTS}), onnx("a")],
        chosen="a",
        rejected={
            "u": ("no ultralytics implementation of testnet",),
            "t": ("declares model features it does not support: nms_fused", "nms_fusion_preferences=True"),
        },
    ),
    Case(
        "malformed and unknown packages are listed as rejected",
        CPU_BOX,
        [
            onnx("a"),
            unusable("broken", "malformed package: packageManifest.opset: Field required"),
            unusable("#2", "manifest type 'x' is not supported"),
        ],
        chosen="a",
        rejected={"broken": ("malformed package",), "#2": ("not supported",)},
    ),
    # --- model_package_id -----------------------------------------------------------------------------------------
    Case(
        "model_package_id skips every check but trust",
        CPU_BOX,
        [onnx("h16", quantization="fp16"), onnx("f32")],
        request={"model_package_id": "h16"},
        chosen="h16",
        rejected={"f32": ("not the requested package (model_package_id=h16)",)},
    ),
    Case(
        "model_package_id that does not exist",
        CPU_BOX,
        [onnx("a"), onnx("b")],
        request={"model_package_id": "zzz"},
        chosen=None,
        rejected={"a": ("not the requested package",), "b": ("not the requested package",)},
    ),
    Case(
        "model_package_id of an untrusted package",
        CPU_BOX,
        [onnx("u", trusted=False), onnx("b")],
        request={"model_package_id": "u"},
        chosen=None,
        rejected={"u": ("not from a trusted source",), "b": ("not the requested package",)},
    ),
]


@pytest.fixture(autouse=True)
def _default_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONNXRUNTIME_EXECUTION_PROVIDERS", raising=False)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_negotiation_case(case: Case) -> None:
    decision = evaluate_packages(
        metadata(*case.packages), NegotiationRequest.from_arguments(**case.request), environment=case.machine
    )
    chosen = decision.chosen.package_id if decision.chosen is not None else None
    assert chosen == case.chosen, decision.describe()
    if case.order is not None:
        assert [p.package_id for p in decision.candidates] == case.order, decision.describe()

    rejected = {v.package_id: v for v in decision.verdicts if v.verdict is Verdict.REJECTED}
    assert set(rejected) == set(case.rejected), decision.describe()
    for package_id, fragments in case.rejected.items():
        reasons = " | ".join(rejected[package_id].reasons)
        for fragment in fragments:
            assert fragment in reasons, f"{package_id}: {fragment!r} not in {reasons!r}"
    # every package appears exactly once
    all_ids = [p.package_id for p in case.packages]
    assert sorted(v.package_id for v in decision.verdicts) == sorted(all_ids)
