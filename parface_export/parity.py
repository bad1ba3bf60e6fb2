"""Parity of exported graphs with PyTorch, on real faces cropped exactly as the runtime crops them.

``check_parity`` compares an ONNX crop graph with the PyTorch network; ``check_frame_parity``
compares the frame graph (crop inside the model, GridSample) with the runtime's CPU path
(:mod:`parface_sdk.pipeline` with the PyTorch network: ``cv2.warpAffine`` crop, network, map
back). Both return a :class:`ParityReport` with the measured differences in pixels.

Near-ties: the soft-argmax centres its window on the heatmap's arg-max, so when the two highest
heatmap cells are within rounding of each other, any perturbation (float16 weights, the uint8
rounding of a cv2 crop) can move the window to the other cell and the landmark jumps. That is a
property of the heatmap, not an export error: such landmarks (relative peak margin below
``tie_margin``) are counted and reported, and the tolerance applies to all the others. Untrained
(seeded) networks have many near-ties; trained ones few.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, computed_field

from parface_sdk import crop, pipeline
from parface_sdk.backends.graph_io import CROPS_INPUT, FRAME_INPUT, TRANSFORMS_INPUT
from parface_sdk.geometry import read_pts
from parface_sdk.image import load_image
from parface_sdk.spec import ModelSpec

logger = logging.getLogger(__name__)

FP32_TOLERANCE_PX = 1e-3
FP16_TOLERANCE_PX = 0.05
MAX_CROP_DIFF = 1.0  # grey levels: cv2 rounds its crops to uint8, GridSample does not
# Relative peak margins below which a perturbation of this size can flip the arg-max.
TIE_MARGIN = {"fp32": 1e-4, "fp16": 1e-3}


class ParityReport(BaseModel):
    """Measured differences between an exported graph and the reference path."""

    model_config = ConfigDict(frozen=True)

    graph: str
    precision: str
    faces: int
    max_landmark_diff_px: float
    mean_landmark_diff_px: float
    max_confidence_diff: float
    tolerance_px: float
    landmarks: int
    near_ties: int  # landmarks whose two highest heatmap cells differ by less than tie_margin
    tie_margin: float
    max_clear_diff_px: float  # max difference over the landmarks that are not near-ties
    # Frame graphs only: agreement with the CPU crop path (cv2 crop rounded to uint8).
    max_crop_diff: float | None = None  # grey levels of 255
    cpu_path_mean_diff_px: float | None = None
    cpu_path_max_diff_px: float | None = None

    @computed_field
    @property
    def passed(self) -> bool:
        crop_ok = self.max_crop_diff is None or self.max_crop_diff <= MAX_CROP_DIFF
        return self.max_clear_diff_px < self.tolerance_px and crop_ok


@dataclass(frozen=True)
class FaceSample:
    """One real face: the RGB image, its 68 ground-truth points and the training crop transform."""

    image: np.ndarray
    landmarks: np.ndarray
    transform: np.ndarray


def real_faces(folder: str | Path, spec: ModelSpec, count: int = 8) -> list[FaceSample]:
    """The first ``count`` annotated faces of a 300-W style folder, with their training crops."""
    samples = []
    for pts in sorted(Path(folder).glob("*.pts"))[:count]:
        image_path = next(p for p in pts.parent.glob(pts.stem + ".*") if p.suffix != ".pts")
        points = read_pts(pts).astype(np.float64)
        transform = pipeline.faces_from_landmarks([[points]], spec).transforms[0]
        samples.append(FaceSample(load_image(image_path), points, transform))
    if not samples:
        raise FileNotFoundError(f"no .pts files with images in {folder}")
    return samples


def cpu_crops(samples: list[FaceSample], spec: ModelSpec) -> np.ndarray:
    """The runtime's crop path: cv2 bilinear warp, then normalisation to (B, 3, S, S) float32."""
    crops = np.stack([crop.warp(s.image, s.transform, spec.input_size) for s in samples])
    return crop.normalize(crops, spec.mean, spec.std)


