"""Local refinement (model v4): per-point offsets regressed from high-resolution patches.

ParFace-Net's points all pass through a 99-d code and a decoder with a strong, symmetric shape
prior, which barely follows a change on one side of the face. The refiner reads local evidence:
the global network runs on the crop average-pooled to ``base_input_size``; then for every point
from ``first_point`` on (brows, eyes, nose, mouth; the jaw keeps the global 3DA-2D estimate) a
grey patch is sampled around the current estimate at full resolution with ``grid_sample``, a
small CNN shared by all points (plus a learned per-point embedding) regresses an offset, and the
point moves; once per cascade step. Depth and per-point confidence come from the global network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from parface_sdk.nn.parface_net import ParFaceNet
from parface_sdk.spec import ModelSpec, RefinerSpec


def base_spec(spec: ModelSpec) -> ModelSpec:
    """The spec of the global network inside a refined model (its own, smaller crop)."""
    refiner = spec.refiner
    if refiner is None:
        raise ValueError("base_spec needs a spec with a refiner")
    ratio = refiner.base_input_size / spec.input_size
    return spec.model_copy(
        update={
            "input_size": refiner.base_input_size,
            "depth_scale": spec.depth_scale * ratio,
            "refiner": None,
        }
    )


def sample_patches(gray: torch.Tensor, points: torch.Tensor, size: int, spacing: float) -> torch.Tensor:
    """``(B * P, 1, size, size)`` patches of ``gray`` (B, 1, S, S) centred on ``points`` (B, P, 2)
    in crop pixels (pixel centres at integers), ``spacing`` pixels between samples, zero outside."""
    batch, count = points.shape[:2]
    extent = gray.shape[-1]
    steps = (torch.arange(size, dtype=gray.dtype, device=gray.device) - (size - 1) / 2.0) * spacing
    gy, gx = torch.meshgrid(steps, steps, indexing="ij")
    offsets = torch.stack([gx, gy], dim=-1)  # (size, size, 2)
    where = points.view(batch, count, 1, 1, 2) + offsets.view(1, 1, size, size, 2)
    grid = (where / (extent - 1) * 2.0 - 1.0).reshape(batch, count * size, size, 2)
    patches = F.grid_sample(gray, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return patches.reshape(batch * count, 1, size, size)


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class PatchStep(nn.Module):
    """One cascade step: patches -> CNN -> (features, point embedding) -> offset in pixels."""

    def __init__(self, count: int, config: RefinerSpec, spacing: float) -> None:
        super().__init__()
        w = config.widths
        self.size, self.spacing, self.count = config.patch_size, float(spacing), count
        self.features = nn.Sequential(
            _conv(1, w[0], 2), _conv(w[0], w[1], 2), _conv(w[1], w[2], 1), _conv(w[2], w[3], 2)
        )
        cells = (config.patch_size // 8) ** 2
        self.embedding = nn.Parameter(torch.randn(count, config.embedding) * 0.1)
        self.head = nn.Sequential(
            nn.Linear(w[3] * cells + config.embedding, config.hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.hidden, 2),
        )
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, gray: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        batch = points.shape[0]
        patches = sample_patches(gray, points, self.size, self.spacing)
        features = self.features(patches).flatten(1).view(batch, self.count, -1)
        embedding = self.embedding.unsqueeze(0).expand(batch, -1, -1)
        offsets = self.head(torch.cat([features, embedding], dim=2))
        return points + offsets * self.spacing


class RefinedParFaceNet(nn.Module):
    """ParFace-Net plus the patch refiner; same ``forward`` contract as :class:`ParFaceNet`.

    ``forward(images)`` takes normalised crops of ``spec.input_size`` and returns
    ``(landmarks (B, N, 3), confidence (B, N))`` in crop pixels of that size.
    ``forward_steps`` also returns the refined points after each step (training supervises all).
    """

    def __init__(self, spec: ModelSpec, with_discriminator: bool = False) -> None:
        super().__init__()
        if spec.refiner is None:
            raise ValueError("RefinedParFaceNet needs spec.refiner")
        self.spec = spec
        self.base = ParFaceNet(base_spec(spec), with_discriminator=with_discriminator)
        config = spec.refiner
        if spec.input_size % config.base_input_size:
            raise ValueError("input_size must be a multiple of refiner.base_input_size")
        self.pool = spec.input_size // config.base_input_size
        self.first = config.first_point
        count = spec.num_landmarks - config.first_point
        self.steps = nn.ModuleList(PatchStep(count, config, spacing) for spacing in config.spacings)

    def global_estimate(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The global network's landmarks and confidence, in this model's crop pixels."""
        small = F.avg_pool2d(images, self.pool) if self.pool > 1 else images
        landmarks, confidence = self.base(small)
        # pixel centre i of the pooled crop sits at pool * i + (pool - 1) / 2 here
        xy = landmarks[..., :2] * self.pool + (self.pool - 1) / 2.0
        return torch.cat([xy, landmarks[..., 2:] * self.pool], dim=2), confidence

    def refine(self, images: torch.Tensor, landmarks: torch.Tensor) -> list[torch.Tensor]:
        gray = images.mean(dim=1, keepdim=True)
        points = landmarks[:, self.first :, :2]
        out = []
        for step in self.steps:
            points = step(gray, points)
            out.append(points)
        return out

    def forward_steps(self, images: torch.Tensor):
        landmarks, confidence = self.global_estimate(images)
        return landmarks, confidence, self.refine(images, landmarks)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        landmarks, confidence, steps = self.forward_steps(images)
        xy = torch.cat([landmarks[:, : self.first, :2], steps[-1]], dim=1)
        return torch.cat([xy, landmarks[..., 2:]], dim=2), confidence


def build_network(spec: ModelSpec, with_discriminator: bool = False) -> nn.Module:
    """The network a spec describes: ParFace-Net, or ParFace-Net with its patch refiner."""
    if spec.refiner is not None:
        return RefinedParFaceNet(spec, with_discriminator=with_discriminator)
    return ParFaceNet(spec, with_discriminator=with_discriminator)
