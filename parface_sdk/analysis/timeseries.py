"""Measures over time: per-frame series, per-task movement relative to rest, affected-side guess.

A *task* is a time span in which the subject holds one expression (rest, raise eyebrows, close
eyes, smile, ...). For each task and measure, the movement of a side is the median of the measure
over the task's frames minus its median over the rest frames (the task named ``rest``; without
one, the first second of the recording). The affected side in facial palsy moves less, so each
task and mobility measure with a clear movement votes for the side that moved less, weighted by
how unequal the sides are; without tasks, each side's range of motion over the whole recording
(5th to 95th percentile) is compared instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from parface_sdk.analysis.asymmetry import SIDE_MEASURES, measure_head
from parface_sdk.pose import normalize_pose
from parface_sdk.video.smoothing import pose_vector, smooth_head_sequence

logger = logging.getLogger(__name__)

# Measures that show voluntary movement, and the least movement (inter-canthal units, degrees or
# units squared) that counts as movement rather than noise.
MOBILITY_MEASURES: dict[str, float] = {
    "brow_height": 0.03,
    "eye_opening": 0.03,
    "eye_area": 0.005,
    "mouth_corner_height": 0.03,
    "mouth_corner_excursion": 0.03,
    "mouth_corner_midline": 0.03,
    "smile_angle": 3.0,
}
REST_FALLBACK_SECONDS = 1.0


@dataclass(frozen=True)
class Task:
    """An expression held from ``start`` to ``end`` seconds (end excluded)."""

    name: str
    start: float
    end: float

    @classmethod
    def parse(cls, text: str) -> Task:
        """``"smile=2.5:4"`` -> Task("smile", 2.5, 4.0)."""
        from parface_sdk.errors import InvalidOptionError

        try:
            name, span = text.split("=", 1)
            start, end = (float(value) for value in span.split(":", 1))
        except ValueError as exc:
            raise InvalidOptionError(
                f"a task is NAME=START:END in seconds (e.g. smile=2.5:4), got {text!r}"
            ) from exc
        if not (np.isfinite(start) and np.isfinite(end)):
            raise InvalidOptionError(f"task {text!r}: START and END must be finite numbers of seconds")
        if not name.strip() or not end > start or start < 0:
            raise InvalidOptionError(f"task {text!r}: needs a name and 0 <= START < END")
        return cls(name, start, end)


@dataclass
class MeasureSeries:
    """Every measure per frame. ``values`` maps flat names (``"brow_height.right"``) to (T,) arrays,
    ``poses`` maps ``yaw``, ``pitch``, ``roll`` to (T,) degrees; NaN where no face was found."""

    timestamps: np.ndarray
    values: dict[str, np.ndarray]
    poses: dict[str, np.ndarray]
    unit: str
    scale_mm: float | None = None
    head_points: np.ndarray = field(default=None, repr=False)  # (T, 68, 3) pose-normalised
    image_landmarks: np.ndarray = field(default=None, repr=False)  # (T, 68, 3) as measured
    landmark_source: str = "model"  # "model" or "flow" (parface_sdk.analysis.flow); picks the calibration

    def __len__(self) -> int:
        return len(self.timestamps)

    def side(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self.values[f"{name}.right"], self.values[f"{name}.left"]

    def mask(self, task: Task) -> np.ndarray:
        return (self.timestamps >= task.start) & (self.timestamps < task.end)


def measure_sequence(
    landmarks: np.ndarray,
    timestamps: np.ndarray,
    scale_mm: float | None = None,
    smoothing: str = "savgol",
    canonical: np.ndarray | None = None,
    landmark_source: str = "model",
) -> MeasureSeries:
    """Measures of (T, 68, 3) image landmarks (NaN rows = no face) at ``timestamps`` seconds.

    ``smoothing``: ``"savgol"`` (zero-lag, recorded video), ``"one_euro"`` (causal) or ``"none"``;
    head pose and the pose-normalised landmarks are smoothed separately before measuring.
    ``landmark_source`` records where the landmarks came from (``"model"`` or ``"flow"``, see
    :func:`parface_sdk.analysis.clip.track_landmarks`), so the decision uses the matching
    calibration.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 3) or len(landmarks) != len(timestamps):
        raise ValueError(
            f"expected (T, 68, 3) landmarks and (T,) timestamps, got {landmarks.shape}, {timestamps.shape}"
        )
    count = len(landmarks)
    heads = np.full_like(landmarks, np.nan)
    pose_vectors = np.full((count, 7), np.nan)
    valid = np.isfinite(landmarks).all(axis=(1, 2))
    for index in np.flatnonzero(valid):
        head, pose = normalize_pose(landmarks[index], canonical)
        heads[index] = head
        pose_vectors[index] = pose_vector(pose)
    if smoothing != "none":
        heads, pose_vectors = smooth_head_sequence(heads, pose_vectors, timestamps, method=smoothing)
    values: dict[str, np.ndarray] = {}
    for index in np.flatnonzero(valid):
        for key, value in measure_head(heads[index], scale_mm).flat().items():
            values.setdefault(key, np.full(count, np.nan))[index] = value
    if not values:
        logger.warning("no face in any of the %d frames; the series is empty", count)
    poses = {name: pose_vectors[:, i] for i, name in enumerate(("yaw", "pitch", "roll"))}
    return MeasureSeries(
        timestamps,
        values,
        poses,
        "mm" if scale_mm else "intercanthal",
        scale_mm,
        heads,
        landmarks,
        landmark_source,
    )


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else float("nan")


