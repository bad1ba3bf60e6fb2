"""Run an :class:`~parface_sdk.Aligner` over an evaluation set in one or both crop modes.

- ``gt``: the face is cropped from its ground-truth landmarks (``align_from_landmarks``), the
  paper's protocol: detection errors are excluded.
- ``detector``: the aligner's own detector finds the faces (``align``), as users get it. The face
  matching the ground truth best is scored; when no face overlaps the ground-truth landmark box by
  IoU >= ``MIN_MATCH_IOU`` (detector box or predicted landmark box), the face is a *miss*: its
  error is infinite, so it counts as a failure in FR and AUC, and is left out of mean/std.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from parface_sdk.evaluation import metrics
from parface_sdk.evaluation.datasets import EvalDataset
from parface_sdk.geometry import box_iou, landmark_box

logger = logging.getLogger(__name__)

CropMode = Literal["gt", "detector"]
CROP_MODES: tuple[str, ...] = ("gt", "detector")
MIN_MATCH_IOU = 0.25


@dataclass(frozen=True)
class EvalRun:
    """Predictions and errors of one crop mode over one set; errors are fractions (not %).

    Arrays are per face in dataset order. A missed face has NaN predictions and per-point errors,
    and ``inf`` in ``nme`` and ``gte``.
    """

    dataset: str
    crop: str
    normalizer: str
    names: tuple[str, ...]
    images: tuple[str, ...]
    yaw: np.ndarray  # (N,) degrees, NaN where unknown
    gt: np.ndarray  # (N, 68, 2|3)
    pred: np.ndarray  # (N, 68, 3)
    detected: np.ndarray  # (N,) bool
    match_iou: np.ndarray  # (N,) IoU of the scored face with the GT box (1.0 in gt mode)
    nme: np.ndarray  # (N,)
    point_nme: np.ndarray  # (N, 68)
    gte: np.ndarray | None  # (N,) when the set is 3D
    point_gte: np.ndarray | None
    seconds: float  # wall time spent in the aligner

    @property
    def has_3d(self) -> bool:
        return self.gte is not None

    @property
    def yaw_bins(self) -> list[str | None]:
        return [metrics.yaw_bin(None if np.isnan(y) else float(y)) for y in self.yaw]


def match_face(faces: Sequence, gt_landmarks: np.ndarray) -> tuple[int | None, float]:
    """Index of the face best matching the ground truth, and its IoU (None when below the bar)."""
    target = landmark_box(gt_landmarks)
    best, best_iou = None, 0.0
    for index, face in enumerate(faces):
        iou = max(
            box_iou(np.asarray(face.box, np.float64), target), box_iou(landmark_box(face.landmarks), target)
        )
        if iou > best_iou:
            best, best_iou = index, iou
    return (best, best_iou) if best_iou >= MIN_MATCH_IOU else (None, best_iou)


class _Collector:
    def __init__(self, count: int):
        self.pred = np.full((count, 68, 3), np.nan, np.float32)
        self.detected = np.zeros(count, bool)
        self.iou = np.zeros(count, np.float64)
        self.seconds = 0.0


def _predict(aligner, image: np.ndarray, gt: np.ndarray, crop: str) -> tuple[np.ndarray | None, float]:
    if crop == "gt":
        result = aligner.align_from_landmarks(image, [gt], color="RGB")
        return result.faces[0].landmarks, 1.0
    result = aligner.align(image, color="RGB")
    index, iou = match_face(result.faces, gt)
    return (None, iou) if index is None else (result.faces[index].landmarks, iou)


def _scored(ok: np.ndarray, point_errors) -> tuple[np.ndarray, np.ndarray]:
    """Per-point errors (NaN for misses) and per-face means (inf for misses)."""
    points = np.full((len(ok), 68), np.nan)
    faces = np.full(len(ok), np.inf)
    if ok.any():
        points[ok] = point_errors()
        faces[ok] = points[ok].mean(axis=1)
    return points, faces


def _finish(dataset: EvalDataset, crop: str, normalizer: str, found: _Collector) -> EvalRun:
    samples = dataset.samples
    dims = 3 if dataset.has_3d else 2
    gt = np.stack([s.landmarks[:, :dims] for s in samples]).astype(np.float32)
    ok = found.detected
    point_nme, nme = _scored(ok, lambda: metrics.point_errors_2d(found.pred[ok], gt[ok], normalizer))
    gte = point_gte = None
    if dims == 3:
        point_gte, gte = _scored(ok, lambda: metrics.point_errors_3d(found.pred[ok], gt[ok]))
    yaw = np.array([np.nan if s.yaw is None else s.yaw for s in samples], np.float64)
    return EvalRun(
        dataset=dataset.name,
        crop=crop,
        normalizer=normalizer,
        names=tuple(s.name for s in samples),
        images=tuple(str(s.image) for s in samples),
        yaw=yaw,
        gt=gt,
        pred=found.pred,
        detected=ok,
        match_iou=found.iou,
        nme=nme,
        point_nme=point_nme,
        gte=gte,
        point_gte=point_gte,
        seconds=found.seconds,
    )


def evaluate(
    aligner,
    dataset: EvalDataset,
    crops: Sequence[CropMode] = ("gt",),
    normalizer: metrics.Normalizer = "box",
    progress: bool = True,
) -> list[EvalRun]:
    """Align every face of ``dataset`` in each crop mode; one :class:`EvalRun` per mode.

    Each image is decoded once and shared by the modes.
    """
    from tqdm import tqdm

    from parface_sdk.image import load_image

    unknown = [c for c in crops if c not in CROP_MODES]
    if unknown or not crops:
        raise ValueError(f"crop modes must be among {CROP_MODES}, got {list(crops)}")
    if normalizer not in metrics.NORMALIZERS:
        raise ValueError(f"normalizer must be one of {metrics.NORMALIZERS}, got {normalizer!r}")
    collectors = {crop: _Collector(len(dataset)) for crop in crops}
    bar = tqdm(dataset.samples, desc=f"eval {dataset.name}", unit="face", disable=not progress)
    for index, sample in enumerate(bar):
        image = load_image(sample.image)
        for crop, found in collectors.items():
            start = time.perf_counter()
            landmarks, iou = _predict(aligner, image, sample.landmarks, crop)
            found.seconds += time.perf_counter() - start
            found.iou[index] = iou
            if landmarks is not None:
                found.pred[index] = landmarks
                found.detected[index] = True
            else:
                logger.info("%s: no detected face matches the ground truth (best IoU %.2f)", sample.name, iou)
    return [_finish(dataset, crop, normalizer, found) for crop, found in collectors.items()]
