"""The frame graph: crop inside the model, so a GPU only receives the frame and returns landmarks.

Inputs: ``frame`` (1, 3, H, W) float32 RGB in 0..255, and ``transforms`` (B, 2, 3), the same
image->crop affines the CPU path uses (:mod:`parface_sdk.crop`). Each crop is sampled with
GridSample (bilinear, zero padding, ``align_corners=False``), which matches ``cv2.warpAffine``
with ``INTER_LINEAR`` and a black border up to cv2's 1/32-pixel fixed-point weights and its
rounding to uint8. The landmarks are mapped back through the inverse affine; depth is divided by
the crop's scale, exactly like :func:`parface_sdk.decode.crop_to_image`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.onnx.operators import shape_as_tensor

from parface_sdk.backends.graph_io import frame_input
from parface_sdk.spec import ModelSpec

__all__ = ["FrameGraph", "example_inputs", "frame_input"]


def _inverse(transforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of (B, 2, 3) affines, written out (ONNX has no matrix inverse op)."""
    a, b, tx = transforms[:, 0, 0], transforms[:, 0, 1], transforms[:, 0, 2]
    c, d, ty = transforms[:, 1, 0], transforms[:, 1, 1], transforms[:, 1, 2]
    det = a * d - b * c
    inv = torch.stack([torch.stack([d, -b], 1), torch.stack([-c, a], 1)], 1) / det.view(-1, 1, 1)
    shift = -(inv @ torch.stack([tx, ty], 1).unsqueeze(2)).squeeze(2)
    return inv, shift


class FrameGraph(nn.Module):
    """Wraps a ParFaceNet: ``forward(frame, transforms) -> (landmarks frame px, confidence)``."""

    def __init__(self, net: nn.Module, spec: ModelSpec | None = None, return_crops: bool = False):
        super().__init__()
        self.net = net
        self.spec = spec or net.spec
        self.return_crops = return_crops
        size = self.spec.input_size
        grid = torch.arange(size, dtype=torch.float32)
        ys, xs = torch.meshgrid(grid, grid, indexing="ij")
        # Homogeneous crop-pixel coordinates (S*S, 2), row-major like the crop itself.
        self.register_buffer("crop_points", torch.stack([xs, ys], 2).reshape(-1, 2), persistent=False)
        self.register_buffer("mean", torch.tensor(self.spec.mean).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(self.spec.std).view(1, 3, 1, 1) * 255.0, persistent=False)

    def crops(self, frame: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) crops in 0..255, sampled from the frame without copying it per face."""
        size = self.spec.input_size
        inv, shift = _inverse(transforms)
        points = self.crop_points.unsqueeze(0) @ inv.transpose(1, 2) + shift.unsqueeze(1)  # (B, S*S, 2)
        # Image pixel (centres at integers) -> GridSample's [-1, 1] with align_corners=False.
        # The frame size is read as a tensor so the exported graph keeps H and W dynamic.
        shape = shape_as_tensor(frame).to(frame.dtype)
        scale = 2.0 / torch.stack([shape[3], shape[2]])
        grid = (points + 0.5) * scale - 1.0
        # All faces stacked as one tall grid over the single frame: (1, B*S, S, 2).
        grid = grid.reshape(1, -1, size, 2)
        sampled = nn.functional.grid_sample(
            frame, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )  # (1, 3, B*S, S)
        return sampled.reshape(3, -1, size, size).transpose(0, 1)

    def forward(self, frame: torch.Tensor, transforms: torch.Tensor):
        crops = self.crops(frame, transforms)
        landmarks, confidence = self.net((crops - self.mean) / self.std)
        inv, shift = _inverse(transforms)
        xy = landmarks[:, :, :2] @ inv.transpose(1, 2) + shift.unsqueeze(1)
        scale = torch.sqrt(
            torch.abs(transforms[:, 0, 0] * transforms[:, 1, 1] - transforms[:, 0, 1] * transforms[:, 1, 0])
        )
        z = landmarks[:, :, 2:] / scale.view(-1, 1, 1)
        points = torch.cat([xy, z], dim=2)
        if self.return_crops:
            return points, confidence, crops
        return points, confidence


def example_inputs(spec: ModelSpec, height: int = 96, width: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """A tracing example: a small frame and two different crops (so no dimension is folded to 1)."""
    from parface_sdk import crop

    frame = torch.zeros(1, 3, height, width)
    transforms = np.stack(
        [
            crop.similarity(np.array([width / 2, height / 2]), height * 0.8, spec.input_size),
            crop.similarity(np.array([width / 3, height / 2]), height * 0.5, spec.input_size, 0.2),
        ]
    )
    return frame, torch.from_numpy(transforms).float()
