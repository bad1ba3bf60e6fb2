"""Typed results: pydantic models holding validated numpy arrays, JSON in one call."""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, computed_field


def _array(shape: tuple[int | None, ...], dtype: type) -> Any:
    def validate(value: Any) -> np.ndarray:
        array = np.asarray(value, dtype=dtype)
        if array.ndim != len(shape) or any(
            want is not None and got != want for want, got in zip(shape, array.shape)
        ):
            raise ValueError(f"expected an array of shape {shape}, got {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError("array contains NaN or infinity")
        array = np.ascontiguousarray(array)
        array.setflags(write=False)
        return array

    return Annotated[
        np.ndarray,
        PlainValidator(validate),
        PlainSerializer(lambda array: array.tolist(), return_type=list, when_used="json"),
    ]


class Face(BaseModel):
    """One aligned face. ``landmarks`` are 68 (x, y, z) in image pixels.

    z is depth in the same pixel units as x and y, centred on the face's mean depth and positive
    towards the camera. ``transform`` maps image pixels to the network's crop pixels.

    ``box`` is ``[x0, y0, x1, y1]`` in the convention of ``Aligner.align(boxes=...)``: the landmark
    box the face was cropped from (a detector's own box mapped through its calibration; a given
    box unchanged), so ``align(image, boxes=[face.box])`` reproduces the crop and the landmarks.
    ``score`` is the detector's confidence, 1.0 for given boxes and landmarks.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    landmarks: _array((None, 3), np.float32)
    confidence: _array((None,), np.float32)
    box: _array((4,), np.float32)
    score: float = Field(ge=0.0, le=1.0)
    transform: _array((2, 3), np.float64)

    @property
    def landmarks_2d(self) -> np.ndarray:
        return self.landmarks[:, :2]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def quality(self) -> float:
        """Per-face quality in [0, 1]: the mean per-point confidence (heatmap peak height).

        Low on the faces the model gets wrong: on held-out validation faces its Spearman rank
        correlation with the NME and the threshold that best flags faces with NME > 8 % are in
        MODEL_CARD.md; ``Aligner.quality_threshold`` is that threshold for the loaded model.
        """
        return float(self.confidence.mean()) if self.confidence.size else 0.0


class AlignResult(BaseModel):
    """Every face found in one image; ``faces`` is empty when there is none."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    faces: list[Face]
    image_width: int = Field(gt=0)
    image_height: int = Field(gt=0)

    def __len__(self) -> int:
        return len(self.faces)

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())
