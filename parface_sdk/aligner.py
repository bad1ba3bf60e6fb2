"""The facade: wires image input, detection, cropping, the backend and decoding together."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from parface_sdk import pipeline
from parface_sdk.backends import create_backend
from parface_sdk.errors import AlignerClosedError, InvalidOptionError, UnsupportedShapeError
from parface_sdk.geometry import require_boxes_in_image
from parface_sdk.image import ImageSource, load_image
from parface_sdk.options import AlignerOptions
from parface_sdk.results import AlignResult

logger = logging.getLogger(__name__)


class Aligner:
    """68 3D landmarks per face, in image pixels.

    >>> with Aligner() as aligner:                      # doctest: +SKIP
    ...     result = aligner.align("photo.jpg")
    ...     result.faces[0].landmarks.shape
    (68, 3)
    """

    def __init__(
        self, model: str | Path | None = None, options: AlignerOptions | None = None, **option_values: Any
    ):
        """``Aligner()`` runs the shipped model; ``model`` is any exported model file. Options are an
        :class:`AlignerOptions` or its fields as keywords (``Aligner(backend="torch")``); keywords
        override the fields of ``options``. A bad value is an
        :class:`~parface_sdk.errors.InvalidOptionError` (a ``ValueError``)."""
        if options is not None and not isinstance(options, AlignerOptions):
            raise InvalidOptionError(
                f"options must be an AlignerOptions, got {type(options).__name__}; "
                "or pass the options as keywords: Aligner(backend='torch', device='cpu')"
            )
        if option_values:
            options = (options or AlignerOptions()).with_updates(**option_values)
        self.options = options or AlignerOptions()
        backend = self.options.backend
        if model is None:
            from parface_sdk.models import default_model_path

            model = default_model_path("torch" if backend in ("torch", "torch-frame") else "onnxruntime")
        elif not isinstance(model, (str, os.PathLike)):
            raise InvalidOptionError(f"model must be a path to a model file, got {type(model).__name__}")
        from parface_sdk.models import shipped_quality_threshold

        # the shipped model keeps its calibration however it is named (Aligner(), from_pretrained)
        self._quality_threshold = shipped_quality_threshold(model)
        self.model_path = Path(model)
        self.backend = create_backend(
            self.model_path,
            backend=backend,
            device=self.options.device,
            threads=self.options.threads,
            precision=self.options.precision,
            cuda_graph=self.options.cuda_graph,
            pinned=self.options.pinned_upload,
        )
        self.spec = self.backend.spec
        self._detector = None

    @classmethod
    def from_pretrained(cls, path: str | Path, **option_overrides: Any) -> Aligner:
        return cls(path, AlignerOptions(**option_overrides))

    @property
    def quality_threshold(self) -> float | None:
        """The ``Face.quality`` below which the shipped model's faces are usually wrong (NME > 8 %
        on held-out validation faces; MODEL_CARD.md), for ``min_quality`` or your own filter.
        ``None`` for models without a calibration."""
        return self._quality_threshold

    @property
    def detector(self):
        self._require_open()
        if self._detector is None:
            from parface_sdk.detect import create_detector

            self._detector = create_detector(
                self.options.detector,
                model_path=self.options.detector_model,
                # Where the network runs, not the option: a TensorRT engine runs on the GPU whatever
                # ``device`` says, and its detector must not stay on the CPU (~6 ms a frame).
                device=self.backend.device,
                score_threshold=self.options.score_threshold,
                threads=self.options.threads,
            )
            logger.info("face detector: %s", self._detector.name)
        return self._detector

    # -- public API --------------------------------------------------------------------------

    def align(
        self,
        image: ImageSource,
        boxes: Sequence[Sequence[float]] | np.ndarray | None = None,
        color: str | None = None,
    ) -> AlignResult:
        """Detect (unless ``boxes`` is given) and align every face of ``image``.

        ``boxes`` are landmark boxes ``[x0, y0, x1, y1]`` in image pixels (the x/y extent of the 68
        points; a box is cropped as ``spec.crop_scale`` times its longer side), with them no
        detector runs. ``face.box`` uses the same convention, so passing it back reproduces the
        crop and the landmarks. A box entirely outside the image raises
        :class:`~parface_sdk.errors.BoxOutsideImageError`.

        Colour arrays need ``color="RGB"`` or ``color="BGR"`` (no default: a wrong order is a silent
        error); grayscale arrays, paths and bytes need none (files are turned upright by EXIF).
        """
        return self.align_batch([image], boxes=None if boxes is None else [boxes], color=color)[0]

    def align_batch(
        self,
        images: Iterable[ImageSource],
        boxes: Sequence[Any] | None = None,
        color: str | None = None,
    ) -> list[AlignResult]:
        """Align many images, pushing all their faces through the network in batches."""
        self._require_open()
        rgb_images = [load_image(image, color) for image in images]
        if boxes is not None and len(boxes) != len(rgb_images):
            raise UnsupportedShapeError(
                f"got {len(boxes)} box lists for {len(rgb_images)} images; give one list per image"
            )
        if boxes is None:
            batch = pipeline.faces_from_detections(
                self.detector, rgb_images, self.spec, self.options.score_threshold, self.options.max_faces
            )
        else:
            batch = pipeline.faces_from_boxes(boxes, self.spec)
            for box, index in zip(batch.boxes, batch.image_index):
                require_boxes_in_image(box, rgb_images[index].shape[1], rgb_images[index].shape[0])
        return self._infer(rgb_images, batch, recrop=self.options.recrop)

    def align_from_landmarks(
        self, image: ImageSource, landmarks: Sequence[np.ndarray], color: str | None = None
    ) -> AlignResult:
        """Align faces cropped exactly as in training, from known or previous landmarks.

        Used for tracking (the previous frame's landmarks) and for evaluation with ground-truth
        crops. No detector runs and no re-crop pass is made.
        """
        self._require_open()
        rgb = load_image(image, color)
        batch = pipeline.faces_from_landmarks([landmarks], self.spec)
        for box in batch.boxes:  # the landmarks' extent: on the image and of a face's size
            require_boxes_in_image(box, rgb.shape[1], rgb.shape[0], what="landmark box")
        return self._infer([rgb], batch, recrop=False)[0]

    def align_faces(
        self, images: Sequence[np.ndarray], batch: pipeline.FaceBatch, recrop: bool | None = None
    ) -> list[AlignResult]:
        """Align the faces of a prepared :class:`~parface_sdk.pipeline.FaceBatch` (RGB images)."""
        self._require_open()
        return self._infer(list(images), batch, self.options.recrop if recrop is None else recrop)

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def _require_open(self) -> None:
        if self.backend is None:
            raise AlignerClosedError(
                "this Aligner was closed (close() or the end of its `with` block); create a new one"
            )

    def __enter__(self) -> Aligner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the one pipeline ---------------------------------------------------------------------

    def _infer(self, images: list[np.ndarray], batch: pipeline.FaceBatch, recrop: bool) -> list[AlignResult]:
        batch, landmarks, confidence = pipeline.run(
            self.backend, images, batch, recrop=recrop, batch_size=self.options.batch_size
        )
        results = pipeline.to_results(images, batch, landmarks, confidence)
        floor = self.options.min_quality
        if floor is None:
            return results
        return [r.model_copy(update={"faces": [f for f in r.faces if f.quality >= floor]}) for r in results]
