"""The training losses against their formulas at hand-picked points."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shared_data import SHARED  # noqa: E402  (the one shared-data path, honouring PARFACE_SHARED)

from parface_training.losses import (  # noqa: E402
    PERCEPTUAL_LAYERS,
    VGG16_LAYERS,
    PerceptualLoss,
    adaptive_wing_loss,
    awing_weight_map,
    build_perceptual_loss,
    gradient_penalty,
    heatmap_loss,
    vgg16_features,
    vgg19_features,
    vgg_layer_names,
)

VGG16_NPZ = SHARED / "models" / "vgg16-imagenet" / "vgg16_features_conv0-6.npz"

OMEGA, THETA, EPSILON, ALPHA = 14.0, 0.5, 1.0, 2.1


def awing_reference(y: float, y_hat: float) -> float:
    d = abs(y - y_hat)
    p = ALPHA - y
    a = OMEGA * (1 / (1 + (THETA / EPSILON) ** p)) * p * (THETA / EPSILON) ** (p - 1) / EPSILON
    c = THETA * a - OMEGA * math.log(1 + (THETA / EPSILON) ** p)
    if d < THETA:
        return OMEGA * math.log(1 + (d / EPSILON) ** p)
    return a * d - c


@pytest.mark.parametrize(
    "target, prediction",
    [(0.0, 0.1), (0.0, 0.3), (1.0, 0.8), (0.5, 0.2),  # small-error branch
     (0.0, 0.9), (1.0, 0.2), (0.3, -0.6), (0.9, 2.0)],  # linear branch
)  # fmt: skip
def test_awing_matches_formula(target, prediction):
    value = adaptive_wing_loss(torch.tensor([prediction]), torch.tensor([target])).item()
    assert value == pytest.approx(awing_reference(target, prediction), rel=1e-5, abs=1e-6)


def test_awing_explicit_value():
    # y = 0, error 0.25: 14 * ln(1 + 0.25 ** 2.1)
    value = adaptive_wing_loss(torch.tensor([0.25]), torch.tensor([0.0])).item()
    assert value == pytest.approx(14 * math.log(1 + 0.25**2.1), rel=1e-6)


@pytest.mark.parametrize("target", [0.0, 0.4, 1.0])
def test_awing_continuous_and_smooth_at_theta(target):
    below = torch.tensor([target + THETA - 1e-9], dtype=torch.float64, requires_grad=True)
    above = torch.tensor([target + THETA + 1e-9], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([target], dtype=torch.float64)
    low, high = adaptive_wing_loss(below, y), adaptive_wing_loss(above, y)
    assert low.item() == pytest.approx(high.item(), abs=1e-6)
    (grad_low,) = torch.autograd.grad(low.sum(), below)
    (grad_high,) = torch.autograd.grad(high.sum(), above)
    assert grad_low.item() == pytest.approx(grad_high.item(), rel=1e-5)


def test_awing_zero_at_perfect_prediction():
    target = torch.rand(2, 3, 8, 8)
    assert adaptive_wing_loss(target.clone(), target).abs().max().item() < 1e-6


def test_weight_map_dilates_foreground():
    target = torch.zeros(1, 1, 7, 7)
    target[0, 0, 3, 3] = 1.0
    weights = awing_weight_map(target)
    assert weights[0, 0, 2:5, 2:5].eq(11.0).all()
    assert weights.sum().item() == pytest.approx(9 * 11 + 40 * 1)


def test_heatmap_loss_kinds():
    prediction, target = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4) * 0.1
    assert heatmap_loss(prediction, target, "mse").item() == pytest.approx(0.01)
    assert heatmap_loss(prediction, target, "awing").item() > 0
    with pytest.raises(ValueError, match="awing"):
        heatmap_loss(prediction, target, "l3")


class LinearCritic(torch.nn.Module):
    """D(x) = <w, x>: its gradient is w everywhere, so the penalty is gamma * (|w| - 1)^2."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(weight)

    def forward(self, x):
        return (x * self.weight).flatten(1).sum(1)


@pytest.mark.parametrize("scale", [0.0, 0.5, 1.0, 3.0])
def test_gradient_penalty_linear_critic(scale):
    weight = torch.zeros(3, 2, 2)
    weight[0, 0, 0], weight[1, 1, 1] = 3.0 * scale, 4.0 * scale  # |w| = 5 * scale
    critic = LinearCritic(weight)
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    penalty = gradient_penalty(critic, real, fake, gamma=10.0)
    assert penalty.item() == pytest.approx(10.0 * (5.0 * scale - 1.0) ** 2, rel=1e-5, abs=1e-6)


