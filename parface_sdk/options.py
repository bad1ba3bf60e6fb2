"""Aligner options, validated once at creation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from parface_sdk.errors import InvalidOptionError


def validation_message(exc: ValidationError, what: str = "option") -> str:
    """A pydantic ``ValidationError`` as one line: ``field: message (got value)`` items."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "value"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        got = error.get("input")
        got_text = repr(got) if not isinstance(got, dict) else "{...}"
        parts.append(f"{where}: {message} (got {got_text[:80]})")
    return f"invalid {what}: " + "; ".join(parts)


class OptionsModel(BaseModel):
    """A frozen options model whose bad values raise :class:`InvalidOptionError` (a
    :class:`~parface_sdk.errors.ParfaceError` and a ``ValueError``) carrying pydantic's message,
    never a raw pydantic ``ValidationError``. NaN and infinity are rejected for every float."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise InvalidOptionError(validation_message(exc, f"{type(self).__name__} option")) from None

    def with_updates(self, **values: Any):
        """A validated copy with ``values`` changed (``model_copy`` does not validate)."""
        return type(self)(**{**self.model_dump(), **values})


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class AlignerOptions(OptionsModel):
    """How an :class:`~parface_sdk.Aligner` runs. Frozen; unknown fields are rejected.

    - ``backend``: which runtime: ``auto`` (read from the model file), ``onnxruntime``,
      ``onnxruntime-tensorrt`` (onnxruntime's TensorRT provider), ``torch``, ``torch-frame`` (torch
      with the crop on the device; what ``torch`` picks on ``cuda``) or ``tensorrt`` (engine).
    - ``device``: where it runs: ``cpu`` or ``cuda``. A GPU that does not attach is an error,
      never a silent CPU run. (``device="tensorrt"``, an older spelling, is still read as
      ``backend="onnxruntime-tensorrt", device="cuda"``; it is not advertised.)
    - ``detector``: ``auto`` picks the best detector available offline; see ``parface_sdk.detect``.
      An unknown name or a missing ``detector_model`` file is rejected here, at creation.
    - ``recrop``: run a second pass cropped from the first pass's landmarks, so a loose detector
      box costs no accuracy (the model was trained on landmark crops). It doubles the network
      cost; on the shipped v3 model it lowers the NME on 300-W train faces from 5.43 % to 5.26 %
      (95 % interval -0.32 to -0.02 points; ``benchmarks/refine_effect.py``).
    - ``batch_size``: faces per network call in ``align_batch``.
    - ``min_quality``: drop faces whose ``Face.quality`` (mean per-point confidence) is lower.
      ``Aligner.quality_threshold`` is the value calibrated for the shipped model on held-out
      validation faces (MODEL_CARD.md); ``None`` (default) keeps every face.
    - ``precision``: the network's arithmetic: ``fp32`` (default), ``fp16`` or ``bf16``. The torch
      backends run ``fp16`` / ``bf16`` under autocast; onnxruntime's TensorRT provider honours
      ``fp16``. A backend that cannot honour the request (onnxruntime's CPU and CUDA providers run
      the graph as exported; a TensorRT engine as built) raises
      :class:`~parface_sdk.errors.UnsupportedPrecisionError` at creation.
    - ``cuda_graph``: replay a CUDA graph captured per input shape (native TensorRT engines:
      fewer launch costs at batch 1). ``pinned_upload``: frames go to the GPU through page-locked
      memory (``torch-frame``; default on). Both are no-ops, with a logged note, elsewhere (CPU).
    """

    backend: Literal["auto", "onnxruntime", "onnxruntime-tensorrt", "torch", "torch-frame", "tensorrt"] = (
        "auto"
    )
    device: Literal["cpu", "cuda", "tensorrt"] = "cpu"
    detector: str = "auto"
    detector_model: Path | None = None
    score_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    max_faces: int | None = Field(default=None, ge=1)
    recrop: bool = True
    batch_size: int = Field(default=16, ge=1)
    threads: int | None = Field(default=None, ge=1)
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    min_quality: float | None = Field(default=None, ge=0.0, le=1.0)
    cuda_graph: bool = False
    pinned_upload: bool = True

    @field_validator("backend", "device", "precision", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return _lower(value)

    @field_validator("detector")
    @classmethod
    def _known_detector(cls, value: str) -> str:
        from parface_sdk.detect import DETECTOR_NAMES

        key = value.lower().replace("-", "_")
        if key not in DETECTOR_NAMES:
            raise ValueError(f"unknown detector {value!r}; choose one of {', '.join(DETECTOR_NAMES)}")
        return key

    @field_validator("detector_model")
    @classmethod
    def _existing_detector_model(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no detector model file at {value}; pass an existing .onnx / .xml file")
        return value
