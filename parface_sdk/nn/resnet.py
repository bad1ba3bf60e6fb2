"""ResNet-18 (He et al. 2016) written out, since torchvision cannot be installed beside torch 2.13."""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


def _stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [BasicBlock(in_channels, out_channels, stride)]
    layers += [BasicBlock(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNetTrunk(nn.Module):
    """Stem (7x7/2 conv + 3x3/2 max-pool) and four stages; returns globally pooled features."""

    def __init__(
        self,
        in_channels: int,
        widths: tuple[int, int, int, int],
        blocks: tuple[int, int, int, int] = (2, 2, 2, 2),
        max_pool: bool = True,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1) if max_pool else nn.Identity(),
        )
        stages = []
        previous = widths[0]
        for index, (width, count) in enumerate(zip(widths, blocks)):
            stages.append(_stage(previous, width, count, 1 if index == 0 else 2))
            previous = width
        self.stages = nn.Sequential(*stages)
        self.out_channels = widths[-1]
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        for module in self.modules():
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)  # each residual block starts as identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stages(self.stem(x))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(features, 1), 1)


class Encoder(nn.Module):
    """E: image -> latent code z (ResNet-18 with its classifier replaced by a linear map to z)."""

    def __init__(self, widths, blocks, latent_dim: int) -> None:
        super().__init__()
        self.trunk = ResNetTrunk(3, widths, blocks)
        self.to_latent = nn.Linear(self.trunk.out_channels, latent_dim)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.to_latent(self.trunk(image))


class DepthHead(nn.Module):
    """3D landmark detector: ResNet-18 on the heatmaps, joined with z, regressing normalised depth."""

    def __init__(self, widths, blocks, num_landmarks: int, latent_dim: int) -> None:
        super().__init__()
        # Heatmaps are already at half the crop resolution, so no max-pool after the stem.
        self.trunk = ResNetTrunk(num_landmarks, widths, blocks, max_pool=False)
        hidden = self.trunk.out_channels
        self.regressor = nn.Linear(hidden + latent_dim, num_landmarks)

    def forward(self, heatmaps: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.regressor(torch.cat([self.trunk(heatmaps), z], dim=1))
