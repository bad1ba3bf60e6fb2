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

from parface_sdk.analysis.asymmetry import SIDE_MEASURES, measure_head, unit_scale
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
    face_found: np.ndarray = field(default=None, repr=False)  # (T,) bool: the tracker found a face

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
    face_found: np.ndarray | None = None,
) -> MeasureSeries:
    """Measures of (T, 68, 3) image landmarks (NaN rows = no face) at ``timestamps`` seconds.

    ``smoothing``: ``"savgol"`` (zero-lag, recorded video), ``"one_euro"`` (causal) or ``"none"``;
    head pose and the pose-normalised landmarks are smoothed separately before measuring.
    ``landmark_source`` records where the landmarks came from (``"model"`` or ``"flow"``, see
    :func:`parface_sdk.analysis.clip.track_landmarks`), so the decision uses the matching
    calibration. ``face_found`` (T,) says in which frames the tracker found a face (default: the
    frames with finite landmarks), for the frames-with-a-face count of :func:`task_frames`.
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
        valid.copy() if face_found is None else np.asarray(face_found, dtype=bool),
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
    scale = unit_scale(series.scale_mm)
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


def task_values(series: MeasureSeries, tasks: list[Task]) -> dict[str, dict]:
    """``{task: {measure: {"right", "left", "difference"}}}``: each side's median over the task's
    frames (for a photo, the photo's value), difference = right - left."""
    result: dict[str, dict] = {}
    for task in tasks:
        mask = series.mask(task)
        result[task.name] = {}
        for name in SIDE_MEASURES:
            right, left = (_median(values[mask]) for values in series.side(name))
            result[task.name][name] = {"right": right, "left": left, "difference": right - left}
    return result


def range_of_motion(series: MeasureSeries) -> dict[str, dict]:
    """Per measure, each side's 5th-95th percentile range over the whole recording."""
    scale = unit_scale(series.scale_mm)
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


# The measures that show each protocol task's movement (the photo protocol's task names, see
# parface_sdk.analysis.photos); other task names use DEFAULT_TASK_MEASURES.
TASK_MEASURES: dict[str, tuple[str, ...]] = {
    "brows": ("brow_height",),
    "eyes_gentle": ("eye_opening",),
    "eyes_tight": ("eye_opening",),
    "smile": ("mouth_corner_level", "mouth_corner_excursion"),
    "eee": ("mouth_corner_excursion", "mouth_corner_level"),
    "pucker": ("mouth_corner_midline", "mouth_corner_excursion"),
}
DEFAULT_TASK_MEASURES = ("brow_height", "mouth_corner_level", "eye_opening")


def _rest_task(series: MeasureSeries, tasks: list[Task], rest: str) -> Task:
    found = next((t for t in tasks if t.name == rest), None)
    if found is not None:
        return found
    start = float(series.timestamps[0]) if len(series) else 0.0
    return Task(rest, start, start + REST_FALLBACK_SECONDS)


def _used(series: MeasureSeries) -> np.ndarray:
    """Frames with every measure the decision reads (a face, and landmarks that were kept)."""
    if not series.values:
        return np.zeros(len(series), dtype=bool)
    return np.isfinite(series.values["brow_height.right"]) & np.isfinite(
        series.values["mouth_corner_level.right"]
    )


def task_frames(
    series: MeasureSeries, tasks: list[Task] | None = None, rest: str = "rest"
) -> dict[str, dict]:
    """``{task: {"frames", "frames_with_face", "frames_used"}}``: the frames in each task's span, how
    many of them had a face, and how many had the measures the decision reads (a frame with a face
    can still be left out, e.g. where optical flow lost a decision point). Without tasks, ``rest``
    (the first second) and ``after rest``."""
    tasks = list(tasks or [])
    spans = tasks if tasks else [_rest_task(series, [], rest)]
    if not tasks:
        spans.append(Task("after rest", spans[0].end, float("inf")))
    found = (
        series.face_found
        if series.face_found is not None
        else np.isfinite(series.image_landmarks).all(axis=(1, 2))
    )
    used = _used(series)
    result = {}
    for task in spans:
        mask = series.mask(task)
        result[task.name] = {
            "start": task.start,
            "end": task.end,
            "frames": int(mask.sum()),
            "frames_with_face": int((mask & found).sum()),
            "frames_used": int((mask & used).sum()),
        }
    return result


def peak_frames(series: MeasureSeries, tasks: list[Task] | None = None, rest: str = "rest") -> dict[str, int]:
    """``{task: frame index}``: each task's *peak* frame, where its measures (:data:`TASK_MEASURES`)
    are furthest from their rest medians, in units of each measure's noise floor
    (:data:`MOBILITY_MEASURES`), on either side. The rest task's frame is the one closest to the
    rest medians. Without tasks, one entry, ``after rest``, over the decision's measures. Tasks
    without a usable frame are left out."""
    tasks = list(tasks or [])
    if not series.values:
        return {}
    rest_task = _rest_task(series, tasks, rest)
    rest_mask = series.mask(rest_task)
    spans = [t for t in tasks if t.name != rest] or [Task("after rest", rest_task.end, float("inf"))]
    scale = unit_scale(series.scale_mm)

    def distance(names: tuple[str, ...]) -> np.ndarray:
        total = np.full(len(series), np.nan)
        for name in names:
            kind = SIDE_MEASURES[name][0]
            floor = MOBILITY_MEASURES.get(name, 0.03) * {"length": scale, "area": scale**2}.get(kind, 1)
            for values in series.side(name):
                moved = np.abs(values - _median(values[rest_mask])) / floor
                total = np.fmax(total, moved)
        return total

    result: dict[str, int] = {}
    at_rest = distance(DEFAULT_TASK_MEASURES)
    candidates = rest_mask & np.isfinite(at_rest)
    if candidates.any() and any(t.name == rest for t in tasks):
        result[rest] = int(np.flatnonzero(candidates)[np.argmin(at_rest[candidates])])
    for task in spans:
        moved = distance(TASK_MEASURES.get(task.name, DEFAULT_TASK_MEASURES))
        candidates = series.mask(task) & np.isfinite(moved)
        if candidates.any():
            result[task.name] = int(np.flatnonzero(candidates)[np.argmax(moved[candidates])])
    return result


def overlay_frame(series: MeasureSeries, tasks: list[Task] | None = None, rest: str = "rest") -> int | None:
    """The frame of the report's main overlay: the peak frame (:func:`peak_frames`) of the task that
    moved most from rest (without tasks: the peak after rest); None without measures."""
    peaks = peak_frames(series, tasks, rest)
    if len(peaks) > 1:
        peaks.pop(rest, None)
    if not peaks:
        return None
    if len(peaks) == 1:
        return next(iter(peaks.values()))
    rest_task = _rest_task(series, list(tasks or []), rest)
    rest_mask = series.mask(rest_task)
    scale = unit_scale(series.scale_mm)
    best, best_move = None, -1.0
    for name, index in peaks.items():
        move = 0.0
        for measure in TASK_MEASURES.get(name, DEFAULT_TASK_MEASURES):
            kind = SIDE_MEASURES[measure][0]
            floor = MOBILITY_MEASURES.get(measure, 0.03) * {"length": scale, "area": scale**2}.get(kind, 1)
            for values in series.side(measure):
                move = max(move, abs(values[index] - _median(values[rest_mask])) / floor)
        if move > best_move:
            best, best_move = index, move
    return best
