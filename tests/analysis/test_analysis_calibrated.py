"""The shipped model with its shipped calibration, on clips made from shared TRAIN photos: a still
face gives "no asymmetry", a droop well beyond the calibrated threshold gives the right side."""

from __future__ import annotations

import pytest

from parface_sdk.analysis import Task, decide_asymmetry

FLOW_NOT_RECALIBRATED = (
    "the flow-mode calibration was not re-run for model v4: the re-run crashed in its flow "
    "evaluation (StatisticsError: the stored confidence rounds to 1.0 in z_for_confidence) after "
    "installing the model-mode calibration; calibration_flow.json is still v3's. Re-run "
    "benchmarks/palsy_calibration.py after fixing it; strict: remove this mark when it passes."
)

TASKS = [Task("rest", 0.0, 1.0), Task("task", 1.0, 2.0)]
FPS = 15.0


@pytest.fixture(scope="module")
def setup(shared_dir):
    from parface_sdk import Aligner
    from parface_sdk.analysis.clip import model_sha256
    from parface_sdk.analysis.simulate import load_subjects
    from parface_sdk.options import AlignerOptions

    data = shared_dir / "data"
    subjects = load_subjects([data / "300w-subset" / "train", data / "300w-lfpw" / "train"], 2, seed=11)
    with Aligner(None, AlignerOptions(threads=1)) as aligner:
        yield aligner, model_sha256(aligner), subjects


def _decide(aligner, sha, frames, source="model"):
    from parface_sdk.analysis.clip import measure_clip

    clip = [(i / FPS, f) for i, f in enumerate(frames)]
    series = measure_clip(aligner, clip, landmarks=source, fps=FPS, color="BGR")
    return decide_asymmetry(series, TASKS, model_sha256=sha)


@pytest.mark.parametrize(
    "source",
    ["model", pytest.param("flow", marks=pytest.mark.xfail(strict=True, reason=FLOW_NOT_RECALIBRATED))],
)
def test_still_clips_give_no_asymmetry(setup, source):
    from parface_sdk.analysis.simulate import make_clip

    aligner, sha, subjects = setup
    for seed, subject in enumerate(subjects):
        for face in (subject, subject.mirrored()):
            decision = _decide(aligner, sha, make_clip(face, "still", 30, FPS, seed=seed), source)
            assert decision.decision == "none", decision.evidence
            assert decision.confidence < decision.confidence_threshold
            assert decision.calibration["matches_model"] and decision.calibration["matches_landmarks"]


MODEL_ALONE = pytest.mark.xfail(
    strict=True,
    reason=(
        "known limitation of the shipped model (MODEL_CARD.md, docs/analysis.md): its landmarks follow "
        "an 8 % IOD one-sided droop only in part, below the calibrated threshold, so the model alone "
        "answers 'none'; optical-flow refinement (the default for video) sees it. Strict: passes -> "
        "remove this mark."
    ),
)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("source", ["flow", pytest.param("model", marks=MODEL_ALONE)])
def test_strong_droop_gives_the_right_side(setup, source, side):
    """An 8 % IOD thin-plate mouth-corner droop (the largest size of the palsy issue), read with
    optical-flow refinement and from the model's landmarks alone."""
    from parface_sdk.analysis.simulate import make_clip

    aligner, sha, subjects = setup
    frames = make_clip(subjects[0], "still", 30, FPS, seed=5, droop=("mouth", side, 8.0))
    decision = _decide(aligner, sha, frames, source)
    assert decision.decision == side, decision.evidence
    assert decision.side_confidence[side] >= decision.confidence_threshold