def test_gradient_penalty_quadratic_critic_at_fixed_mix():
    # D(x) = 0.5 * |x|^2 has gradient x; with mix 1 the interpolate is the real sample.
    critic = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731
    real = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    fake = torch.zeros(2, 2)
    penalty = gradient_penalty(critic, real, fake, gamma=10.0, mix=torch.ones(2))
    assert penalty.item() == pytest.approx(10.0 * ((5 - 1) ** 2 + (2 - 1) ** 2) / 2)


def test_gradient_penalty_is_differentiable_in_critic():
    critic = LinearCritic(torch.full((1, 2, 2), 1.0))
    penalty = gradient_penalty(critic, torch.randn(2, 1, 2, 2), torch.randn(2, 1, 2, 2))
    penalty.backward()
    # d/dw of 10 * (|w| - 1)^2 with |w| = 2: 20 * (2 - 1) * w / |w| = 10 per entry.
    assert torch.allclose(critic.weight.grad, torch.full((1, 2, 2), 10.0), atol=1e-4)


def test_vgg19_layout_matches_torchvision_indices():
    features = vgg19_features(22)
    assert len(features) == 23
    assert isinstance(features[21], torch.nn.Conv2d) and features[21].in_channels == 512
    assert all(isinstance(features[i], torch.nn.ReLU) for i in PERCEPTUAL_LAYERS)
    assert isinstance(features[4], torch.nn.MaxPool2d) and isinstance(features[18], torch.nn.MaxPool2d)


def test_perceptual_loss_loads_torchvision_layout(tmp_path):
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in vgg19_features(36).state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    loss = PerceptualLoss(path)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    assert loss(image, image).item() == pytest.approx(0.0, abs=1e-7)
    assert loss(image, image.flip(3)).item() > 0
    assert not any(p.requires_grad for p in loss.parameters())


def test_perceptual_loss_rejects_a_wrong_file(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="VGG-19"):
        PerceptualLoss(path)


def test_vgg16_layout_matches_torchvision_indices():
    features = vgg16_features(15)
    assert len(features) == 16
    convs = [i for i, layer in enumerate(features) if isinstance(layer, torch.nn.Conv2d)]
    assert convs == [0, 2, 5, 7, 10, 12, 14]  # the keys of the shipped conv0-6 .npz
    assert all(isinstance(features[i], torch.nn.ReLU) for i in VGG16_LAYERS)
    assert vgg_layer_names("VGG16", VGG16_LAYERS) == ["relu1_2", "relu2_2", "relu3_3"]
    assert vgg_layer_names("VGG-19", PERCEPTUAL_LAYERS) == ["relu1_2", "relu2_2", "relu3_3", "relu4_2"]


def _save_npz(path, features) -> None:
    np.savez(path, **{f"features.{k}": v.numpy() for k, v in features.state_dict().items()})


def test_the_file_picks_the_network(tmp_path):
    torch.manual_seed(0)
    full16 = {f"features.{k}": v for k, v in vgg16_features(30).state_dict().items()}
    torch.save(full16, tmp_path / "weights.pth")  # features.17 is a conv: VGG16 whatever the name
    loss = PerceptualLoss(tmp_path / "weights.pth")
    assert (loss.network, loss.layers) == ("VGG16", VGG16_LAYERS)
    _save_npz(tmp_path / "vgg16_cut.npz", vgg16_features(15))  # through conv3_3: told by the name
    assert PerceptualLoss(tmp_path / "vgg16_cut.npz").network == "VGG16"
    _save_npz(tmp_path / "cut.npz", vgg16_features(15))
    with pytest.raises(ValueError, match="'vgg16' or 'vgg19' in the file name"):
        PerceptualLoss(tmp_path / "cut.npz")
    # A VGG-19 file cut before relu4_2 cannot give the paper's default layers.
    _save_npz(tmp_path / "vgg19_cut.npz", vgg19_features(15))
    with pytest.raises(ValueError, match="missing features.16"):
        PerceptualLoss(tmp_path / "vgg19_cut.npz")
    assert PerceptualLoss(tmp_path / "vgg19_cut.npz", layers=(3, 8)).layer_names == ["relu1_2", "relu2_2"]


