"""The perceptual-weights field of the adversarial stages: the deprecated ``vgg19_weights`` alias,
recipe-relative paths, and the order of preference of a list of files."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pydantic")

from pydantic import ValidationError  # noqa: E402

from parface_training.config import AutoencoderConfig, InversionConfig, load_stage_config  # noqa: E402


def test_vgg19_weights_is_a_deprecated_alias(tmp_path):
    with pytest.warns(DeprecationWarning, match="perceptual_weights"):
        config = InversionConfig(run_dir=str(tmp_path), vgg19_weights="vgg16.npz")
    assert config.perceptual_weights == "vgg16.npz" and config.vgg19_weights == "vgg16.npz"
    assert "vgg19_weights" not in config.model_dump()
    same = AutoencoderConfig(run_dir=str(tmp_path), vgg19_weights=None, perceptual_weights="a.npz")
    assert same.perceptual_weights == "a.npz"
    with pytest.raises(ValidationError, match="not both"), pytest.warns(DeprecationWarning):
        AutoencoderConfig(run_dir=str(tmp_path), vgg19_weights="a.pth", perceptual_weights="b.npz")


def test_recipe_paths_resolve_and_the_first_existing_file_is_used(tmp_path):
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "vgg16.npz").write_bytes(b"")
    recipe = tmp_path / "recipe.json"
    recipe.write_text(
        json.dumps(
            {"stage": "autoencoder", "run_dir": "run",
             "perceptual_weights": ["weights/vgg19.pth", "weights/vgg16.npz"]}
        )
    )  # fmt: skip
    config = load_stage_config("autoencoder", recipe)
    assert config.perceptual_weights == (
        str(tmp_path / "weights/vgg19.pth"),
        str(tmp_path / "weights/vgg16.npz"),
    )
    assert config.perceptual_weights_file() == tmp_path / "weights" / "vgg16.npz"
    (tmp_path / "weights" / "vgg19.pth").write_bytes(b"")
    assert config.perceptual_weights_file() == tmp_path / "weights" / "vgg19.pth"
    recipe.write_text(
        json.dumps({"stage": "autoencoder", "run_dir": "run", "vgg19_weights": "weights/x.pth"})
    )
    with pytest.warns(DeprecationWarning):
        config = load_stage_config("autoencoder", recipe)
    assert config.perceptual_weights == str(tmp_path / "weights" / "x.pth")
    with pytest.raises(FileNotFoundError, match="none of the perceptual_weights files exists"):
        config.perceptual_weights_file()
    assert AutoencoderConfig(run_dir="run").perceptual_weights_file() is None
