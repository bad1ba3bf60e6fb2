"""The self-description every ParFace model file carries (checkpoint JSON, ONNX metadata, engine header).

Loaders read this spec instead of guessing anything from tensor shapes.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parface_sdk.errors import ModelLoadError

SCHEMA_VERSION = 1
SPEC_METADATA_KEY = "parface_spec"


class RefinerSpec(BaseModel):
    """The local refinement stage of a v4-style model (``parface_sdk.nn.refiner``).

    The graph's input crop is ``ModelSpec.input_size`` pixels; the global ParFace-Net sees it
    average-pooled to ``base_input_size``. Each of the points ``first_point``..67 then moves by
    offsets regressed from a ``patch_size`` squared grey patch around it, one cascade step per
    entry of ``spacings`` (crop pixels between patch samples).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_input_size: int = Field(gt=0)
    first_point: int = Field(default=17, ge=0)
    patch_size: int = Field(default=32, gt=0)
    spacings: tuple[float, ...] = (1.5, 1.0)
    widths: tuple[int, int, int, int] = (16, 32, 32, 64)
    embedding: int = Field(default=16, gt=0)
    hidden: int = Field(default=128, gt=0)


class ModelSpec(BaseModel):
    """What a runtime needs to know to feed a model and read its outputs.

    Coordinates: the network sees an RGB crop of ``input_size`` squared pixels, normalised as
    ``(pixel / 255 - mean) / std``. Landmarks come out in crop pixels (pixel centres at integers);
    depth comes out normalised and is multiplied by ``depth_scale`` to get crop pixels, centred on
    the mean depth of the face, positive towards the camera.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    variant: str
    input_size: int = Field(gt=0)
    heatmap_size: int = Field(gt=0)
    num_landmarks: int = Field(default=68, gt=0)
    latent_dim: int = Field(default=99, gt=0)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    color_order: Literal["RGB"] = "RGB"
    depth_scale: float = Field(gt=0)
    crop_scale: float = Field(default=1.3, gt=0)
    heatmap_sigma: float = Field(default=1.5, gt=0)
    softargmax_radius: int = Field(default=4, ge=1)
    landmark_convention: Literal["3DA-2D", "2D"] = "3DA-2D"
    graph: Literal["crop", "frame"] = "crop"
    refiner: RefinerSpec | None = None
    source_sha256: str | None = None
    weights_sha256: str | None = None
    training: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def for_variant(cls, variant: str, **overrides: Any) -> ModelSpec:
        from parface_sdk.nn.variants import get_variant

        config = get_variant(variant)
        values: dict[str, Any] = dict(
            variant=config.name,
            input_size=config.input_size,
            heatmap_size=config.heatmap_size,
            num_landmarks=config.num_landmarks,
            latent_dim=config.latent_dim,
            depth_scale=config.input_size / 2,
            heatmap_sigma=config.heatmap_size / 64 * 1.5,
            softargmax_radius=max(2, round(config.heatmap_size / 64 * 4)),
        )
        values.update(overrides)
        return cls(**values)

    def to_json(self) -> str:
        # A model without a refiner writes the same JSON as before the field existed.
        return self.model_dump_json(exclude={"refiner"} if self.refiner is None else None)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "model") -> ModelSpec:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ModelLoadError(f"{source}: the ParFace spec is not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ModelLoadError(f"{source}: the ParFace spec must be a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ModelLoadError(
                f"{source}: spec schema version {version!r} is not understood by this parface-sdk "
                f"(it reads version {SCHEMA_VERSION}); upgrade parface-sdk or re-export the model"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ModelLoadError(f"{source}: invalid ParFace spec: {exc}") from exc