def _torch_run(net, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Landmarks, confidence and each heatmap's relative peak margin (B, N)."""
    import torch

    with torch.inference_mode():
        inputs = torch.from_numpy(crops)
        landmarks, confidence = net.eval()(inputs)
        _, heatmaps = net.heatmaps(inputs)
    ordered = np.sort(heatmaps.flatten(2).numpy().astype(np.float64), axis=2)
    margin = (ordered[..., -1] - ordered[..., -2]) / np.maximum(ordered[..., -1] - ordered[..., 0], 1e-12)
    return landmarks.numpy().astype(np.float64), confidence.numpy().astype(np.float64), margin


def _pipeline_run(net, sample: FaceSample) -> np.ndarray:
    """The runtime's own path (:func:`parface_sdk.pipeline.infer`) on the PyTorch network."""
    from parface_sdk.backends.torch import TorchBackend

    batch = pipeline.faces_from_landmarks([[sample.landmarks]], net.spec)
    landmarks, _ = pipeline.infer(TorchBackend.from_module(net), [sample.image], batch)
    return landmarks.astype(np.float64)


def _report(
    graph, precision, expected, actual, tolerance, tie_margin, crop_diff=None, cpu_path=(None, None)
) -> ParityReport:
    per_landmark = np.abs(expected[0] - actual[0]).max(axis=2)
    ties = expected[2] < tie_margin
    clear = per_landmark[~ties]
    report = ParityReport(
        graph=graph,
        precision=precision,
        faces=len(expected[0]),
        max_landmark_diff_px=float(per_landmark.max()),
        mean_landmark_diff_px=float(np.abs(expected[0] - actual[0]).mean()),
        max_confidence_diff=float(np.abs(expected[1] - actual[1]).max()),
        tolerance_px=tolerance,
        landmarks=per_landmark.size,
        near_ties=int(ties.sum()),
        tie_margin=tie_margin,
        max_clear_diff_px=float(clear.max()) if clear.size else 0.0,
        max_crop_diff=crop_diff,
        cpu_path_mean_diff_px=cpu_path[0],
        cpu_path_max_diff_px=cpu_path[1],
    )
    logger.info(
        "parity %s/%s on %d faces: max %.2e px (%.2e px without the %d near-ties), mean %.2e px "
        "(tolerance %g)",
        graph,
        precision,
        report.faces,
        report.max_landmark_diff_px,
        report.max_clear_diff_px,
        report.near_ties,
        report.mean_landmark_diff_px,
        tolerance,
    )
    return report


def _session(onnx_path: str | Path):
    from parface_sdk.backends.ort_session import make_session

    return make_session(onnx_path, device="cpu", threads=1)


def check_parity(
    net, onnx_path: str | Path, crops: np.ndarray, precision: str = "fp32", tie_margin: float | None = None
) -> ParityReport:
    """Landmark and confidence differences of a crop-graph ONNX model against ``net`` on ``crops``."""
    expected = _torch_run(net, crops)
    landmarks, confidence = _session(onnx_path).run(None, {CROPS_INPUT: crops})
    tolerance = FP16_TOLERANCE_PX if precision == "fp16" else FP32_TOLERANCE_PX
    margin = tie_margin if tie_margin is not None else TIE_MARGIN[precision]
    return _report("crop", precision, expected, (landmarks, confidence), tolerance, margin)


def check_frame_parity(
    net,
    onnx_path: str | Path,
    samples: list[FaceSample],
    precision: str = "fp32",
    tie_margin: float | None = None,
) -> ParityReport:
    """A frame-graph ONNX model against PyTorch, one image per frame, and against the CPU crop path.

    Parity (the tolerance): the exported graph vs the same graph in PyTorch (GridSample crop, the
    network, the map back). Agreement with the runtime's CPU path (``cv2.warpAffine`` crop, the
    network, :func:`crop_to_image`) is reported beside it: the largest crop difference in grey
    levels, and the mean and max landmark differences.
    """
    import torch

    from parface_export.frame_graph import FrameGraph, frame_input

    spec: ModelSpec = net.spec
    graph = FrameGraph(net, return_crops=True).eval()
    session = _session(onnx_path)
    expected, actual, cpu_path, crop_diff = [], [], [], 0.0
    for sample in samples:
        frame, transforms = frame_input(sample.image), sample.transform[None].astype(np.float32)
        with torch.inference_mode():
            points, confidence, crops = graph(torch.from_numpy(frame), torch.from_numpy(transforms))
        in_graph = crops[0].numpy().transpose(1, 2, 0)
        reference = crop.warp(sample.image, sample.transform, spec.input_size).astype(np.float32)
        crop_diff = max(crop_diff, float(np.abs(in_graph - reference).max()))
        margin = _torch_run(net, ((crops - graph.mean) / graph.std).numpy())[2]
        expected.append((points.numpy().astype(np.float64), confidence.numpy().astype(np.float64), margin))
        actual.append(session.run(None, {FRAME_INPUT: frame, TRANSFORMS_INPUT: transforms}))
        cpu_path.append(_pipeline_run(net, sample))
    stacked = tuple(np.concatenate([item[i] for item in expected]) for i in range(3))
    outputs = tuple(np.concatenate([item[i] for item in actual]) for i in range(2))
    tolerance = FP16_TOLERANCE_PX if precision == "fp16" else FP32_TOLERANCE_PX
    margin = tie_margin if tie_margin is not None else TIE_MARGIN[precision]
    cpu_diff = np.abs(np.concatenate(cpu_path) - outputs[0])
    return _report(
        "frame",
        precision,
        stacked,
        outputs,
        tolerance,
        margin,
        crop_diff=crop_diff,
        cpu_path=(float(cpu_diff.mean()), float(cpu_diff.max())),
    )
