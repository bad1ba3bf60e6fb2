"""ParFace-Net assembled: encoder, decoder (image and heatmap heads), depth head, discriminator."""

from __future__ import annotations

import torch
from torch import nn

from parface_sdk.nn.decoder import Decoder
from parface_sdk.nn.discriminator import Discriminator
from parface_sdk.nn.resnet import DepthHead, Encoder
from parface_sdk.nn.softargmax import heatmap_to_crop, soft_argmax
from parface_sdk.nn.variants import VariantConfig, get_variant
from parface_sdk.spec import ModelSpec


class ParFaceNet(nn.Module):
    """The landmark network. ``forward`` maps normalised crops to 68x3 crop-pixel landmarks.

    ``forward(images) -> (landmarks (B, N, 3), confidence (B, N))``: x, y in crop pixels, z in crop
    pixels (normalised depth times ``spec.depth_scale``). The discriminator is built only for
    training (``with_discriminator=True``) and is never part of exported graphs.
    """

    def __init__(self, spec: ModelSpec, with_discriminator: bool = False) -> None:
        super().__init__()
        config = get_variant(spec.variant)
        self.spec = spec
        self.config: VariantConfig = config
        self.encoder = Encoder(config.encoder_widths, config.encoder_blocks, config.latent_dim)
        self.decoder = Decoder(
            config.latent_dim,
            config.decoder_widths,
            config.decoder_blocks,
            config.decoder_start_size,
            config.num_landmarks,
            config.decoder_start_channels,
        )
        self.depth_head = DepthHead(
            config.depth_widths, config.depth_blocks, config.num_landmarks, config.latent_dim
        )
        self.discriminator = Discriminator(config.discriminator_widths) if with_discriminator else None

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder.image(self.encoder(images))

    def heatmaps(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(images)
        return z, self.decoder.heatmaps(z)

    def depth(self, heatmaps: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Normalised depth in [-1, 1] per landmark."""
        return self.depth_head(heatmaps, z)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, heatmaps = self.heatmaps(images)
        xy, confidence = soft_argmax(heatmaps, self.spec.softargmax_radius)
        xy = heatmap_to_crop(xy, self.spec.input_size, self.spec.heatmap_size)
        depth = self.depth(heatmaps, z) * self.spec.depth_scale
        return torch.cat([xy, depth.unsqueeze(2)], dim=2), confidence


def count_parameters(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())
