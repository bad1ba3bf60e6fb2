"""parface_training/onnx_import.py: BatchNorm re-parametrisation and recovery of a checkpoint from ONNX."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parface_training.onnx_import import _onnx_outputs, import_onnx, match_batch_statistics  # noqa: E402


def _crops(size: int, count: int = 8, seed: int = 0) -> torch.Tensor:
    """Smooth random crops in the model's normalised range."""
    generator = torch.Generator().manual_seed(seed)
    low = torch.rand(count, 3, size // 8, size // 8, generator=generator)
    return torch.nn.functional.interpolate(low, size=size, mode="bilinear") * 2 - 1


def _train_mode_output(net, crops):
    net = copy.deepcopy(net).train()
    with torch.no_grad():
        return net(crops)[0]


def test_match_batch_statistics_makes_train_mode_compute_eval_mode(tiny_net):
    net = copy.deepcopy(tiny_net).eval()
    crops = _crops(net.spec.input_size)
    with torch.no_grad():
        before = net(crops)[0]
    gap_before = (_train_mode_output(net, crops) - before).abs().max().item()
    assert gap_before > 1.0  # seeded BatchNorm statistics do not describe these crops

    match_batch_statistics(net, crops)
    assert not net.training
    with torch.no_grad():
        after = net(crops)[0]
    # Eval mode is the same function as before ...
    assert (after - before).abs().max().item() < 1e-3
    # ... and train mode (batch statistics) now computes it too, up to the biased / unbiased
    # variance of the small deep feature maps.
    gap_after = (_train_mode_output(net, crops) - after).abs().max().item()
    assert gap_after < 0.05 * gap_before and gap_after < 0.5, (gap_before, gap_after)


def test_match_batch_statistics_keeps_the_training_flag(tiny_net):
    net = copy.deepcopy(tiny_net).train()
    match_batch_statistics(net, _crops(net.spec.input_size, count=4))
    assert net.training and all(m.training for m in net.modules())


def test_import_onnx_reproduces_onnxruntime(tiny_onnx, tiny_net):
    pytest.importorskip("onnxruntime")
    crops = _crops(tiny_net.spec.input_size, count=16, seed=1)
    net = import_onnx(tiny_onnx, crops)
    assert net.spec.variant == tiny_net.spec.variant
    with torch.no_grad():
        ours = net(crops)[0].numpy()
    theirs = _onnx_outputs(tiny_onnx, crops.numpy())
    assert ours.shape == theirs.shape == (16, 68, 3)
    assert np.abs(ours - theirs).max() < 0.05  # crop pixels
    # Also on crops it was not calibrated on, and the weights are those of the exported network.
    other = _crops(tiny_net.spec.input_size, count=4, seed=2)
    with torch.no_grad():
        ours = net(other)[0].numpy()
        original = tiny_net.eval()(other)[0].numpy()
    assert np.abs(ours - _onnx_outputs(tiny_onnx, other.numpy())).max() < 0.05
    assert np.abs(ours - original).max() < 0.05


def test_onnx_import_command_writes_a_loadable_checkpoint(tiny_onnx, tmp_path, shared_dir):
    pytest.importorskip("onnxruntime")
    from parface_sdk.nn.checkpoint import load_checkpoint
    from parface_training.onnx_import import main

    images = tmp_path / "faces"
    images.mkdir()
    for image in sorted((shared_dir / "data" / "300w-subset" / "train").glob("*.jpg"))[:6]:
        for source in (image, image.with_suffix(".pts")):
            (images / source.name).symlink_to(source)
    out = tmp_path / "recovered.safetensors"
    main([str(tiny_onnx), str(out), "--images", str(images), "--count", "6"])
    net = load_checkpoint(out)
    crops = _crops(net.spec.input_size, count=2, seed=3)
    with torch.no_grad():
        ours = net(crops)[0].numpy()
    assert np.abs(ours - _onnx_outputs(tiny_onnx, crops.numpy())).max() < 0.05


@pytest.mark.parametrize("content", [None, b"not an onnx model"])
def test_onnx_import_command_refuses_missing_or_damaged_files(tmp_path, content):
    from parface_training.onnx_import import main

    model = tmp_path / "model.onnx"
    if content is not None:
        model.write_bytes(content)
    out = tmp_path / "out.safetensors"
    with pytest.raises(SystemExit, match="no ONNX model|not a loadable ONNX model"):
        main([str(model), str(out), "--images", str(tmp_path)])
    assert not out.exists()
