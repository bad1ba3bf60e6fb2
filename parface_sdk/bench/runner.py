"""Timed runs of the pipeline stages: detect, crop, network (encoder+decoder, depth), decode.

Every frame goes through :mod:`parface_sdk.pipeline`, the code ``Aligner.align`` runs, with the
Aligner's rules (its score threshold, its re-crop pass): the detect stage is
:func:`~parface_sdk.pipeline.faces_from_detections`, the crop / network / decode stages are timed
inside :func:`~parface_sdk.pipeline.run` by the backend adapter, and the results stage is
:func:`~parface_sdk.pipeline.to_results`. ``batch`` repeats the best face so the network batch size
is exact. ``Aligner.align`` is timed separately, and the report says whether the stages add up to it.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parface_sdk import pipeline
from parface_sdk.bench.models import load_model, macs_by_stage
from parface_sdk.bench.peak import measure_peak
from parface_sdk.bench.report import BenchReport, StageStats, library_versions, machine_info, now_iso
from parface_sdk.options import AlignerOptions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchConfig:
    engine: str = "ort"
    device: str = "cpu"
    batch: int = 1
    variant: str = "light"
    model: Path | None = None
    frames: int = 200
    warmup: int = 20
    threads: int | None = 1
    image: Path | None = None
    detector: str = "auto"
    graph: str = "crop"
    precision: str = "fp32"
    aligner: bool = True
    recrop: bool = AlignerOptions().recrop
    score_threshold: float = AlignerOptions().score_threshold
    peak: bool = True
    progress: bool = True


def _progress(iterable, total: int, label: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=label, unit="frame", leave=False)


class _Timer:
    def __init__(self, names: list[str]):
        self.samples: dict[str, list[float]] = {name: [] for name in names}

    def stats(self) -> dict[str, StageStats]:
        return {name: StageStats.of(values) for name, values in self.samples.items() if values}


def _fallback_box(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    half = 0.225 * min(height, width)
    return np.array([width / 2 - half, height / 2 - half, width / 2 + half, height / 2 + half])


def _time_pipeline(config: BenchConfig, model, detector, image: np.ndarray, notes: dict) -> _Timer:
    spec = model.backend.spec
    timer = _Timer(["detect", "crop", "network", "decode", "results", "end_to_end"])
    fallback = pipeline.faces_from_boxes([[_fallback_box(image)]], spec)
    found_faces = 0
    total = config.warmup + config.frames
    for index in _progress(range(total), total, f"{config.engine} pipeline", config.progress):
        start = time.perf_counter()
        if detector is not None:
            batch = pipeline.faces_from_detections(detector, [image], spec, config.score_threshold)
        else:
            batch = fallback
        detected = time.perf_counter()
        found_faces = len(batch)
        batch = (batch if len(batch) else fallback).take(np.zeros(config.batch, np.int64))
        timings: dict[str, float] = {}
        batch, landmarks, confidence = pipeline.run(
            model.backend, [image], batch, recrop=config.recrop, batch_size=config.batch, timings=timings
        )
        ran = time.perf_counter()
        pipeline.to_results([image], batch, landmarks, confidence)
        end = time.perf_counter()
        if index >= config.warmup:
            timer.samples["detect"].append(detected - start)
            for name, value in timings.items():
                timer.samples[name].append(value)
            timer.samples["results"].append(end - ran)
            timer.samples["end_to_end"].append(end - start)
    passes = "two passes (recrop on, as Aligner.align)" if config.recrop else "one pass (recrop off)"
    notes["network"] = f"{passes}; the crop, network and decode stages sum over the passes"
    if spec.graph == "frame":
        notes["network"] += "; frame graph: the crop, the network and the map back in one call"
    if detector is None:
        del timer.samples["detect"]
        notes["detect"] = "no detector: a fixed box"
    elif not found_faces:
        notes["detect"] = "the detector found no face in the frame; a fixed box was cropped"
    return timer


def _time_depth_split(config: BenchConfig, net, batch: np.ndarray) -> dict[str, StageStats]:
    """Encoder+decoder heatmaps and the depth head as separate timed calls (torch engines only),
    in the benchmark's precision."""
    import torch

    device = next(net.parameters()).device
    crops = torch.from_numpy(batch).to(device)
    encode, depth = [], []
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(config.precision)
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        for index in range(config.warmup + config.frames):
            start = time.perf_counter()
            z, heatmaps = net.heatmaps(crops)
            sync()
            middle = time.perf_counter()
            net.depth(heatmaps, z)
            sync()
            end = time.perf_counter()
            if index >= config.warmup:
                encode.append(middle - start)
                depth.append(end - middle)
    return {"network.encoder_decoder": StageStats.of(encode), "depth": StageStats.of(depth)}


