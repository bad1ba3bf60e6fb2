"""Every training stage (the joint stage included, the perceptual loss on in stages 1-2) for a few
steps on a handful of shared faces, on CPU, with the tiny variant."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from shared_data import SHARED  # noqa: E402  (the one shared-data path, honouring PARFACE_SHARED)

DATA = SHARED / "data"
VGG16_NPZ = SHARED / "models" / "vgg16-imagenet" / "vgg16_features_conv0-6.npz"
PERCEPTUAL_ON = "on (VGG16 ImageNet relu1_2/2_2/3_3, vgg16_features_conv0-6.npz)"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")


def _few_faces(tmp_path: Path, count: int = 8) -> tuple[Path, Path]:
    """Links to a handful of shared faces: labeled (image + .pts) and unlabeled chips."""
    labeled, unlabeled = tmp_path / "labeled", tmp_path / "unlabeled"
    labeled.mkdir()
    unlabeled.mkdir()
    for image in sorted((DATA / "300w-subset" / "train").glob("*.jpg"))[:count]:
        for source in (image, image.with_suffix(".pts")):
            (labeled / source.name).symlink_to(source)
    for image in sorted((DATA / "unlabeled-utkface" / "images").glob("*.jpg"))[:count]:
        (unlabeled / image.name).symlink_to(image)
    return labeled, unlabeled


def _few_largepose(tmp_path: Path, train: int = 8, held_out: int = 3, fraction: float = 0.3) -> Path:
    """A copy of aflw-largepose-train's labels.npz cut to a few faces (some in the validation split
    at ``fraction``, teacher labels that pass the 0.12 NME filter), with links to their images."""
    from parface_training.data.largepose import is_validation

    source, folder = DATA / "aflw-largepose-train", tmp_path / "largepose"
    (folder / "images").mkdir(parents=True)
    with np.load(source / "labels.npz") as data:
        arrays = {key: data[key] for key in data.files}
    count = len(arrays["names"])
    good = np.flatnonzero(np.isfinite(arrays["mb05_nme21"]) & (arrays["mb05_nme21"] <= 0.12))
    split = {i: is_validation(f"{arrays['names'][i]}.jpg", fraction) for i in good}
    keep = sorted([i for i in good if split[i]][:held_out] + [i for i in good if not split[i]][:train])
    np.savez(folder / "labels.npz", **{k: v[keep] if len(v) == count else v for k, v in arrays.items()})
    for name in arrays["names"][keep]:
        (folder / "images" / f"{name}.jpg").symlink_to(source / "images" / f"{name}.jpg")
    return folder


def _recipe(tmp_path: Path, steps: int, perceptual: bool = True, **stage_overrides) -> Path:
    pytest.importorskip("parface_training.data.labels", reason="parface_training/data is not installed yet")
    labeled, unlabeled = _few_faces(tmp_path)
    largepose = _few_largepose(tmp_path)
    # Stages 1-2 with the shipped VGG16 features (relu1_2/2_2/3_3), as the CPU recipe runs them.
    adversarial = {"perceptual_weights": str(VGG16_NPZ), "require_perceptual": True, "lambda_perc": 0.002}
    if not perceptual:
        adversarial = {"perceptual_weights": None, "require_perceptual": False}
    common = {
        "variant": "tiny",
        "seed": 0,
        "batch_size": 4,
        "max_steps": steps,
        "epochs": 1000,
        "threads": 1,
        "log_every": 1,
        "checkpoint_every": 1000,
        "progress_bar": False,
        "data": {
            "unlabeled_dirs": [str(unlabeled)],
            "labeled_dirs": [str(labeled)],
            "use_labeled_images_unlabeled": True,
            "bfm_path": str(SHARED / "models" / "bfm_68_landmarks.npz"),
            "augment": False,
        },
    }
    stages = {
        "autoencoder": {"l2_fraction": 1.0, "optimizer": {"lr": 2e-3, "betas": [0.5, 0.999]}, **adversarial},
        "inversion": {"optimizer": {"lr": 1e-3, "betas": [0.5, 0.999]}, **adversarial},
        "landmarks": {"optimizer": {"lr": 5e-3, "betas": [0.9, 0.999]}},
        "finetune": {"encoder_lr": 1e-3, "optimizer": {"lr": 2e-3, "betas": [0.9, 0.999]}},
        "depth": {"optimizer": {"lr": 2e-3, "betas": [0.9, 0.999]}},
        "joint": {
            "largepose_dir": str(largepose),
            "validation_fraction": 0.3,
            "validate_every": 1,
            "encoder_lr": 1e-3,
            "lambda_coord": 0.02,
            "optimizer": {"lr": 2e-3, "betas": [0.9, 0.999]},
        },
    }
    for stage, values in stage_overrides.items():
        stages[stage] = {**stages[stage], **values}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"run_dir": str(tmp_path / "run"), "common": common, "stages": stages}))
    return path


def _column(log: Path, name: str) -> list[float]:
    with open(log) as handle:
        return [float(row[name]) for row in csv.DictReader(handle)]


@pytest.mark.slow
@pytest.mark.skipif(not VGG16_NPZ.is_file(), reason=f"shared VGG16 weights not found at {VGG16_NPZ}")
def test_every_stage_runs_and_the_result_loads(tmp_path):
    from parface_sdk.nn.checkpoint import load_checkpoint, read_checkpoint_spec
    from parface_training.cli import main

    assert main(["all", "--config", str(_recipe(tmp_path, steps=2))]) == 0
    run = tmp_path / "run"
    stages = ["autoencoder", "inversion", "landmarks", "finetune", "depth", "joint"]
    for stage in stages:
        assert (run / stage / "final.safetensors").is_file()
        assert (run / stage / "final.pt").is_file()
        assert _column(run / stage / "log.csv", "step")[-1] == 2
    # The perceptual term was on and trained: logged every step of stages 1-2.
    for stage in ("autoencoder", "inversion"):
        values = _column(run / stage / "log.csv", "perc")
        assert len(values) == 2 and all(v > 0 and np.isfinite(v) for v in values)
    # The joint stage scored its validation split (300-W and AFLW large-pose faces) every step.
    assert _column(run / "joint" / "val.csv", "step") == [1, 2]
    assert (run / "joint" / "best.safetensors").is_file()
    best = read_checkpoint_spec(run / "joint" / "best.safetensors")
    assert best.training["validation"]["step"] in (1, 2)
    assert np.isfinite(best.training["validation"]["aflw_largepose_nme"])

    spec = read_checkpoint_spec(run / "joint" / "final.safetensors")
    assert [h["stage"] for h in spec.training["stage_history"]] == stages
    assert spec.training["perceptual"] == PERCEPTUAL_ON
    assert spec.training["perceptual_inversion"] == PERCEPTUAL_ON
    for stage in ("autoencoder", "inversion"):
        network = spec.training["perceptual_network"][stage]
        assert network["network"] == "VGG16" and network["layers"] == [3, 8, 15]
        assert network["layer_names"] == ["relu1_2", "relu2_2", "relu3_3"]
        assert network["weights"] == VGG16_NPZ.name and len(network["sha256"]) == 64
    assert spec.training["joint"]["validation_faces"]["aflw_largepose"] == 3
    for name in ("final", "best"):
        net = load_checkpoint(run / "joint" / f"{name}.safetensors")
        with torch.no_grad():
            landmarks, confidence = net(torch.zeros(1, 3, spec.input_size, spec.input_size))
        assert landmarks.shape == (1, 68, 3) and confidence.shape == (1, 68)
        assert torch.isfinite(landmarks).all()


def test_a_required_perceptual_loss_without_weights_stops(tmp_path):
    from parface_training.cli import main

    recipe = _recipe(tmp_path, steps=1)
    with pytest.raises(FileNotFoundError, match="perceptual_weights"):
        main(["autoencoder", "--config", str(recipe), "perceptual_weights=null"])
    with pytest.raises(FileNotFoundError, match="none of the perceptual_weights files exists"):
        main(["autoencoder", "--config", str(recipe), f"perceptual_weights={tmp_path / 'absent.npz'}"])


def test_resume_continues_from_the_last_checkpoint(tmp_path):
    from parface_training.cli import main

    recipe = _recipe(tmp_path, steps=4)
    assert main(["landmarks", "--config", str(recipe), "from_scratch=true", "max_steps=2"]) == 0
    stage_dir = tmp_path / "run" / "landmarks"
    (stage_dir / "final.safetensors").unlink()
    assert main(["landmarks", "--config", str(recipe), "--resume", "from_scratch=true"]) == 0
    state = torch.load(stage_dir / "final.pt", weights_only=False)
    assert state["step"] == 4
    assert _column(stage_dir / "log.csv", "step") == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "stage, column",
    [("autoencoder", "rec"), ("landmarks", "awing"), ("finetune", "awing"), ("depth", "mse")],
)
def test_loss_decreases_on_a_tiny_overfit_set(tmp_path, stage, column):
    from parface_training.cli import main

    recipe = _recipe(tmp_path, steps=40, perceptual=False)
    assert main([stage, "--config", str(recipe), "from_scratch=true"]) == 0
    values = _column(tmp_path / "run" / stage / "log.csv", column)
    assert all(torch.isfinite(torch.tensor(values)))
    first, last = sum(values[:5]) / 5, sum(values[-5:]) / 5
    assert last < 0.9 * first, f"{stage} {column}: {first:.4g} -> {last:.4g}"
