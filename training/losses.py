"""Losses of ParFace-Net's stages: adaptive wing, WGAN-GP penalty, perceptual (VGG-19), reconstruction.

VGG-19 is written out here because torchvision cannot be installed beside this torch; it reads
torchvision's weights file layout (``features.N.weight`` / ``features.N.bias``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- heatmap losses


def adaptive_wing_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    omega: float = 14.0,
    theta: float = 0.5,
    epsilon: float = 1.0,
    alpha: float = 2.1,
) -> torch.Tensor:
    """Element-wise adaptive wing loss (Wang et al. 2019), no reduction.

    ``omega * ln(1 + |d / epsilon| ** (alpha - y))`` for ``|d| < theta``, else ``A |d| - C``, where
    ``y`` is the target heatmap value and A, C make the two branches meet smoothly at ``theta``.
    """
    delta = (target - prediction).abs()
    power = alpha - target
    ratio = theta / epsilon
    a = omega * (1.0 / (1.0 + ratio**power)) * power * ratio ** (power - 1.0) / epsilon
    c = theta * a - omega * torch.log1p(ratio**power)
    small = omega * torch.log1p((delta / epsilon) ** power)
    large = a * delta - c
    return torch.where(delta < theta, small, large)


def awing_weight_map(target: torch.Tensor, threshold: float = 0.2, weight: float = 10.0) -> torch.Tensor:
    """The AWing paper's loss weighting ``W * M + 1``: M is the foreground (target > threshold)
    dilated by a 3x3 grey dilation, so pixels near each landmark count ``weight + 1`` times."""
    foreground = (target > threshold).to(target.dtype)
    dilated = F.max_pool2d(foreground, kernel_size=3, stride=1, padding=1)
    return weight * dilated + 1.0


def heatmap_loss(prediction: torch.Tensor, target: torch.Tensor, kind: str = "awing") -> torch.Tensor:
    """Mean heatmap loss: ``awing`` (weighted adaptive wing) or ``mse``."""
    if kind == "awing":
        return (adaptive_wing_loss(prediction, target) * awing_weight_map(target)).mean()
    if kind == "mse":
        return F.mse_loss(prediction, target)
    raise ValueError(f"unknown heatmap loss {kind!r}; use 'awing' or 'mse'")


def reconstruction_loss(reconstruction: torch.Tensor, image: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    if kind == "l2":
        return F.mse_loss(reconstruction, image)
    if kind == "l1":
        return F.l1_loss(reconstruction, image)
    raise ValueError(f"unknown reconstruction loss {kind!r}; use 'l2' or 'l1'")


# --------------------------------------------------------------------------- adversarial


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    gamma: float = 10.0,
    mix: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty ``gamma * E[(||grad D(x_mix)||_2 - 1)^2]`` on random real/fake interpolates.

    ``mix`` (shape (B,)) fixes the interpolation weights; by default they are drawn uniformly.
    """
    if mix is None:
        mix = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)
    mix = mix.view(-1, *([1] * (real.dim() - 1)))
    mixed = (mix * real.detach() + (1.0 - mix) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (gradients,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = gradients.flatten(1).norm(2, dim=1)
    return gamma * ((norms - 1.0) ** 2).mean()


def critic_loss(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, gamma: float = 10.0
) -> torch.Tensor:
    """WGAN-GP critic loss: ``E[D(fake)] - E[D(real)] + penalty``."""
    fake = fake.detach()
    return critic(fake).mean() - critic(real).mean() + gradient_penalty(critic, real, fake, gamma)


def generator_adversarial_loss(critic: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    return -critic(fake).mean()


# --------------------------------------------------------------------------- perceptual

# torchvision's vgg19 ``features``: numbers are conv widths, "M" a 2x2 max-pool.
_VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                 512, 512, 512, 512, "M")  # fmt: skip
PERCEPTUAL_LAYERS = (3, 8, 15, 22)  # relu1_2, relu2_2, relu3_3, relu4_2
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_features(last_index: int = 22) -> nn.Sequential:
    """VGG-19 ``features`` up to and including ``last_index``, with torchvision's module indices."""
    layers: list[nn.Module] = []
    channels = 3
    for item in _VGG19_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=False)]
            channels = int(item)
        if len(layers) > last_index:
            break
    return nn.Sequential(*layers[: last_index + 1])


class PerceptualLoss(nn.Module):
    """Sum over VGG-19 layers of the feature MSE normalised by C*H*W (paper eq. 2), batch-averaged.

    Inputs are crops normalised as ``(pixel / 255 - mean) / std`` with the model spec's mean/std;
    they are mapped to ImageNet normalisation before VGG. The network is frozen.
    """

    def __init__(
        self,
        weights: str | Path,
        layers: tuple[int, ...] = PERCEPTUAL_LAYERS,
        input_mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
        input_std: tuple[float, float, float] = (0.5, 0.5, 0.5),
    ) -> None:
        super().__init__()
        self.layers = tuple(sorted(layers))
        self.features = vgg19_features(self.layers[-1])
        load_vgg19_weights(self.features, weights)
        self.features.requires_grad_(False).eval()
        scale = torch.tensor(input_std) / torch.tensor(_IMAGENET_STD)
        shift = (torch.tensor(input_mean) - torch.tensor(_IMAGENET_MEAN)) / torch.tensor(_IMAGENET_STD)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self.features.eval()  # always frozen
        return self

    def _activations(self, image: torch.Tensor) -> list[torch.Tensor]:
        x = image * self.scale + self.shift
        out = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.layers:
                out.append(x)
        return out

    def forward(self, reconstruction: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        total = reconstruction.new_zeros(())
        with torch.no_grad():
            targets = self._activations(image)
        for feature, target in zip(self._activations(reconstruction), targets):
            # ||V(x_hat) - V(x)||^2 / (C H W) per sample, averaged over the batch.
            total = total + (feature - target).pow(2).mean(dim=(1, 2, 3)).mean()
        return total


def load_vgg19_weights(features: nn.Sequential, path: str | Path) -> None:
    """Load a torchvision-format VGG-19 file (``vgg19-dcbb9e9d.pth``: keys ``features.N.*``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no VGG-19 weights at {path}; give a torchvision vgg19 .pth file")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in state:
        state = state["state_dict"]
    wanted = {name for name, _ in features.named_parameters()}
    picked = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    picked = {k: v for k, v in picked.items() if k in wanted}
    missing = wanted - picked.keys()
    if missing:
        raise ValueError(f"{path} is not a torchvision VGG-19 file: missing {sorted(missing)[:4]}")
    features.load_state_dict(picked)


def build_perceptual_loss(weights: str | Path | None, mean, std) -> tuple[PerceptualLoss | None, str]:
    """The perceptual loss if weights are given, else ``None``, with a status for the metadata."""
    if weights is None:
        logger.warning(
            "!!! NO VGG-19 WEIGHTS: the perceptual loss is OFF for this run. Give a torchvision "
            "vgg19-dcbb9e9d.pth as `vgg19_weights` in the recipe to train as the paper does. !!!"
        )
        return None, "off (no VGG-19 weights)"
    return PerceptualLoss(weights, input_mean=tuple(mean), input_std=tuple(std)), f"on ({Path(weights).name})"
