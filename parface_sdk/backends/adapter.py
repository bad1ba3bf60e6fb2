"""One way in for every backend: ``infer(images, transforms, image_index)`` -> image-pixel landmarks.

Crop graphs (a network on normalised crops: onnxruntime, torch, TensorRT crop engines) only know
``run(crops)``; :class:`CropGraphAdapter` serves them: it warps each face out of its image,
normalises, runs the network in chunks of ``batch_size`` faces and maps the landmarks back to image
pixels. Frame graphs crop inside the model and answer in image pixels already;
:func:`infer_frames` feeds them one image and its faces' transforms at a time.

``timings``, when given, accumulates the seconds spent per sub-stage (``crop``, ``network``,
``decode``), so the benchmark times exactly the code that ``Aligner.align`` runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from parface_sdk import crop
from parface_sdk.decode import crop_to_image
from parface_sdk.errors import UnsupportedShapeError
from parface_sdk.spec import ModelSpec

Output = tuple[np.ndarray, np.ndarray]  # landmarks (K, N, 3) image px, confidence (K, N)


def check_faces(images: Sequence[np.ndarray], transforms, image_index) -> tuple[np.ndarray, np.ndarray]:
    """Transforms as (K, 2, 3) float64 and the owning image of each face as (K,) int64."""
    transforms = np.asarray(transforms, dtype=np.float64)
    if transforms.size == 0:
        transforms = transforms.reshape(0, 2, 3)
    if transforms.ndim != 3 or transforms.shape[1:] != (2, 3):
        raise UnsupportedShapeError(
            f"transforms must be (K, 2, 3) image->crop affines, got {transforms.shape}"
        )
    if image_index is None:
        image_index = np.zeros(len(transforms), np.int64)
    image_index = np.asarray(image_index, dtype=np.int64).reshape(-1)
    if len(image_index) != len(transforms):
        raise UnsupportedShapeError(
            f"got {len(transforms)} transforms but {len(image_index)} image indices; give one per face"
        )
    if len(image_index) and (image_index.min() < 0 or image_index.max() >= len(images)):
        raise UnsupportedShapeError(f"image indices must lie in [0, {len(images)}), got {image_index}")
    return transforms, image_index


def empty_output(spec: ModelSpec) -> Output:
    count = spec.num_landmarks
    return np.zeros((0, count, 3), np.float32), np.zeros((0, count), np.float32)


def _add(timings: dict[str, float] | None, name: str, seconds: float) -> None:
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + seconds


def infer_crops(
    run: Callable[[np.ndarray], Output],
    spec: ModelSpec,
    images: Sequence[np.ndarray],
    transforms,
    image_index=None,
    batch_size: int = 16,
    timings: dict[str, float] | None = None,
) -> Output:
    """Warp, normalise, run in chunks of ``batch_size``, map back: the crop-graph driver."""
    transforms, image_index = check_faces(images, transforms, image_index)
    if not len(transforms):
        return empty_output(spec)
    size = spec.input_size
    landmarks, confidence = [], []
    for start in range(0, len(transforms), max(1, batch_size)):
        began = time.perf_counter()
        chunk = range(start, min(start + batch_size, len(transforms)))
        crops = np.stack([crop.warp(images[image_index[i]], transforms[i], size) for i in chunk])
        batch = crop.normalize(crops, spec.mean, spec.std)
        cropped = time.perf_counter()
        points, scores = run(batch)
        _add(timings, "crop", cropped - began)
        _add(timings, "network", time.perf_counter() - cropped)
        landmarks.append(points)
        confidence.append(scores)
    began = time.perf_counter()
    image_points = crop_to_image(np.concatenate(landmarks), transforms)
    _add(timings, "decode", time.perf_counter() - began)
    return image_points, np.concatenate(confidence).astype(np.float32)


def infer_frames(
    run_frame: Callable[[np.ndarray, np.ndarray], Output],
    spec: ModelSpec,
    images: Sequence[np.ndarray],
    transforms,
    image_index=None,
    batch_size: int = 16,
    timings: dict[str, float] | None = None,
) -> Output:
    """Frame graphs: each image once with its faces' transforms (chunks of ``batch_size``)."""
    transforms, image_index = check_faces(images, transforms, image_index)
    landmarks, confidence = empty_output(spec)
    landmarks = np.zeros((len(transforms), *landmarks.shape[1:]), np.float32)
    confidence = np.zeros((len(transforms), confidence.shape[1]), np.float32)
    began = time.perf_counter()
    for owner in np.unique(image_index):
        faces = np.flatnonzero(image_index == owner)
        for start in range(0, len(faces), max(1, batch_size)):
            chunk = faces[start : start + batch_size]
            points, scores = run_frame(images[owner], transforms[chunk])
            landmarks[chunk], confidence[chunk] = points, scores
    _add(timings, "network", time.perf_counter() - began)
    return landmarks, confidence


class _GraphAdapter:
    """``infer`` for a backend whose runtime answers one step of a driver (see the subclasses)."""

    spec: ModelSpec

    def _driver(self) -> tuple[Callable[..., Output], Callable[..., Output]]:  # pragma: no cover
        """The driver (``infer_crops`` or ``infer_frames``) and the runtime step it drives."""
        raise NotImplementedError

    def infer(
        self,
        images: Sequence[np.ndarray],
        transforms,
        image_index=None,
        batch_size: int = 16,
        timings: dict[str, float] | None = None,
    ) -> Output:
        """Landmarks (K, N, 3) in image pixels and confidence (K, N) for the K faces ``transforms``
        crop out of ``images`` (face k from ``images[image_index[k]]``)."""
        driver, step = self._driver()
        return driver(step, self.spec, images, transforms, image_index, batch_size, timings)


class CropGraphAdapter(_GraphAdapter):
    """Mixin for crop-graph backends: ``infer`` on top of the runtime's own ``run(crops)``."""

    def run(self, crops: np.ndarray) -> Output:  # pragma: no cover - provided by the runtime
        raise NotImplementedError

    def _driver(self) -> tuple[Callable[..., Output], Callable[..., Output]]:
        return infer_crops, self.run


class FrameGraphAdapter(_GraphAdapter):
    """Mixin for frame-graph backends: ``infer`` on top of the runtime's ``run_frame``; the crop
    happens inside the graph."""

    def run_frame(self, image_rgb: np.ndarray, transforms: np.ndarray) -> Output:  # pragma: no cover
        raise NotImplementedError

    def _driver(self) -> tuple[Callable[..., Output], Callable[..., Output]]:
        return infer_frames, self.run_frame