def test_wrong_perceptual_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="VGG16 .npz"):
        PerceptualLoss(tmp_path / "absent_vgg16.npz")
    (tmp_path / "text_vgg16.npz").write_text("not an archive")
    with pytest.raises(ValueError, match="could not be read as VGG16 or VGG-19"):
        PerceptualLoss(tmp_path / "text_vgg16.npz")
    np.savez(tmp_path / "resnet_vgg16.npz", **{"layer1.0.weight": np.zeros((64, 3, 3, 3), np.float32)})
    with pytest.raises(ValueError, match="no convolution weights"):
        PerceptualLoss(tmp_path / "resnet_vgg16.npz")
    wrong = {f"features.{k}": v.numpy() for k, v in vgg16_features(15).state_dict().items()}
    wrong["features.5.weight"] = np.zeros((128, 32, 3, 3), np.float32)
    np.savez(tmp_path / "vgg16_wrong.npz", **wrong)
    with pytest.raises(ValueError, match=r"features.5.weight has shape \(128, 32, 3, 3\)"):
        PerceptualLoss(tmp_path / "vgg16_wrong.npz")


@pytest.mark.skipif(not VGG16_NPZ.is_file(), reason=f"shared VGG16 weights not found at {VGG16_NPZ}")
def test_shipped_vgg16_features_as_perceptual_loss():
    loss, status = build_perceptual_loss(VGG16_NPZ, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert status == "on (VGG16 ImageNet relu1_2/2_2/3_3, vgg16_features_conv0-6.npz)"
    assert loss.metadata()["layers"] == [3, 8, 15] and len(loss.metadata()["sha256"]) == 64
    assert not any(p.requires_grad for p in loss.parameters())
    # torchvision's ImageNet VGG16, not noise: the first conv1_1 filter (red channel) as torchvision
    # prints it (``vgg16(weights="IMAGENET1K_V1").features[0].weight[0, 0]``).
    published = torch.tensor(
        [[-0.5537, 0.1427, 0.5290], [-0.5831, 0.3566, 0.7657], [-0.6902, -0.0480, 0.4841]]
    )
    assert torch.allclose(loss.features[0].weight[0, 0], published, atol=1e-4)
    torch.manual_seed(0)
    # A smooth image (low-pass noise) and small / large changes of it.
    image = torch.nn.functional.interpolate(torch.rand(2, 3, 8, 8), size=48, mode="bilinear") * 2 - 1
    assert loss(image, image).item() == pytest.approx(0.0, abs=1e-8)
    near = (image + 0.02 * torch.randn_like(image)).requires_grad_(True)
    value = loss(near, image)
    value.backward()
    assert value.item() > 0 and torch.isfinite(near.grad).all() and near.grad.abs().sum() > 0
    far = image.flip(3) * 0.5
    assert loss(far, image).item() > value.item()


def test_pair_offset_error_weighs_only_errors_that_break_the_pairs():
    from parface_training.stages.joint import pair_offset_error

    landmarks = torch.rand(3, 68, 2, generator=torch.Generator().manual_seed(0)) * 100
    assert pair_offset_error(landmarks, landmarks).item() == 0.0
    # Any common translation, per face, is no error; nor is one vector shared by a pair.
    shifted = landmarks + torch.tensor([[[4.0, -2.5]], [[-1.0, 7.0]], [[0.0, 3.0]]])
    assert pair_offset_error(shifted, landmarks).item() == pytest.approx(0.0, abs=1e-5)
    both = landmarks.clone()
    both[:, [48, 54]] += torch.tensor([0.0, 5.0])
    assert pair_offset_error(both, landmarks).item() == pytest.approx(0.0, abs=1e-5)
    # One mouth corner of one face moved by (0, d): the offsets 48 - 54 and 54 - 48 both change by
    # d in y, out of 3 faces x 68 points x 2 coordinates.
    d = 6.0
    one = landmarks.clone()
    one[1, 48, 1] += d
    assert pair_offset_error(one, landmarks).item() == pytest.approx(2 * d / (3 * 68 * 2), rel=1e-5)
    # A point on the midline is its own partner: moving it alone changes no offset.
    chin = landmarks.clone()
    chin[0, 8] += torch.tensor([3.0, 3.0])
    assert pair_offset_error(chin, landmarks).item() == pytest.approx(0.0, abs=1e-5)
    # Symmetric in its arguments (an L1 of a difference) and differentiable in the prediction.
    prediction = one.clone().requires_grad_(True)
    error = pair_offset_error(prediction, landmarks)
    assert error.item() == pytest.approx(pair_offset_error(landmarks, one).item())
    error.backward()
    moved_grad = prediction.grad[1, [48, 54], 1]
    assert torch.allclose(moved_grad, torch.tensor([2.0, -2.0]) / (3 * 68 * 2))
    assert prediction.grad.abs().sum().item() == pytest.approx(4.0 / (3 * 68 * 2), rel=1e-5)
