"""D: the WGAN-GP critic on images. No batch norm, since the gradient penalty is per sample."""

from __future__ import annotations

import torch
from torch import nn


class Discriminator(nn.Module):
    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for width in widths:
            layers += [nn.Conv2d(previous, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            previous = width
        self.features = nn.Sequential(*layers)
        self.score = nn.Linear(previous, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(image), 1), 1)
        return self.score(pooled).squeeze(1)
