"""Losses of ParFace-Net's stages: adaptive wing, WGAN-GP penalty, perceptual (VGG16 or VGG-19),
reconstruction.

VGG16 and VGG-19 are written out here because torchvision cannot be installed beside this torch;
they read torchvision's weights layout (``features.N.weight`` / ``features.N.bias``) from a
torchvision ``.pth`` or from a ``.npz`` of the same arrays. The paper uses VGG-19; the file picks.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
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

# torchvision's vgg16 / vgg19 ``features``: numbers are conv widths, "M" a 2x2 max-pool. The module
# indices (conv, ReLU, pool) are torchvision's, so ``features.N.weight`` keys load unchanged.
VGG16, VGG19 = "VGG16", "VGG-19"
_VGG_LAYOUTS = {
    VGG16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    VGG19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
            512, 512, 512, 512, "M"),
}  # fmt: skip
_VGG19_LAYOUT = _VGG_LAYOUTS[VGG19]
VGG19_LAYERS = (3, 8, 15, 22)  # relu1_2, relu2_2, relu3_3, relu4_2 (the paper's network)
VGG16_LAYERS = (3, 8, 15)  # relu1_2, relu2_2, relu3_3 (LPIPS-VGG's first three)
PERCEPTUAL_LAYERS = VGG19_LAYERS
DEFAULT_LAYERS = {VGG16: VGG16_LAYERS, VGG19: VGG19_LAYERS}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_features(network: str, last_index: int) -> nn.Sequential:
    """``network`` (``"VGG16"`` or ``"VGG-19"``) ``features`` up to and including ``last_index``,
    with torchvision's module indices."""
    if network not in _VGG_LAYOUTS:
        raise ValueError(f"unknown perceptual network {network!r}; use {VGG16!r} or {VGG19!r}")
    layers: list[nn.Module] = []
    channels = 3
    for item in _VGG_LAYOUTS[network]:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=False)]
            channels = int(item)
        if len(layers) > last_index:
            break
    if len(layers) <= last_index:
        raise ValueError(f"{network} features have {len(layers)} modules; index {last_index} does not exist")
    return nn.Sequential(*layers[: last_index + 1])


def vgg19_features(last_index: int = 22) -> nn.Sequential:
    """VGG-19 ``features`` up to and including ``last_index``, with torchvision's module indices."""
    return vgg_features(VGG19, last_index)


def vgg16_features(last_index: int = 15) -> nn.Sequential:
    """VGG16 ``features`` up to and including ``last_index``, with torchvision's module indices."""
    return vgg_features(VGG16, last_index)


def vgg_layer_names(network: str, indices: tuple[int, ...]) -> list[str]:
    """Caffe-style names of ``features`` modules: 3 -> ``relu1_2``, 14 -> ``conv3_3``, 4 -> ``pool1``."""
    names: list[str] = []
    block, conv = 1, 0
    for item in _VGG_LAYOUTS[network]:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            conv += 1
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
    return [names[i] for i in indices]


