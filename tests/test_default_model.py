"""The shipped default model: its file hash matches its spec, and it is really accurate."""

import json

import pytest

from parface_sdk import Aligner, AlignerOptions
from parface_sdk.models import MANIFEST, MODELS_DIR, default_model_path, sha256_of

# The shipped v2 model measured 4.13 % (AFLW2000-3D, all 2000) and 2.93 % (HELEN test) with GT crops
# (MODEL_CARD.md); on the subsets below the limits are about 1.3x that, far below v1 (12.5 / 8.2 %)
# and the mean training shape (10.4 % on HELEN).
AFLW_MAX_NME = 5.5
HELEN_MAX_NME = 3.8


def test_shipped_model_hash_matches_its_manifest():
    manifest = json.loads(MANIFEST.read_text())
    entry = manifest["files"]["onnxruntime"]
    assert sha256_of(MODELS_DIR / entry["file"]) == entry["sha256"]
    assert default_model_path() == MODELS_DIR / entry["file"]


def test_default_aligner_lands_near_the_ground_truth(aflw_sample):
    """A real accuracy check on an AFLW2000-3D face (GT crop and detector path)."""
    from parface_sdk.evaluation.metrics import nme

    image, truth = aflw_sample
    with Aligner() as aligner:
        assert aligner.spec.variant == "light"
        from_gt = aligner.align_from_landmarks(image, [truth]).faces[0].landmarks
        detected = aligner.align(image).faces
    assert nme(from_gt[None, :, :2], truth[None, :, :2])[0] < 0.10
    assert len(detected) == 1
    assert nme(detected[0].landmarks[None, :, :2], truth[None, :, :2])[0] < 0.10
    # Depth: the nose tip is nearer the camera than the jaw ends.
    assert from_gt[30, 2] > from_gt[0, 2] and from_gt[30, 2] > from_gt[16, 2]


def test_damaged_model_file_is_refused(tmp_path, monkeypatch):
    import parface_sdk.models as models
    from parface_sdk.errors import ModelLoadError

    entry = json.loads(MANIFEST.read_text())["files"]["onnxruntime"]
    damaged = tmp_path / entry["file"]
    data = bytearray((MODELS_DIR / entry["file"]).read_bytes())
    data[-10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    (tmp_path / "default.json").write_text(MANIFEST.read_text())
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    monkeypatch.setattr(models, "MANIFEST", tmp_path / "default.json")
    with pytest.raises(ModelLoadError, match="damaged"):
        models.default_model_path()


@pytest.mark.parametrize(
    "dataset, root, limit, max_mean_nme",
    [
        # Thresholds: about 1.25x what the shipped model measured on these same faces (MODEL_CARD.md),
        # far below the mean training shape (~10 % on 300-W) and the v1 model (8.2 / 12.5 %).
        ("aflw2000-3d-full", "data", 40, AFLW_MAX_NME),
        ("300w", "data/300w-subset/test", 30, HELEN_MAX_NME),
    ],
)
def test_default_model_accuracy_on_a_few_test_faces(shared_dir, dataset, root, limit, max_mean_nme):
    """The standard protocol (GT crop, NME by the GT box) on faces spread over each test set."""
    import numpy as np

    from parface_sdk.evaluation import evaluate, load_dataset

    faces = load_dataset(dataset, shared_dir / root).subset(limit)
    with Aligner() as aligner:
        run = evaluate(aligner, faces, crops=("gt",), progress=False)[0]
    assert np.isfinite(run.nme).all()
    assert run.nme.mean() * 100 < max_mean_nme


def test_quality_threshold_and_min_quality_filter():
    """The shipped model has a calibrated quality threshold; min_quality drops faces below it."""
    from pathlib import Path

    photo = Path(__file__).resolve().parents[1] / "examples" / "data" / "astronaut.jpg"
    with Aligner() as aligner:
        threshold = aligner.quality_threshold
        face = aligner.align(photo).faces[0]
    assert threshold == json.loads(MANIFEST.read_text())["quality_threshold"]
    assert 0.0 < threshold < 1.0
    assert face.quality == pytest.approx(float(face.confidence.mean()))
    assert face.quality > threshold  # a clear frontal portrait is a good face
    assert '"quality"' in face.model_dump_json()
    with Aligner(options=AlignerOptions(min_quality=face.quality + 1e-3)) as strict:
        assert strict.align(photo).faces == []
    with Aligner(options=AlignerOptions(min_quality=face.quality - 1e-3)) as lenient:
        assert len(lenient.align(photo).faces) == 1
    with Aligner.from_pretrained(default_model_path()) as explicit:
        assert explicit.quality_threshold == threshold  # the shipped model keeps its calibration
