"""G: the inverted ResNet-18 decoder, with 3FabRec's interleaved transfer layers (ITL).

In image mode (autoencoder stages) the decoder reconstructs the crop from z. In heatmap mode a
3x3 transfer layer follows every stage and a final convolution produces one heatmap per landmark
at half the crop resolution. The transfer layers are residual and start at zero, so before the
landmark stage trains they leave the decoder's features untouched.
"""

from __future__ import annotations

import torch
from torch import nn


class InvertedBlock(nn.Module):
    """A BasicBlock run backwards: the first convolution is transposed and may double resolution."""

    def __init__(self, in_channels: int, out_channels: int, upsample: bool) -> None:
        super().__init__()
        stride = 2 if upsample else 1
        self.conv1 = nn.ConvTranspose2d(
            in_channels, out_channels, 3, stride, 1, output_padding=stride - 1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if upsample or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.ConvTranspose2d(
                    in_channels, out_channels, 1, stride, output_padding=stride - 1, bias=False
                ),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class TransferLayer(nn.Module):
    """Interleaved 3x3 transfer layer: x + bn(relu(conv(x))), initialised to the identity.

    The BatchNorm scale starts at zero so the layer is the identity until the landmark stage
    trains it; it sits *after* the ReLU so that its scale still receives a gradient at zero (the
    first version computed ``relu(bn(conv(x)))``, whose ReLU input was exactly zero, so neither
    the convolution nor the BatchNorm ever learned).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.reset()

    def reset(self) -> None:
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")
        self.bn.reset_parameters()
        self.bn.reset_running_stats()
        nn.init.zeros_(self.bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn(torch.relu(self.conv(x)))


class Decoder(nn.Module):
    def __init__(
        self,
        latent_dim: int,
        widths: tuple[int, int, int, int],
        blocks: tuple[int, int, int, int],
        start_size: int,
        num_landmarks: int,
        start_channels: int,
    ) -> None:
        super().__init__()
        self.start_size = start_size
        self.start_channels = start_channels
        self.from_latent = nn.Linear(latent_dim, start_channels * start_size * start_size, bias=False)
        self.start_norm = nn.Sequential(nn.BatchNorm2d(start_channels), nn.ReLU(inplace=True))
        stages = []
        previous = start_channels
        for width, count in zip(widths, blocks):
            layers = [InvertedBlock(previous, width, upsample=True)]
            layers += [InvertedBlock(width, width, upsample=False) for _ in range(count - 1)]
            stages.append(nn.Sequential(*layers))
            previous = width
        self.stages = nn.ModuleList(stages)
        self.transfer = nn.ModuleList(TransferLayer(width) for width in widths)
        self.to_image = nn.ConvTranspose2d(previous, 3, 3, 2, 1, output_padding=1)
        self.to_heatmaps = nn.Conv2d(previous, num_landmarks, 3, 1, 1)

    def features(self, z: torch.Tensor, with_transfer: bool) -> torch.Tensor:
        x = self.from_latent(z).view(-1, self.start_channels, self.start_size, self.start_size)
        x = self.start_norm(x)
        for stage, transfer in zip(self.stages, self.transfer):
            x = stage(x)
            if with_transfer:
                x = transfer(x)
        return x

    def image(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstructed crop in the normalised range [-1, 1]."""
        return torch.tanh(self.to_image(self.features(z, with_transfer=False)))

    def heatmaps(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_heatmaps(self.features(z, with_transfer=True))

    def landmark_parameters(self) -> list[nn.Parameter]:
        """What the landmark stage trains while the rest of G stays frozen."""
        return [*self.transfer.parameters(), *self.to_heatmaps.parameters()]
