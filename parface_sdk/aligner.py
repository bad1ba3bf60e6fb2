"""The facade: wires image input, detection, cropping, the backend and decoding together."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from parface_sdk import crop
from parface_sdk.backends import create_backend
from parface_sdk.decode import crop_to_image
from parface_sdk.errors import UnsupportedShapeError
from parface_sdk.image import ColorOrder, ImageSource, load_image
from parface_sdk.options import AlignerOptions
from parface_sdk.results import AlignResult, Face

logger = logging.getLogger(__name__)


def _box_array(boxes: Any) -> np.ndarray:
    """Caller boxes as a finite (K, 4) float32 array, or a typed error saying what was expected."""
    try:
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


class _Pending:
    """Faces of one image waiting for the network: their boxes, scores and crop transforms."""

    def __init__(self, image: np.ndarray, boxes: np.ndarray, scores: np.ndarray, transforms):
        self.image = image
        self.boxes = boxes
        self.scores = scores
        self.transforms = list(transforms)


class Aligner:
    """68 3D landmarks per face, in image pixels.

    >>> with Aligner() as aligner:                      # doctest: +SKIP
    ...     result = aligner.align("photo.jpg")
    ...     result.faces[0].landmarks.shape
    (68, 3)
    """

    def __init__(self, model: str | Path | None = None, options: AlignerOptions | None = None):
        self.options = options or AlignerOptions()
        backend = self.options.backend
        if model is None:
            from parface_sdk.models import default_model_path

            model = default_model_path("torch" if backend == "torch" else "onnxruntime")
        self.model_path = Path(model)
        self.backend = create_backend(
            self.model_path, backend=backend, device=self.options.device, threads=self.options.threads
        )
        self.spec = self.backend.spec
        self._detector = None

    @classmethod
    def from_pretrained(cls, path: str | Path, **option_overrides: Any) -> Aligner:
        return cls(path, AlignerOptions(**option_overrides))

    @property
    def detector(self):
        if self._detector is None:
            from parface_sdk.detect import create_detector

            self._detector = create_detector(
                self.options.detector,
                model_path=self.options.detector_model,
                device=self.options.device,
                score_threshold=self.options.score_threshold,
                threads=self.options.threads,
            )
            logger.info("face detector: %s", self._detector.name)
        return self._detector

    # -- public API --------------------------------------------------------------------------

    def align(
        self, image: ImageSource, boxes: Sequence[Sequence[float]] | np.ndarray | None = None,
        color: ColorOrder = "BGR",
    ) -> AlignResult:
        """Detect (unless ``boxes`` is given) and align every face of ``image``.

        ``boxes`` are ``[x0, y0, x1, y1]`` face boxes in image pixels; with them no detector runs.
        Arrays are read as ``color`` (OpenCV's BGR by default); paths and bytes are decoded.
        """
        return self.align_batch([image], boxes=None if boxes is None else [boxes], color=color)[0]

    def align_batch(
        self, images: Iterable[ImageSource], boxes: Sequence[Any] | None = None,
        color: ColorOrder = "BGR",
    ) -> list[AlignResult]:
        """Align many images, pushing all their faces through the network in batches."""
        rgb_images = [load_image(image, color) for image in images]
        if boxes is not None and len(boxes) != len(rgb_images):
            raise UnsupportedShapeError(
                f"got {len(boxes)} box lists for {len(rgb_images)} images; give one list per image"
            )
        pending = [
            self._detect(image, None if boxes is None else boxes[index])
            for index, image in enumerate(rgb_images)
        ]
        landmarks = self._run(pending)
        if self.options.refine:
            for item, points in zip(pending, landmarks):
                item.transforms = [
                    crop.transform_from_landmarks(p, self.spec.input_size, self.spec.crop_scale)
                    for p in points[0]
                ]
            landmarks = self._run(pending)
        return [self._result(item, points) for item, points in zip(pending, landmarks)]

    def align_from_landmarks(
        self, image: ImageSource, landmarks: Sequence[np.ndarray], color: ColorOrder = "BGR"
    ) -> AlignResult:
        """Align faces cropped exactly as in training, from known or previous landmarks.

        Used for tracking (the previous frame's landmarks) and for evaluation with ground-truth
        crops. No detector runs and no refinement pass is made.
        """
        rgb = load_image(image, color)
        transforms, boxes = [], []
        for points in landmarks:
            points = np.asarray(points, dtype=np.float64)
            if points.ndim != 2 or points.shape[1] not in (2, 3) or len(points) < 2:
                raise UnsupportedShapeError(f"landmarks must be (N, 2) or (N, 3), got {points.shape}")
            transforms.append(
                crop.transform_from_landmarks(points, self.spec.input_size, self.spec.crop_scale)
            )
            boxes.append(crop.landmark_box(points))
        item = _Pending(rgb, np.asarray(boxes, np.float32).reshape(-1, 4),
                        np.ones(len(boxes), np.float32), transforms)
        return self._result(item, self._run([item])[0])

    def track(self, frames, **options: Any):
        """Per-frame results over a video or frame iterable; see :func:`parface_sdk.video.track`."""
        from parface_sdk.video import track

        return track(self, frames, **options)

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def __enter__(self) -> Aligner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- stages ------------------------------------------------------------------------------

    def _detect(self, image: np.ndarray, boxes: Any) -> _Pending:
        size = self.spec.input_size
        if boxes is not None:
            box_array = _box_array(boxes)
            scores = np.ones(len(box_array), np.float32)
            transforms = [crop.transform_from_box(b, size, self.spec.crop_scale) for b in box_array]
            return _Pending(image, box_array, scores, transforms)
        detector = self.detector
        found = detector.detect(image)
        keep = found.scores >= self.options.score_threshold
        box_array, scores = found.boxes[keep], found.scores[keep]
        if self.options.max_faces is not None:
            box_array, scores = box_array[: self.options.max_faces], scores[: self.options.max_faces]
        scale = self.spec.crop_scale * detector.box_to_landmark_scale
        transforms = [
            crop.transform_from_box(b, size, scale, detector.center_shift) for b in box_array
        ]
        return _Pending(image, box_array, scores, transforms)

    def _run(self, pending: list[_Pending]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Crop every face of every image, run the backend in batches, map back to image pixels."""
        size = self.spec.input_size
        crops, transforms, owners = [], [], []
        for owner, item in enumerate(pending):
            for transform in item.transforms:
                crops.append(crop.warp(item.image, transform, size))
                transforms.append(transform)
                owners.append(owner)
        per_image = [
            (np.zeros((0, self.spec.num_landmarks, 3), np.float32),
             np.zeros((0, self.spec.num_landmarks), np.float32))
            for _ in pending
        ]
        if not crops:
            return per_image
        landmarks, confidence = [], []
        step = self.options.batch_size
        for start in range(0, len(crops), step):
            batch = crop.normalize(np.stack(crops[start : start + step]), self.spec.mean, self.spec.std)
            points, scores = self.backend.run(batch)
            landmarks.append(points)
            confidence.append(scores)
        image_points = crop_to_image(np.concatenate(landmarks), np.stack(transforms))
        confidence_all = np.concatenate(confidence)
        owners_array = np.asarray(owners)
        for owner in range(len(pending)):
            mask = owners_array == owner
            per_image[owner] = (image_points[mask], confidence_all[mask])
        return per_image

    def _result(self, item: _Pending, points: tuple[np.ndarray, np.ndarray]) -> AlignResult:
        landmarks, confidence = points
        faces = [
            Face(landmarks=landmarks[i], confidence=confidence[i], box=item.boxes[i],
                 score=float(np.clip(item.scores[i], 0.0, 1.0)), transform=item.transforms[i])
            for i in range(len(landmarks))
        ]
        height, width = item.image.shape[:2]
        return AlignResult(faces=faces, image_width=width, image_height=height)
