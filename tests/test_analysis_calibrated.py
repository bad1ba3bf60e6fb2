"""The shipped model with its shipped calibration, on clips made from shared TRAIN photos: a still
face gives "no asymmetry", a droop well beyond the calibrated threshold gives the right side."""

from __future__ import annotations

import pytest

from parface_sdk.analysis import Calibration, Task, decide_asymmetry
from parface_sdk.analysis.decision import z_for_confidence

TASKS = [Task("rest", 0.0, 1.0), Task("task", 1.0, 2.0)]
FPS = 15.0
MAX_WARP_PERCENT = 18.0  # the droop warp folds beyond about 1.6 sigma (19 % IOD at the mouth)


@pytest.fixture(scope="module")
def setup(shared_dir):
    from parface_sdk import Aligner
    from parface_sdk.analysis.pipeline import model_sha256
    from parface_sdk.analysis.simulate import load_subjects
    from parface_sdk.options import AlignerOptions

    data = shared_dir / "data"
    subjects = load_subjects([data / "300w-subset" / "train", data / "300w-lfpw" / "train"], 2, seed=11)
    with Aligner(None, AlignerOptions(threads=1)) as aligner:
        yield aligner, model_sha256(aligner), subjects


def _decide(aligner, sha, frames):
    from parface_sdk.analysis.pipeline import measure_clip

    series = measure_clip(aligner, [(i / FPS, f) for i, f in enumerate(frames)], fps=FPS, color="BGR")
    return decide_asymmetry(series, TASKS, model_sha256=sha)


def test_still_clips_give_no_asymmetry(setup):
    from parface_sdk.analysis.simulate import make_clip

    aligner, sha, subjects = setup
    for seed, subject in enumerate(subjects):
        for face in (subject, subject.mirrored()):
            decision = _decide(aligner, sha, make_clip(face, "still", 30, FPS, seed=seed))
            assert decision.decision == "none", decision.evidence
            assert decision.confidence < decision.confidence_threshold
            assert decision.calibration["matches_model"]


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known limitation of the v2 model (MODEL_CARD.md, docs/analysis.md): a local mouth-corner "
        "droop (Gaussian warp, sigma 0.12 IOD) twice the calibrated threshold moves its landmark by "
        "< 0.5 % IOD, so the calibrated decision answers 'none'. Strict: passes -> remove this mark."
    ),
)
@pytest.mark.parametrize("side", ["right", "left"])
def test_strong_droop_gives_the_right_side(setup, side):
    from parface_sdk.analysis.simulate import make_clip

    aligner, sha, subjects = setup
    calibration = Calibration.load()
    # twice the calibrated threshold for a clip of this design (two tests: brow and mouth)
    threshold = (
        z_for_confidence(calibration.confidence_threshold, 2) * calibration.null_sigma["tasks"]["mouth"]
    )
    if 2 * threshold > MAX_WARP_PERCENT:
        pytest.skip(
            f"the calibrated mouth threshold ({threshold:.1f} % IOD) is too large for the warp to "
            "simulate a droop twice its size"
        )
    frames = make_clip(subjects[0], "still", 30, FPS, seed=5, droop=("mouth", side, 2 * threshold))
    decision = _decide(aligner, sha, frames)
    assert decision.decision == side, decision.evidence
    assert decision.side_confidence[side] >= decision.confidence_threshold