def _time_aligner(config: BenchConfig, model_path: Path, image: np.ndarray) -> dict[str, Any]:
    """``Aligner.align`` on the frame as shipped (recrop on), and with one pass (recrop off)."""
    from parface_sdk.aligner import Aligner
    from parface_sdk.bench.models import ENGINE_BACKENDS
    from parface_sdk.options import AlignerOptions

    backend = ENGINE_BACKENDS[config.engine]
    results: dict[bool, tuple[StageStats, int]] = {}
    for recrop in (config.recrop, not config.recrop):
        options = AlignerOptions(
            backend=backend,
            device=config.device,
            detector=config.detector,
            threads=config.threads,
            recrop=recrop,
            precision=config.precision,
        )
        times, faces = [], 0
        with Aligner(model_path, options) as aligner:
            total = config.warmup + config.frames
            label = f"Aligner.align recrop={recrop}"
            for index in _progress(range(total), total, label, config.progress):
                start = time.perf_counter()
                result = aligner.align(image, color="RGB")
                if index >= config.warmup:
                    times.append(time.perf_counter() - start)
                faces = len(result.faces)
        results[recrop] = (StageStats.of(times), faces)
    stats, faces = results[config.recrop]
    return {
        **stats.model_dump(),
        "faces": faces,
        "recrop": config.recrop,
        "detector": config.detector,
        "single_pass": results[False][0].model_dump(),
        "two_pass": results[True][0].model_dump(),
    }


def stages_add_up(stages: dict[str, StageStats], aligner: dict[str, Any], batch: int) -> dict[str, Any]:
    """Whether the timed stages account for what ``Aligner.align`` costs (same rules, batch 1).

    The Aligner adds image validation and colour conversion; 20 % or 2 ms is allowed for those
    and for timer noise."""
    parts = sum(
        stages[name].median_ms
        for name in ("detect", "crop", "network", "decode", "results")
        if name in stages
    )
    gap = aligner["median_ms"] - parts
    return {
        "stages_sum_ms": parts,
        "aligner_ms": aligner["median_ms"],
        "gap_ms": gap,
        "add_up": batch == 1 and abs(gap) <= max(2.0, 0.2 * aligner["median_ms"]),
    }


def run_benchmark(config: BenchConfig, image: np.ndarray, image_label: str) -> BenchReport:
    """Run one scenario and return its report (raises BackendUnavailableError if the engine cannot run)."""
    if config.threads:
        import cv2

        cv2.setNumThreads(config.threads)
        try:
            import torch

            torch.set_num_threads(config.threads)
        except ImportError:
            pass
    notes: dict[str, str] = {}
    machine = machine_info(config.device, config.threads)  # load average before the run
    with tempfile.TemporaryDirectory(prefix="parface-bench-") as workdir:
        model = load_model(
            config.engine,
            config.variant,
            config.model,
            config.device,
            config.threads,
            Path(workdir),
            config.graph,
            config.precision,
        )
        spec = model.backend.spec
        detector = None
        if config.detector != "none":
            from parface_sdk.detect import create_detector

            # The detector runs where the network runs (`--engine trt` is on the GPU even when
            # --device is left at cpu).
            detector = create_detector(config.detector, device=model.backend.device, threads=config.threads)
            notes["detector"] = detector.name
        timer = _time_pipeline(config, model, detector, image, notes)
        stages = timer.stats()
        if model.net is not None:
            batch = np.zeros((config.batch, 3, spec.input_size, spec.input_size), np.float32)
            stages.update(_time_depth_split(config, model.net, batch))
            notes["depth"] = (
                "depth head timed in separate calls (with network.encoder_decoder); "
                "the network stage includes it"
            )
        else:
            notes["depth"] = "inside the exported network graph: included in the network stage"
        aligner = None
        if config.aligner:
            aligner = _time_aligner(config, model.path, image)
            aligner["stages"] = stages_add_up(stages, aligner, config.batch)
            if config.batch != 1:
                notes["aligner"] = "the stages add up to Aligner.align only at batch 1 (one face per frame)"
        model.backend.close()
    macs = macs_by_stage(spec)
    network_s = stages["network"].median_ms / 1e3
    throughput = {
        "network_ms_per_face": stages["network"].median_ms / config.batch,
        "faces_per_s_network": config.batch / network_s,
        "faces_per_s_end_to_end": config.batch / (stages["end_to_end"].median_ms / 1e3),
    }
    model_info: dict[str, Any] = {
        "variant": spec.variant,
        "input_size": spec.input_size,
        "label": model.label,
        "graph": spec.graph,
    }
    if macs:
        model_info.update(
            parameters=macs.pop("parameters"), macs_per_face=macs, gflops_per_face=2 * macs["total"] / 1e9
        )
    peak = measure_peak(config.device, config.threads) if config.peak else None
    fraction = None
    if peak and macs:
        fraction = model_info["gflops_per_face"] * throughput["faces_per_s_network"] / peak["gflops"]
    scenario = {
        "engine": config.engine,
        "device": config.device,
        "batch": config.batch,
        "frames": config.frames,
        "warmup": config.warmup,
        "threads": config.threads,
        "detector": config.detector,
        "graph": spec.graph,
        "precision": config.precision,
        "image": image_label,
        "image_size": [int(image.shape[1]), int(image.shape[0])],
        "model": str(config.model) if config.model else None,
        "providers": getattr(model.backend, "providers", None),
    }
    if peak and peak.get("device_name"):
        machine["gpu"] = peak["device_name"]
    return BenchReport(
        created=now_iso(),
        scenario=scenario,
        model=model_info,
        stages=stages,
        stage_notes=notes,
        throughput=throughput,
        aligner=aligner,
        peak=peak,
        fraction_of_peak=fraction,
        machine=machine,
        versions=library_versions(),
    )