def read_vgg_state(path: str | Path) -> dict[str, torch.Tensor]:
    """``features.N.*`` tensors (keys without ``features.``) of a ``.npz`` of arrays or a torch file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no perceptual-network weights at {path}; give a VGG16 .npz of torchvision-layout arrays "
            "(features.N.weight / .bias) or a torchvision vgg16 / vgg19 .pth"
        )
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                state = {key: torch.from_numpy(np.array(arrays[key])) for key in arrays.files}
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any reader failure means "not a weights file"
        raise ValueError(
            f"{path} could not be read as VGG16 or VGG-19 weights (a .npz of arrays or a torch .pth): {error}"
        ) from error
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a VGG16 or VGG-19 weights file: it holds a {type(state).__name__}")
    return {
        key[len("features.") :]: value
        for key, value in state.items()
        if key.startswith("features.") and isinstance(value, torch.Tensor)
    }


def detect_vgg(state: dict[str, torch.Tensor], path: str | Path) -> str:
    """VGG16 or VGG-19 from the convolutions a file holds (torchvision indices: VGG-19's fourth
    block-3 convolution is ``features.16``, VGG16's first block-4 one is ``features.17``). Files cut
    before that (through conv3_3, index 14, both networks alike) are told apart by their name."""
    convs = {int(key.split(".")[0]) for key, value in state.items()
             if key.split(".")[0].isdigit() and key.endswith(".weight") and value.dim() == 4}  # fmt: skip
    if not convs:
        raise ValueError(
            f"{path} is not a VGG16 or VGG-19 weights file: no convolution weights under features.N.weight"
        )
    if 16 in convs:
        return VGG19
    if 17 in convs:
        return VGG16
    name = Path(path).name.lower().replace("-", "").replace("_", "")
    if "vgg16" in name and "vgg19" not in name:
        return VGG16
    if "vgg19" in name and "vgg16" not in name:
        return VGG19
    raise ValueError(
        f"{path} holds VGG convolutions only up to features.{max(convs)}, which VGG16 and VGG-19 share; "
        "put 'vgg16' or 'vgg19' in the file name to say which network it is"
    )


def load_vgg_weights(features: nn.Sequential, state: dict[str, torch.Tensor], network: str, path) -> None:
    """Copy ``state`` (from :func:`read_vgg_state`) into ``features``, checking names and shapes."""
    wanted = dict(features.state_dict())
    missing = sorted(set(wanted) - set(state), key=lambda k: (int(k.split(".")[0]), k))
    if missing:
        raise ValueError(
            f"{path} is not a {network} file reaching features.{len(features) - 1} "
            f"({vgg_layer_names(network, (len(features) - 1,))[0]}): missing features.{missing[0]}"
            + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
        )
    for key, value in wanted.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise ValueError(
                f"{path} is not a {network} weights file: features.{key} has shape "
                f"{tuple(state[key].shape)}, {network} needs {tuple(value.shape)}"
            )
    features.load_state_dict({key: state[key].to(torch.float32) for key in wanted})


class PerceptualLoss(nn.Module):
    """Sum over VGG layers of the feature MSE normalised by C*H*W (paper eq. 2), batch-averaged.

    The network is chosen by the weights file (:func:`detect_vgg`): VGG-19 (the paper's; layers
    relu1_2, relu2_2, relu3_3, relu4_2 by default) or VGG16 (relu1_2, relu2_2, relu3_3 by default,
    e.g. the conv0-6 ``.npz`` of LPIPS' ImageNet VGG16). Inputs are crops normalised as
    ``(pixel / 255 - mean) / std`` with the model spec's mean/std; they are mapped to ImageNet
    normalisation before VGG. The network is frozen.
    """

    def __init__(
        self,
        weights: str | Path,
        layers: tuple[int, ...] | None = None,
        input_mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
        input_std: tuple[float, float, float] = (0.5, 0.5, 0.5),
    ) -> None:
        super().__init__()
        state = read_vgg_state(weights)
        self.network = detect_vgg(state, weights)
        self.layers = tuple(sorted(layers if layers is not None else DEFAULT_LAYERS[self.network]))
        self.layer_names = vgg_layer_names(self.network, self.layers)
        self.weights_name = Path(weights).name
        self.features = vgg_features(self.network, self.layers[-1])
        load_vgg_weights(self.features, state, self.network, weights)
        self.features.requires_grad_(False).eval()
        self.sha256 = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
        scale = torch.tensor(input_std) / torch.tensor(_IMAGENET_STD)
        shift = (torch.tensor(input_mean) - torch.tensor(_IMAGENET_MEAN)) / torch.tensor(_IMAGENET_STD)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def describe(self) -> str:
        """E.g. ``VGG16 ImageNet relu1_2/2_2/3_3, vgg16_features_conv0-6.npz``."""
        names = "/".join(n if i == 0 else n.removeprefix("relu") for i, n in enumerate(self.layer_names))
        return f"{self.network} ImageNet {names}, {self.weights_name}"

    def metadata(self) -> dict:
        """What the checkpoint records about the network: name, layers, weights file and hash."""
        return {
            "network": self.network,
            "layers": list(self.layers),
            "layer_names": list(self.layer_names),
            "weights": self.weights_name,
            "sha256": self.sha256,
        }

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


def build_perceptual_loss(weights: str | Path | None, mean, std) -> tuple[PerceptualLoss | None, str]:
    """The perceptual loss if weights are given, else ``None``, with a status for the metadata:
    ``"on (VGG16 ImageNet relu1_2/2_2/3_3, vgg16_features_conv0-6.npz)"`` or ``"off (...)"``."""
    if weights is None:
        logger.warning(
            "!!! NO PERCEPTUAL WEIGHTS: the perceptual loss is OFF for this run. Give a VGG16 .npz "
            "(features.N arrays) or a torchvision vgg19-dcbb9e9d.pth as `perceptual_weights` in the "
            "recipe to train as the paper does. !!!"
        )
        return None, "off (no perceptual weights)"
    loss = PerceptualLoss(weights, input_mean=tuple(mean), input_std=tuple(std))
    logger.info("perceptual loss: %s", loss.describe())
    return loss, f"on ({loss.describe()})"
