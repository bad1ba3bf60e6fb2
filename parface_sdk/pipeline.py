"""The one pipeline: faces as a typed batch, the stages that make it, and the network pass.

Every caller runs these same stages (the :class:`~parface_sdk.Aligner`, the tracker, the benchmark
and the export parity check):

1. a :class:`FaceBatch` from detections (:func:`faces_from_detections`), from caller boxes
   (:func:`faces_from_boxes`) or from landmarks (:func:`faces_from_landmarks`, the crop the model
   was trained on);
2. :func:`infer`: the backend crops, runs and maps back, returning image-pixel landmarks;
3. optionally :func:`recropped`: the same faces re-cropped from the landmarks, then :func:`infer` again;
4. :func:`to_results`: one :class:`~parface_sdk.results.AlignResult` per image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from parface_sdk import crop
from parface_sdk.errors import UnsupportedShapeError
from parface_sdk.geometry import detector_to_landmark_box, landmark_box
from parface_sdk.results import AlignResult, Face
from parface_sdk.spec import ModelSpec


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # a private copy
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class FaceBatch:
    """K faces of one or more images, ready for the network. Arrays are read-only.

    ``boxes`` (K, 4) float32 ``[x0, y0, x1, y1]`` image pixels; ``scores`` (K,) float32 detector
    scores (1.0 for given boxes and landmarks); ``transforms`` (K, 2, 3) float64 image->crop
    affines; ``image_index`` (K,) int64, the image each face belongs to.
    """

    boxes: np.ndarray
    scores: np.ndarray
    transforms: np.ndarray
    image_index: np.ndarray

    def __post_init__(self) -> None:
        count = len(self.image_index)
        checks = {
            "boxes": (self.boxes, (count, 4)),
            "scores": (self.scores, (count,)),
            "transforms": (self.transforms, (count, 2, 3)),
            "image_index": (self.image_index, (count,)),
        }
        for name, (array, shape) in checks.items():
            if np.shape(array) != shape:
                raise UnsupportedShapeError(
                    f"FaceBatch.{name} must have shape {shape}, got {np.shape(array)}"
                )
        object.__setattr__(self, "boxes", _frozen(np.asarray(self.boxes, np.float32)))
        object.__setattr__(self, "scores", _frozen(np.asarray(self.scores, np.float32)))
        object.__setattr__(self, "transforms", _frozen(np.asarray(self.transforms, np.float64)))
        object.__setattr__(self, "image_index", _frozen(np.asarray(self.image_index, np.int64)))

    def __len__(self) -> int:
        return len(self.image_index)

    @classmethod
    def empty(cls) -> FaceBatch:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 2, 3)), np.zeros(0, np.int64))

    @classmethod
    def concat(cls, batches: Sequence[FaceBatch]) -> FaceBatch:
        if not batches:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(b, field) for b in batches])
                for field in ("boxes", "scores", "transforms", "image_index")
            )
        )

    def take(self, indices) -> FaceBatch:
        """The faces at ``indices`` (repeats allowed: the benchmark builds exact batch sizes)."""
        indices = np.asarray(indices, np.int64)
        return FaceBatch(
            self.boxes[indices], self.scores[indices], self.transforms[indices], self.image_index[indices]
        )


def box_array(boxes: Any) -> np.ndarray:
    """Caller boxes as a finite (K, 4) float32 array, or a typed error saying what was expected."""
    try:
        with np.errstate(over="ignore"):  # beyond float32: infinity, refused below
            array = np.asarray(boxes, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise UnsupportedShapeError(f"boxes must be numbers [[x0, y0, x1, y1], ...] ({exc})") from exc
    if array.size == 0:
        return np.zeros((0, 4), np.float32)
    if array.ndim != 2 or array.shape[1] != 4:
        raise UnsupportedShapeError(
            f"boxes must have shape (K, 4) as [[x0, y0, x1, y1], ...], got {array.shape}"
        )
    if not np.isfinite(array).all():
        raise UnsupportedShapeError("boxes contain NaN or infinity")
    return array


def _batch(boxes, scores, transforms, owners) -> FaceBatch:
    return FaceBatch(
        np.asarray(boxes, np.float32).reshape(-1, 4),
        np.asarray(scores, np.float32),
        np.asarray(transforms, np.float64).reshape(-1, 2, 3),
        np.asarray(owners, np.int64),
    )


def faces_from_boxes(boxes_per_image: Sequence[Any], spec: ModelSpec) -> FaceBatch:
    """Caller boxes (one list per image) cropped as ``spec.crop_scale`` times the longer side."""
    boxes, transforms, owners = [], [], []
    for owner, image_boxes in enumerate(boxes_per_image):
        for box in box_array(image_boxes):
            boxes.append(box)
            transforms.append(crop.transform_from_box(box, spec.input_size, spec.crop_scale))
            owners.append(owner)
    return _batch(boxes, np.ones(len(boxes)), transforms, owners)


def faces_from_detections(
    detector,
    images: Sequence[np.ndarray],
    spec: ModelSpec,
    score_threshold: float = 0.5,
    max_faces: int | None = None,
) -> FaceBatch:
    """Run ``detector`` on each RGB image; keep faces scoring at least ``score_threshold`` (at most
    ``max_faces`` per image, best first) and crop each through the detector's calibration.

    The batch holds each detector box mapped to the landmark box its calibration predicts (the
    convention of caller boxes), so a ``face.box`` passed back as ``boxes=`` gives the same crop.
    """
    boxes, scores, transforms, owners = [], [], [], []
    for owner, image in enumerate(images):
        if min(image.shape[:2]) < 2:  # a 1-pixel-wide image holds no face: an empty result
            continue
        found = detector.detect(image)
        keep = found.scores >= score_threshold
        kept_boxes, kept_scores = found.boxes[keep][:max_faces], found.scores[keep][:max_faces]
        for box, score in zip(kept_boxes, kept_scores):
            box = detector_to_landmark_box(box, detector.box_to_landmark_scale, detector.center_shift)
            boxes.append(box)
            scores.append(score)
            transforms.append(crop.transform_from_box(box, spec.input_size, spec.crop_scale))
            owners.append(owner)
    return _batch(boxes, scores, transforms, owners)


def _check_points(points: Any) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] not in (2, 3) or len(points) < 2:
        raise UnsupportedShapeError(f"landmarks must be (N, 2) or (N, 3), got {points.shape}")
    if not np.isfinite(points[:, :2]).all():
        raise UnsupportedShapeError("landmarks contain NaN or infinity")
    return points


def faces_from_landmarks(landmarks_per_image: Sequence[Sequence[Any]], spec: ModelSpec) -> FaceBatch:
    """Faces cropped exactly as in training, from known or previous landmarks (score 1.0)."""
    boxes, transforms, owners = [], [], []
    for owner, faces in enumerate(landmarks_per_image):
        for points in faces:
            points = _check_points(points)
            boxes.append(landmark_box(points))
            transforms.append(crop.transform_from_landmarks(points, spec.input_size, spec.crop_scale))
            owners.append(owner)
    return _batch(boxes, np.ones(len(boxes)), transforms, owners)


def recropped(batch: FaceBatch, landmarks: np.ndarray, spec: ModelSpec) -> FaceBatch:
    """The same faces (boxes, scores, images) re-cropped from their landmarks."""
    transforms = [crop.transform_from_landmarks(p, spec.input_size, spec.crop_scale) for p in landmarks]
    return FaceBatch(batch.boxes, batch.scores, np.asarray(transforms).reshape(-1, 2, 3), batch.image_index)


def infer(
    backend,
    images: Sequence[np.ndarray],
    batch: FaceBatch,
    batch_size: int = 16,
    timings: dict[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks (K, N, 3) in image pixels and confidence (K, N) for every face of ``batch``."""
    return backend.infer(images, batch.transforms, batch.image_index, batch_size=batch_size, timings=timings)


