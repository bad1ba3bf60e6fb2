"""The calibrated decision: did one side change more than healthy, still faces ever seem to?

A real face is never perfectly symmetric and the landmark model has its own noise and left/right
bias, so the decision is not about the asymmetry of one frame. It is about a **change**: for the
brow (``brow_height``) and the mouth corner (``mouth_corner_level``), both heights above the
eye-corner line 36-45 in the head frame, the right-minus-left height during a task span minus the
same difference at rest, in % of the inter-ocular distance (outer eye corners, |36-45|). A side
whose brow or mouth corner ends up lower relative to the other side (it drooped, or it did not
rise with the other) is the side the evidence points to.

Each change is divided by the spread of the same statistic on faces without palsy (the *null*:
still clips, mirrored photos and rigid head turns of many people, measured with the same model;
``benchmarks/palsy_calibration.py``), giving a z-score. The spread grows with the head motion
between rest and the span (the landmarks of a turning head are less consistent):
``sigma = sqrt(still ** 2 + (per_degree * motion) ** 2)``, with ``motion`` the change of head
pose (yaw, pitch, roll; degrees, Euclidean) measured in the same recording, and ``still`` and
``per_degree`` fitted to the null clips by maximum likelihood. The confidence that a side changed is the
probability that the largest of the ``k`` z-scores of a clip pointing to that side stays below the
observed one under the null (normal, ``k`` tests): ``(2 Phi(z) - 1) ** k``. A side is named only
when its confidence reaches the calibrated threshold and the other side's does not; when both do,
the answer is "undetermined"; when neither does, "none" (no asymmetric change detected).

That confidence is a null-hypothesis figure and saturates at 0 or 1. ``probability`` is the
calibrated probability of a one-sided change: a logistic map of the strength above its threshold,
fitted on simulated droop and null clips (:mod:`.probability`); it stays strictly between 0 and 1.

Without task spans, the first second is rest and the larger of the 25th and 75th percentile change
(so at least a quarter of the frames after rest must show it; a short tracking glitch does not) over
the rest of the recording is used instead, with its own null spread.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

from parface_sdk.analysis.asymmetry import head_length_per_unit
from parface_sdk.analysis.timeseries import REST_FALLBACK_SECONDS, MeasureSeries, Task
from parface_sdk.errors import ParfaceError

logger = logging.getLogger(__name__)

REGION_MEASURES: dict[str, str] = {"brow": "brow_height", "mouth": "mouth_corner_level"}
CALIBRATION_PATH = Path(__file__).resolve().with_name("calibration.json")
# one calibration per landmark source (parface_sdk.analysis.flow.LANDMARK_SOURCES): the model's own
# landmarks, or the same followed by optical flow
CALIBRATION_PATHS = {"model": CALIBRATION_PATH, "flow": CALIBRATION_PATH.with_name("calibration_flow.json")}
CAVEAT = (
    "This is a measurement aid, not a diagnosis. It compares how the left and right brow and mouth "
    "corner change between rest and each task, against the spread the same model shows on faces "
    "without palsy with the same head motion (hold the head still for the tightest threshold). "
    "'none' means no one-sided change larger than that spread was seen; it does not rule out palsy "
    "(calibration.validation gives how often simulated droops of each size were found), and a named "
    "side is a lead for a clinician to examine, not a finding. Resting "
    "asymmetry alone is never used to name a side: healthy faces differ between sides too. Eye closure "
    "and other muscles are not part of the decision."
)
_NORMAL = NormalDist()


class CalibrationError(ParfaceError):
    """The asymmetry calibration file is missing, damaged, or lacks what is needed."""


def two_sided_confidence(z: float, tests: int) -> float:
    """Probability under the null that the largest of ``tests`` |z| stays below ``z``."""
    if not np.isfinite(z) or z <= 0:
        return 0.0
    return float((2.0 * _NORMAL.cdf(z) - 1.0) ** max(tests, 1))


def z_for_confidence(confidence: float, tests: int) -> float:
    """The inverse of :func:`two_sided_confidence`."""
    return float(_NORMAL.inv_cdf((1.0 + confidence ** (1.0 / max(tests, 1))) / 2.0))


@dataclass(frozen=True)
class Calibration:
    """Null spreads (% IOD, per mode and region: for a still head, and the growth per degree of
    head motion), the confidence threshold and its provenance."""

    model_sha256: str
    null_sigma: dict[str, dict[str, float]]
    confidence_threshold: float
    static_range: dict[str, dict[str, float]]  # region -> p5 / p50 / p95 of resting right - left
    provenance: dict = field(default_factory=dict)
    motion_sigma: dict[str, dict[str, float]] = field(default_factory=dict)  # % IOD per degree
    # the logistic map of strength - strength_threshold to a probability (analysis.probability):
    # {"slope", "intercept", "fitted", and where fitted, "ece", "clips", ...}
    probability: dict = field(default_factory=dict)

    def probability_of(self, margin: float) -> float:
        """The calibrated probability of a one-sided change for a clip whose strength is
        ``margin`` above the decision threshold (:mod:`.probability`; before a fitted map exists,
        the placeholder 0.5 at the threshold)."""
        from parface_sdk.analysis.probability import DEFAULT_SLOPE, logistic

        slope = float(self.probability.get("slope", DEFAULT_SLOPE))
        intercept = float(self.probability.get("intercept", 0.0))
        return logistic(margin if np.isfinite(margin) else -1e3, slope, intercept)

    def sigma(self, mode: str, region: str, motion: float) -> float:
        """The null spread (% IOD) of a change measured with ``motion`` degrees of head motion."""
        still = self.null_sigma[mode][region]
        per_degree = self.motion_sigma.get(mode, {}).get(region, 0.0)
        motion = motion if np.isfinite(motion) else 0.0
        return float(np.hypot(still, per_degree * motion))

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        try:
            calibration = cls(
                str(data["model_sha256"]),
                data["null_sigma"],
                float(data["confidence_threshold"]),
                data["static_range"],
                data.get("provenance", {}),
                data.get("motion_sigma", {}),
                data.get("probability", {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(
                f"asymmetry calibration lacks {exc}; re-run "
                "`python benchmarks/palsy_calibration.py --out runs/palsy_calibration`"
            ) from exc
        for mode in ("tasks", "auto"):
            if set(calibration.null_sigma.get(mode, {})) != set(REGION_MEASURES):
                raise CalibrationError(
                    f"asymmetry calibration has no null spread for mode {mode!r} and "
                    f"regions {sorted(REGION_MEASURES)}"
                )
        return calibration

    @classmethod
    def load(cls, path: str | Path | None = None, landmarks: str = "model") -> Calibration:
        """The package's calibration for the ``landmarks`` source (``calibration.json`` for the
        model's landmarks, ``calibration_flow.json`` for flow ones), or the file at ``path``."""
        if path is None and landmarks not in CALIBRATION_PATHS:
            raise CalibrationError(
                f"no calibration for landmarks={landmarks!r}; one of {sorted(CALIBRATION_PATHS)}"
            )
        path = Path(path) if path is not None else CALIBRATION_PATHS[landmarks]
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError as exc:
            raise CalibrationError(
                f"{path}: no asymmetry calibration; create it with "
                "`python benchmarks/palsy_calibration.py --out runs/palsy_calibration`"
            ) from exc
        except json.JSONDecodeError as exc:
            raise CalibrationError(f"{path}: not valid JSON ({exc})") from exc

    def to_dict(self) -> dict:
        return {
            "model_sha256": self.model_sha256,
            "null_sigma": self.null_sigma,
            "confidence_threshold": self.confidence_threshold,
            "static_range": self.static_range,
            "provenance": self.provenance,
            "motion_sigma": self.motion_sigma,
            "probability": self.probability,
        }


