import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parface_sdk.errors import ModelLoadError  # noqa: E402
from parface_sdk.nn.checkpoint import load_checkpoint, read_checkpoint_spec, save_checkpoint  # noqa: E402
from parface_sdk.nn.flops import count_macs  # noqa: E402
from parface_sdk.nn.parface_net import ParFaceNet, count_parameters  # noqa: E402
from parface_sdk.spec import SPEC_METADATA_KEY, ModelSpec  # noqa: E402


def test_paper_variant_matches_the_papers_size():
    net = ParFaceNet(ModelSpec.for_variant("paper"))
    parameters = count_parameters(net) - count_parameters(net.decoder.to_image)
    # The paper reports ~24.14M for two ResNet-18s and an inverted ResNet-18.
    assert 22e6 < parameters < 26.5e6
    assert count_parameters(net.encoder) == pytest.approx(11.2e6, rel=0.01)


@pytest.mark.parametrize("variant", ["tiny", "light"])
def test_shapes_of_every_head(variant):
    spec = ModelSpec.for_variant(variant)
    net = ParFaceNet(spec, with_discriminator=True).eval()
    crops = torch.randn(2, 3, spec.input_size, spec.input_size)
    with torch.no_grad():
        landmarks, confidence = net(crops)
        z, heatmaps = net.heatmaps(crops)
        image = net.reconstruct(crops)
        critic = net.discriminator(image)
    assert landmarks.shape == (2, 68, 3) and confidence.shape == (2, 68)
    assert z.shape == (2, 99)
    assert heatmaps.shape == (2, 68, spec.heatmap_size, spec.heatmap_size)
    assert image.shape == crops.shape and image.abs().max() <= 1.0
    assert critic.shape == (2,)
    assert (landmarks[..., :2] >= -1).all() and (landmarks[..., :2] <= spec.input_size).all()


def test_transfer_layers_start_as_identity():
    spec = ModelSpec.for_variant("tiny")
    net = ParFaceNet(spec).eval()
    z = torch.randn(2, 99)
    with torch.no_grad():
        with_transfer = net.decoder.features(z, with_transfer=True)
        without = net.decoder.features(z, with_transfer=False)
    assert torch.allclose(with_transfer, without)


def test_macs_of_a_known_layer():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    assert count_macs(conv, torch.zeros(1, 3, 10, 10)) == 10 * 10 * 8 * 27


def test_checkpoint_round_trip_and_mismatch(tmp_path, tiny_net):
    path = save_checkpoint(tiny_net, tmp_path / "m.safetensors")
    assert read_checkpoint_spec(path) == tiny_net.spec
    loaded = load_checkpoint(path)
    crops = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(crops)[0].numpy(), tiny_net(crops)[0].numpy(), atol=1e-5)
    # Weights of one variant under the spec of another must not load silently.
    from safetensors.torch import load_file, save_file

    wrong = json.loads(tiny_net.spec.to_json()) | {"variant": "light", "input_size": 128, "heatmap_size": 64}
    save_file(
        load_file(str(path)), str(tmp_path / "w.safetensors"), metadata={SPEC_METADATA_KEY: json.dumps(wrong)}
    )
    with pytest.raises(ModelLoadError, match="do not"):
        load_checkpoint(tmp_path / "w.safetensors")


def test_unknown_spec_version_is_refused():
    data = json.loads(ModelSpec.for_variant("tiny").to_json()) | {"schema_version": 99}
    with pytest.raises(ModelLoadError, match="schema version"):
        ModelSpec.from_json(json.dumps(data))
