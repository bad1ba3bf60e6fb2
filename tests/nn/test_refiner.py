"""The patch refiner (model v4): patch sampling, the global estimate's coordinates, checkpoint and
ONNX round trips."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch extra is not installed")

from parface_sdk.nn.refiner import RefinedParFaceNet, build_network, sample_patches  # noqa: E402
from parface_sdk.spec import ModelSpec, RefinerSpec  # noqa: E402


def _spec() -> ModelSpec:
    # the tiny variant's global network at 64 px inside a 128 px refined model
    return ModelSpec.for_variant(
        "tiny", input_size=128, depth_scale=64.0, refiner=RefinerSpec(base_input_size=64, patch_size=16)
    )


def _seeded(spec: ModelSpec) -> RefinedParFaceNet:
    torch.manual_seed(0)
    net = build_network(spec)
    for step in net.steps:  # the last layer starts at zero (identity); give it something to do
        torch.nn.init.normal_(step.head[-1].weight, std=0.05)
    return net.eval()


def test_patches_are_centred_on_the_point_and_spaced_as_asked():
    image = torch.zeros(1, 1, 64, 64)
    image[0, 0, 20, 30] = 1.0  # row 20, column 30: the point (x=30, y=20)
    patches = sample_patches(image, torch.tensor([[[30.0, 20.0], [10.0, 10.0]]]), size=5, spacing=1.0)
    assert patches.shape == (2, 1, 5, 5)
    assert patches[0, 0, 2, 2] == 1.0 and patches[0].sum() == 1.0
    assert patches[1].sum() == 0.0
    wide = sample_patches(image, torch.tensor([[[28.0, 20.0]]]), size=5, spacing=2.0)
    assert wide[0, 0, 2, 3] == 1.0  # two pixels to the right at spacing 2 is one sample


def test_spec_without_refiner_serialises_as_before():
    plain = ModelSpec.for_variant("tiny")
    assert "refiner" not in plain.to_json()
    refined = _spec()
    assert ModelSpec.from_json(refined.to_json()) == refined


def test_global_estimate_maps_the_pooled_crop_back_and_identity_steps_change_nothing():
    spec = _spec()
    torch.manual_seed(0)
    net = build_network(spec).eval()  # zero-initialised steps: the refiner starts as the identity
    images = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        small = torch.nn.functional.avg_pool2d(images, 2)
        base, _ = net.base(small)
        landmarks, confidence = net(images)
    assert landmarks.shape == (2, 68, 3) and confidence.shape == (2, 68)
    np.testing.assert_allclose(landmarks[..., :2].numpy(), (base[..., :2] * 2 + 0.5).numpy(), atol=1e-4)
    np.testing.assert_allclose(landmarks[..., 2].numpy(), (base[..., 2] * 2).numpy(), atol=1e-4)


def test_only_the_inner_points_move(tmp_path):
    spec = _spec()
    net = _seeded(spec)
    images = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        plain, _ = net.global_estimate(images)
        refined, _ = net(images)
    first = spec.refiner.first_point
    assert torch.equal(refined[:, :first], plain[:, :first])
    assert (refined[:, first:, :2] - plain[:, first:, :2]).abs().max() > 1e-3


def test_checkpoint_and_onnx_round_trip(tmp_path):
    pytest.importorskip("onnx", reason="the export extra is not installed")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from parface_export.onnx_export import export_onnx
    from parface_sdk.nn.checkpoint import load_checkpoint, save_checkpoint

    net = _seeded(_spec())
    path = save_checkpoint(net, tmp_path / "refined.safetensors")
    loaded = load_checkpoint(path)
    assert isinstance(loaded, RefinedParFaceNet)
    images = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        expected, _ = net(images)
        again, _ = loaded(images)
    torch.testing.assert_close(again, expected)
    onnx_path = export_onnx(loaded, tmp_path / "refined.onnx")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: images.numpy()})[0]
    np.testing.assert_allclose(got, expected.numpy(), atol=2e-3)
