"""Size presets of ParFace-Net. Pure data: importing this module loads no torch."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class VariantConfig(BaseModel):
    """Widths and resolutions of one ParFace-Net variant.

    The decoder starts from ``input_size / 32`` and doubles the resolution in each of its four
    stages, so its last feature map (and the heatmaps) is ``input_size / 2``; one more transposed
    convolution produces the reconstructed image at ``input_size``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    input_size: int
    latent_dim: int = 99
    num_landmarks: int = 68
    encoder_widths: tuple[int, int, int, int]
    encoder_blocks: tuple[int, int, int, int] = (2, 2, 2, 2)
    decoder_start_channels: int
    decoder_widths: tuple[int, int, int, int]
    decoder_blocks: tuple[int, int, int, int] = (1, 1, 1, 1)
    depth_widths: tuple[int, int, int, int]
    depth_blocks: tuple[int, int, int, int] = (2, 2, 2, 2)
    discriminator_widths: tuple[int, ...]

    @property
    def heatmap_size(self) -> int:
        return self.input_size // 2

    @property
    def decoder_start_size(self) -> int:
        return self.input_size // 32


VARIANTS: dict[str, VariantConfig] = {
    # The paper's configuration: 256x256 crops, 128x128 heatmaps, ResNet-18 widths.
    "paper": VariantConfig(
        name="paper",
        input_size=256,
        encoder_widths=(64, 128, 256, 512),
        decoder_start_channels=64,
        decoder_widths=(256, 128, 64, 64),
        depth_widths=(64, 128, 256, 512),
        discriminator_widths=(64, 128, 256, 512, 512),
    ),
    # Real-time on a laptop CPU: 128x128 crops, 64x64 heatmaps, half the widths.
    "light": VariantConfig(
        name="light",
        input_size=128,
        encoder_widths=(32, 64, 128, 256),
        decoder_start_channels=64,
        decoder_widths=(128, 64, 48, 32),
        depth_widths=(16, 32, 64, 128),
        depth_blocks=(1, 1, 1, 1),
        discriminator_widths=(32, 64, 128, 256),
    ),
    # For tests only: tiny and fast, same topology.
    "tiny": VariantConfig(
        name="tiny",
        input_size=64,
        encoder_widths=(8, 16, 16, 32),
        encoder_blocks=(1, 1, 1, 1),
        decoder_start_channels=16,
        decoder_widths=(32, 16, 16, 8),
        depth_widths=(8, 8, 16, 16),
        depth_blocks=(1, 1, 1, 1),
        discriminator_widths=(8, 16, 32),
    ),
}


def get_variant(name: str) -> VariantConfig:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; known: {sorted(VARIANTS)}") from None