def _movement(right: float, left: float, threshold: float) -> dict:
    larger, smaller = max(abs(right), abs(left)), min(abs(right), abs(left))
    moved = bool(np.isfinite(larger) and larger >= threshold)
    ratio = smaller / larger if moved else float("nan")
    weaker = ("right" if abs(right) < abs(left) else "left") if moved else None
    return {"right": right, "left": left, "symmetry": ratio, "weaker": weaker, "moved": moved}


def task_movements(series: MeasureSeries, tasks: list[Task], rest: str = "rest") -> dict[str, dict]:
    """``{task: {measure: {"right", "left", "symmetry", "weaker", "moved"}}}`` relative to rest.

    ``symmetry`` = smaller / larger movement (1 = both sides move alike); ``weaker`` is the side
    that moved less, when the larger movement exceeds the measure's noise floor.
    """
    rest_task = next((t for t in tasks if t.name == rest), None)
    if rest_task is None:
        start = float(series.timestamps[0]) if len(series) else 0.0
        rest_task = Task(rest, start, start + REST_FALLBACK_SECONDS)
        logger.info("no %r task given; the first %.1f s serve as rest", rest, REST_FALLBACK_SECONDS)
    rest_mask = series.mask(rest_task)
    scale = series.scale_mm or 1.0
    result: dict[str, dict] = {}
    for task in tasks:
        if task.name == rest:
            continue
        mask = series.mask(task)
        result[task.name] = {}
        for name, (kind, _) in SIDE_MEASURES.items():
            right, left = series.side(name)
            threshold = MOBILITY_MEASURES.get(name, 0.03) * {"length": scale, "area": scale**2}.get(kind, 1)
            result[task.name][name] = _movement(
                _median(right[mask]) - _median(right[rest_mask]),
                _median(left[mask]) - _median(left[rest_mask]),
                threshold,
            )
    return result


def range_of_motion(series: MeasureSeries) -> dict[str, dict]:
    """Per measure, each side's 5th-95th percentile range over the whole recording."""
    scale = series.scale_mm or 1.0
    result = {}
    for name, (kind, _) in SIDE_MEASURES.items():
        right, left = series.side(name)
        spans = [
            float(np.subtract(*np.nanpercentile(s, [95, 5]))) if np.isfinite(s).any() else float("nan")
            for s in (right, left)
        ]
        threshold = MOBILITY_MEASURES.get(name, 0.03) * {"length": scale, "area": scale**2}.get(kind, 1)
        result[name] = _movement(spans[0], spans[1], threshold)
    return result


@dataclass(frozen=True)
class AffectedSideGuess:
    """``side`` is ``"right"``, ``"left"`` or ``"undetermined"``; ``confidence`` in [0, 1]."""

    side: str
    confidence: float
    votes: dict[str, float]
    evidence: list[str]

    def to_dict(self) -> dict:
        return {
            "side": self.side,
            "confidence": self.confidence,
            "votes": self.votes,
            "evidence": self.evidence,
        }


def guess_affected_side(movements: dict[str, dict], min_confidence: float = 0.25) -> AffectedSideGuess:
    """An uncalibrated, descriptive vote; the report's decision is :func:`.decision.decide_asymmetry`,
    which is calibrated against faces without palsy and can answer "none". This vote cannot: it names
    a side for any movement above fixed floors, and a side that drooped (moved *more*) counts as
    the stronger one.

    Vote over ``{task: {measure: movement}}`` (from :func:`task_movements`, or
    ``{"range": range_of_motion(series)}``): each mobility measure that moved votes for its weaker
    side with weight 1 - symmetry."""
    votes = {"right": 0.0, "left": 0.0}
    evidence: list[str] = []
    for task, measures in movements.items():
        for name in MOBILITY_MEASURES:
            item = measures.get(name)
            if not item or not item["moved"]:
                continue
            weight = 1.0 - item["symmetry"]
            votes[item["weaker"]] += weight
            evidence.append(
                f"{task}: {name} moved {item['right']:+.3f} right vs {item['left']:+.3f} left "
                f"(symmetry {item['symmetry']:.2f}) -> {item['weaker']} weaker"
            )
    total = votes["right"] + votes["left"]
    if total <= 0:
        return AffectedSideGuess("undetermined", 0.0, votes, evidence or ["no measure moved clearly"])
    side = max(votes, key=votes.get)
    confidence = abs(votes["right"] - votes["left"]) / total * min(1.0, total)
    if confidence < min_confidence:
        side = "undetermined"
    return AffectedSideGuess(side, float(confidence), votes, evidence)