def run(
    backend,
    images: Sequence[np.ndarray],
    batch: FaceBatch,
    recrop: bool = False,
    batch_size: int = 16,
    timings: dict[str, float] | None = None,
) -> tuple[FaceBatch, np.ndarray, np.ndarray]:
    """:func:`infer`, then (``recrop``) a second pass cropped from the first pass's landmarks.

    Returns the batch whose transforms produced the landmarks, the landmarks and the confidence.
    """
    landmarks, confidence = infer(backend, images, batch, batch_size, timings)
    if recrop and len(batch):
        batch = recropped(batch, landmarks, backend.spec)
        landmarks, confidence = infer(backend, images, batch, batch_size, timings)
    return batch, landmarks, confidence


def to_results(
    images: Sequence[np.ndarray], batch: FaceBatch, landmarks: np.ndarray, confidence: np.ndarray
) -> list[AlignResult]:
    """One result per image, its faces in batch order."""
    results = []
    for owner, image in enumerate(images):
        faces = [
            Face(
                landmarks=landmarks[i],
                confidence=confidence[i],
                box=batch.boxes[i],
                score=float(np.clip(batch.scores[i], 0.0, 1.0)),
                transform=batch.transforms[i],
            )
            for i in np.flatnonzero(batch.image_index == owner)
        ]
        height, width = image.shape[:2]
        results.append(AlignResult(faces=faces, image_width=width, image_height=height))
    return results