def _difference_pct(series: MeasureSeries, measure: str) -> np.ndarray:
    """Per frame, right minus left height of ``measure`` in % of the outer inter-ocular distance."""
    right, left = series.side(measure)
    heads = series.head_points
    factor = np.full(len(series), np.nan)
    for index in np.flatnonzero(np.isfinite(heads).all(axis=(1, 2))):
        head = heads[index]
        factor[index] = head_length_per_unit(head, series.scale_mm) / np.linalg.norm(head[36] - head[45])
    return 100.0 * (right - left) * factor


def _nanmedian(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else float("nan")


def change_statistics(series: MeasureSeries, tasks: list[Task] | None = None, rest: str = "rest") -> dict:
    """``{"mode", "rest", "changes": {span: {region: % IOD}}, "motion": {span: degrees},
    "static": {region: % IOD}}``.

    A change is (right - left) during the span minus (right - left) at rest: negative when the
    subject's right side ended up lower than the left, relative to rest. The motion is how far
    the head pose moved from rest during the span: the distance of the span's median pose (with
    task spans), or the 75th percentile of the per-frame distance (without).
    """
    given = list(tasks or [])
    spans = [t for t in given if t.name != rest]
    start = float(series.timestamps[0]) if len(series) else 0.0
    rest_task = next((t for t in given if t.name == rest), Task(rest, start, start + REST_FALLBACK_SECONDS))
    rest_mask = series.mask(rest_task)
    result: dict = {
        "mode": "tasks" if spans else "auto",
        "rest": [rest_task.start, rest_task.end],
        "changes": {},
        "motion": {},
        "static": {},
    }
    if not series.values:
        return result
    by_task = bool(spans)
    spans = spans or [Task("after rest", rest_task.end, float("inf"))]
    poses = np.stack([series.poses[k] for k in ("yaw", "pitch", "roll")], axis=1)
    finite_rest = rest_mask & np.isfinite(poses).all(axis=1)
    rest_pose = np.median(poses[finite_rest], axis=0) if finite_rest.any() else np.full(3, np.nan)
    for span in spans:
        in_span = series.mask(span) & np.isfinite(poses).all(axis=1)
        if not in_span.any():
            motion = float("nan")
        elif by_task:
            motion = float(np.linalg.norm(np.median(poses[in_span], axis=0) - rest_pose))
        else:
            motion = float(np.percentile(np.linalg.norm(poses[in_span] - rest_pose, axis=1), 75))
        result["motion"][span.name] = motion
    for region, measure in REGION_MEASURES.items():
        difference = _difference_pct(series, measure)
        at_rest = _nanmedian(difference[rest_mask])
        result["static"][region] = at_rest
        for span in spans:
            values = difference[series.mask(span)] - at_rest
            values = values[np.isfinite(values)]
            if not len(values):
                change = float("nan")
            elif by_task:
                change = float(np.median(values))
            else:
                low, high = np.percentile(values, [25, 75])
                change = float(low if abs(low) > abs(high) else high)
            result["changes"].setdefault(span.name, {})[region] = change
    return result


@dataclass(frozen=True)
class AsymmetryDecision:
    """``decision``: ``"right"``, ``"left"``, ``"none"`` or ``"undetermined"`` (both sides changed)."""

    decision: str
    confidence: float
    confidence_threshold: float
    strength: float  # the largest |z|: the change in units of the null spread
    strength_threshold: float
    side_confidence: dict[str, float]
    mode: str
    tests: list[dict]
    static: dict[str, dict]
    evidence: list[str]
    calibration: dict
    caveat: str = CAVEAT
    # calibrated probability of a one-sided change (analysis.probability), strictly in (0, 1)
    probability: float = 0.5
    probability_fitted: bool = False

    def to_dict(self) -> dict:
        return {
            "decision": self.decision,
            "probability": self.probability,
            "probability_fitted": self.probability_fitted,
            "confidence": self.confidence,
            "confidence_threshold": self.confidence_threshold,
            "strength": self.strength,
            "strength_threshold": self.strength_threshold,
            "side_confidence": self.side_confidence,
            "mode": self.mode,
            "tests": self.tests,
            "resting_asymmetry": self.static,
            "evidence": self.evidence,
            "calibration": self.calibration,
            "caveat": self.caveat,
        }


def decide_asymmetry(
    series: MeasureSeries,
    tasks: list[Task] | None = None,
    calibration: Calibration | None = None,
    model_sha256: str | None = None,
    rest: str = "rest",
) -> AsymmetryDecision:
    """The calibrated answer for one recording (see the module docstring); the calibration
    defaults to the package's one for the series' landmark source."""
    calibration = calibration or Calibration.load(landmarks=series.landmark_source)
    stats = change_statistics(series, tasks, rest)
    mode = stats["mode"]
    tests = []
    for span, regions in stats["changes"].items():
        motion = stats["motion"].get(span, float("nan"))
        for region, change in regions.items():
            if np.isfinite(change):
                sigma = calibration.sigma(mode, region, motion)
                tests.append(
                    {
                        "span": span,
                        "region": region,
                        "change_pct_iod": change,
                        "head_motion_deg": motion,
                        "null_sigma_pct_iod": sigma,
                        "z": change / sigma,
                    }
                )
    count = max(len(tests), 1)
    threshold_z = z_for_confidence(calibration.confidence_threshold, count)
    for test in tests:
        test["threshold_pct_iod"] = threshold_z * test["null_sigma_pct_iod"]
    # evidence for the right side is a relative lowering of the right (negative change)
    strongest = {
        "right": max((-t["z"] for t in tests), default=0.0),
        "left": max((t["z"] for t in tests), default=0.0),
    }
    side_confidence = {side: two_sided_confidence(z, count) for side, z in strongest.items()}
    named = [side for side, c in side_confidence.items() if c >= calibration.confidence_threshold]
    decision = named[0] if len(named) == 1 else ("undetermined" if named else "none")
    evidence = [
        f"{t['span']}: {t['region']} right-minus-left changed {t['change_pct_iod']:+.2f}% IOD vs rest "
        f"(faces without palsy, with {t['head_motion_deg']:.1f} deg of head motion: within "
        f"+-{t['threshold_pct_iod']:.2f}%)"
        for t in tests
    ]
    if not tests:
        evidence.append("no span with a face to compare with rest")
    matches = model_sha256 is None or model_sha256 == calibration.model_sha256
    calibrated_source = calibration.provenance.get("landmarks", "model")
    calibration_info = {
        "model_sha256": calibration.model_sha256,
        "matches_model": matches,
        **calibration.provenance,
        "landmarks": series.landmark_source,
        "matches_landmarks": calibrated_source == series.landmark_source,
    }
    caveat = CAVEAT
    if calibrated_source != series.landmark_source:
        logger.warning(
            "the asymmetry calibration is for landmarks=%r, these are landmarks=%r",
            calibrated_source,
            series.landmark_source,
        )
        caveat += (
            f" WARNING: the thresholds were calibrated on landmarks={calibrated_source!r}, "
            f"these are landmarks={series.landmark_source!r}; the decision is not reliable."
        )
    if not matches:
        logger.warning(
            "the asymmetry calibration was derived for model %s, not %s; re-run "
            "benchmarks/palsy_calibration.py --model MODEL",
            calibration.model_sha256[:12],
            model_sha256[:12],
        )
        caveat += (
            " WARNING: the thresholds were calibrated for a different landmark model; the "
            "decision is not reliable until the calibration is re-run for this model."
        )
    static = {
        region: {
            "right_minus_left_pct_iod": value,
            "healthy_range_pct_iod": [
                calibration.static_range[region]["p5"],
                calibration.static_range[region]["p95"],
            ],
        }
        for region, value in stats["static"].items()
    }
    return AsymmetryDecision(
        decision,
        max(side_confidence.values()),
        calibration.confidence_threshold,
        max(strongest.values()),
        threshold_z,
        side_confidence,
        stats["mode"],
        tests,
        static,
        evidence,
        calibration_info,
        caveat,
        calibration.probability_of(max(strongest.values()) - threshold_z),
        bool(calibration.probability.get("fitted", False)),
    )
