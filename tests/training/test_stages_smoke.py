"""Every training stage for a few steps on a handful of shared faces, on CPU, with the tiny variant."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DATA = SHARED / "data"

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


def _recipe(tmp_path: Path, steps: int, **stage_overrides) -> Path:
    pytest.importorskip("training.data.labels", reason="training/data is not installed yet")
    labeled, unlabeled = _few_faces(tmp_path)
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
        "autoencoder": {"l2_fraction": 1.0, "optimizer": {"lr": 2e-3, "betas": [0.5, 0.999]}},
        "inversion": {"optimizer": {"lr": 1e-3, "betas": [0.5, 0.999]}},
        "landmarks": {"optimizer": {"lr": 5e-3, "betas": [0.9, 0.999]}},
        "finetune": {"encoder_lr": 1e-3, "optimizer": {"lr": 2e-3, "betas": [0.9, 0.999]}},
        "depth": {"optimizer": {"lr": 2e-3, "betas": [0.9, 0.999]}},
    }
    for stage, values in stage_overrides.items():
        stages[stage] = {**stages[stage], **values}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"run_dir": str(tmp_path / "run"), "common": common, "stages": stages}))
    return path


def _column(log: Path, name: str) -> list[float]:
    with open(log) as handle:
        return [float(row[name]) for row in csv.DictReader(handle)]


def test_every_stage_runs_and_the_result_loads(tmp_path):
    from parface_sdk.nn.checkpoint import load_checkpoint, read_checkpoint_spec
    from training.cli import main

    assert main(["all", "--config", str(_recipe(tmp_path, steps=2))]) == 0
    run = tmp_path / "run"
    for stage in ("autoencoder", "inversion", "landmarks", "finetune", "depth"):
        assert (run / stage / "final.safetensors").is_file()
        assert (run / stage / "final.pt").is_file()
        for column in ("step",):
            assert _column(run / stage / "log.csv", column)[-1] == 2
    spec = read_checkpoint_spec(run / "depth" / "final.safetensors")
    assert [h["stage"] for h in spec.training["stage_history"]] == [
        "autoencoder", "inversion", "landmarks", "finetune", "depth",
    ]  # fmt: skip
    assert spec.training["perceptual"] == "off (no VGG-19 weights)"
    net = load_checkpoint(run / "depth" / "final.safetensors")
    with torch.no_grad():
        landmarks, confidence = net(torch.zeros(1, 3, spec.input_size, spec.input_size))
    assert landmarks.shape == (1, 68, 3) and confidence.shape == (1, 68)
    assert torch.isfinite(landmarks).all()


def test_resume_continues_from_the_last_checkpoint(tmp_path):
    from training.cli import main

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
    from training.cli import main

    recipe = _recipe(tmp_path, steps=40)
    assert main([stage, "--config", str(recipe), "from_scratch=true"]) == 0
    values = _column(tmp_path / "run" / stage / "log.csv", column)
    assert all(torch.isfinite(torch.tensor(values)))
    first, last = sum(values[:5]) / 5, sum(values[-5:]) / 5
    assert last < 0.9 * first, f"{stage} {column}: {first:.4g} -> {last:.4g}"
