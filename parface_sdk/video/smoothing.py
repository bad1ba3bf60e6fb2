"""Temporal smoothing of landmarks: a causal One Euro filter (live) and zero-lag Savitzky-Golay
(recorded video), applied to head pose and to the pose-normalised landmarks separately.

Both read the frame rate from the timestamps (seconds). The One Euro filter follows MediaPipe's
landmark smoothing: the speed that opens the filter is measured in face sizes per second
(``value_scale`` = 1 / face size), with MediaPipe's face-landmarker defaults ``min_cutoff`` 0.05 Hz,
``beta`` 80 and ``d_cutoff`` 1 Hz. Head pose is smoothed as (yaw, pitch, roll, translation,
log scale), each scaled to face sizes the same way, and the landmarks are recomposed from the
smoothed pose and the smoothed pose-normalised points.
"""

from __future__ import annotations

import numpy as np

from parface_sdk.pose import HeadPose, normalize_pose, rotation_from_euler

# A rotation of 1 degree moves face points by about half a face size times pi / 180.
_DEGREE_SCALE = 0.5 * np.pi / 180.0


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    return 1.0 / (1.0 + 1.0 / (2.0 * np.pi * np.asarray(cutoff) * dt))


class OneEuroFilter:
    """One Euro filter (Casiez et al. 2012) over an array of any shape, one filter per element."""

    def __init__(self, min_cutoff: float = 0.05, beta: float = 80.0, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("min_cutoff and d_cutoff must be > 0 and beta >= 0")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._time: float | None = None
        self._raw = self._value = self._speed = None

    def __call__(self, value: np.ndarray, timestamp: float, value_scale=1.0) -> np.ndarray:
        """Filter ``value`` observed at ``timestamp`` seconds; ``value_scale`` converts its units
        to face sizes for the speed (scalar or broadcastable array)."""
        value = np.array(value, dtype=np.float64)  # a copy: callers may overwrite their array
        if self._time is None:
            self._time, self._raw, self._value = float(timestamp), value, value.copy()
            self._speed = np.zeros_like(value)
            return value.copy()
        dt = float(timestamp) - self._time
        if dt <= 0:  # a repeated or out-of-order timestamp: keep the last estimate
            return self._value.copy()
        speed = (value - self._raw) * value_scale / dt
        self._speed = self._speed + _alpha(self.d_cutoff, dt) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed)
        self._value = self._value + _alpha(cutoff, dt) * (value - self._value)
        self._time, self._raw = float(timestamp), value
        return self._value.copy()


def savgol_weights(window: int, polyorder: int, position: int) -> np.ndarray:
    """Weights giving the value at ``position`` of a degree-``polyorder`` least-squares fit."""
    offsets = np.arange(window, dtype=np.float64) - position
    vandermonde = np.vander(offsets, polyorder + 1, increasing=True)
    return np.linalg.pinv(vandermonde)[0]


def frame_rate(timestamps: np.ndarray, default: float = 30.0) -> float:
    """Median frame rate of ``timestamps`` (seconds); ``default`` if it cannot be told."""
    steps = np.diff(np.asarray(timestamps, dtype=np.float64))
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if len(steps) else default


def savgol_smooth(
    values: np.ndarray, timestamps: np.ndarray, window_seconds: float = 0.25, polyorder: int = 2
) -> np.ndarray:
    """Zero-lag Savitzky-Golay smoothing of (T, ...) values along time.

    The window is ``window_seconds`` at the median frame rate, rounded to an odd number of frames
    (9 at 30 fps, at least 3; the degree drops when the window is too short for it); the first and
    last half-windows use the fit of the first and last full window.
    """
    values = np.asarray(values, dtype=np.float64)
    count = len(values)
    window = max(3, int(round(window_seconds * frame_rate(timestamps))) // 2 * 2 + 1)
    window = min(window, count if count % 2 else count - 1)
    if window < 3:
        return values.copy()
    polyorder = min(polyorder, window - 2)  # short windows (low frame rates) fit a lower degree
    half = window // 2
    flat = values.reshape(count, -1)
    out = np.empty_like(flat)
    centre = savgol_weights(window, polyorder, half)
    for index in range(half, count - half):
        out[index] = centre @ flat[index - half : index + half + 1]
    for index in range(half):
        out[index] = savgol_weights(window, polyorder, index) @ flat[:window]
        tail = count - 1 - index
        out[tail] = savgol_weights(window, polyorder, window - 1 - index) @ flat[count - window :]
    return out.reshape(values.shape)


def face_size(points: np.ndarray) -> float:
    """Mean of the width and height of the points' bounding box (MediaPipe's object scale)."""
    xy = np.asarray(points, dtype=np.float64)[..., :2]
    span = xy.max(axis=-2) - xy.min(axis=-2)
    return float(np.mean(span))


def jitter_percent(landmarks: np.ndarray, dims: int = 2) -> float:
    """Mean frame-to-frame motion of the points, in % of the mean outer inter-ocular distance.

    ``landmarks`` is (T, 68, >=dims); ``dims`` = 2 measures image-plane motion, 3 includes depth.
    """
    points = np.asarray(landmarks, dtype=np.float64)[..., :dims]
    motion = np.linalg.norm(np.diff(points, axis=0), axis=-1)
    ocular = np.linalg.norm(points[:, 36, :2] - points[:, 45, :2], axis=-1)
    return float(100.0 * np.nanmean(motion) / np.nanmean(ocular))


def pose_vector(pose: HeadPose) -> np.ndarray:
    """(yaw, pitch, roll degrees, tx, ty, tz pixels, log scale) of a head pose."""
    return np.array([pose.yaw, pose.pitch, pose.roll, *pose.translation, np.log(pose.scale)])


def pose_from_vector(vector: np.ndarray) -> HeadPose:
    rotation = rotation_from_euler(*vector[:3])
    return HeadPose(
        float(vector[0]),
        float(vector[1]),
        float(vector[2]),
        rotation,
        np.asarray(vector[3:6], np.float64),
        float(np.exp(vector[6])),
    )


def _pose_value_scale(vector: np.ndarray, head_size: float) -> np.ndarray:
    pixels = 1.0 / (np.exp(vector[6]) * head_size)
    return np.array([_DEGREE_SCALE] * 3 + [pixels] * 3 + [0.5])


def _segments(valid: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def smooth_head_sequence(
    heads: np.ndarray,
    poses: np.ndarray,
    timestamps: np.ndarray,
    method: str = "savgol",
    **params: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Smooth (T, 68, 3) pose-normalised points and (T, K) pose vectors separately.

    ``poses`` columns are those of :func:`pose_vector` (or only the first three, angles).
    ``method`` is ``"savgol"`` or ``"one_euro"``; NaN frames split the sequence into segments.
    ``params`` go to :func:`savgol_smooth` or :class:`OneEuroFilter`.
    """
    if method not in ("savgol", "one_euro"):
        raise ValueError(f"smoothing method must be 'savgol', 'one_euro' or 'none', got {method!r}")
    heads, poses = np.array(heads, dtype=np.float64), np.array(poses, dtype=np.float64)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    valid = np.isfinite(heads).all(axis=(1, 2)) & np.isfinite(poses).all(axis=1)
    poses[valid, :3] = np.degrees(np.unwrap(np.radians(poses[valid, :3]), axis=0))
    for start, end in _segments(valid):
        times = timestamps[start:end]
        if method == "savgol":
            heads[start:end] = savgol_smooth(heads[start:end], times, **params)
            poses[start:end] = savgol_smooth(poses[start:end], times, **params)
            continue
        head_filter, pose_filter = OneEuroFilter(**params), OneEuroFilter(**params)
        for index in range(start, end):
            size = face_size(heads[index])
            heads[index] = head_filter(heads[index], timestamps[index], 1.0 / size)
            scale = _pose_value_scale(poses[index], size) if poses.shape[1] == 7 else _DEGREE_SCALE
            poses[index] = pose_filter(poses[index], timestamps[index], scale)
    return heads, poses


def smooth_landmark_sequence(
    landmarks: np.ndarray, timestamps: np.ndarray, method: str = "savgol", **params: float
) -> np.ndarray:
    """Smoothed (T, 68, 3) image landmarks (NaN rows stay NaN): pose and shape smoothed apart."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    heads = np.full_like(landmarks, np.nan)
    poses = np.full((len(landmarks), 7), np.nan)
    for index in np.flatnonzero(np.isfinite(landmarks).all(axis=(1, 2))):
        heads[index], pose = normalize_pose(landmarks[index])
        poses[index] = pose_vector(pose)
    heads, poses = smooth_head_sequence(heads, poses, timestamps, method, **params)
    out = np.full_like(landmarks, np.nan)
    for index in np.flatnonzero(np.isfinite(poses).all(axis=1)):
        out[index] = pose_from_vector(poses[index]).to_image(heads[index])
    return out


class LandmarkSmoother:
    """Live One Euro smoothing of one tracked face: ``smoothed = smoother(landmarks, timestamp)``."""

    def __init__(self, min_cutoff: float = 0.05, beta: float = 80.0, d_cutoff: float = 1.0):
        self._head = OneEuroFilter(min_cutoff, beta, d_cutoff)
        self._pose = OneEuroFilter(min_cutoff, beta, d_cutoff)
        self._last_angles: np.ndarray | None = None

    def reset(self) -> None:
        self._head.reset()
        self._pose.reset()
        self._last_angles = None

    def __call__(self, landmarks: np.ndarray, timestamp: float) -> np.ndarray:
        head, pose = normalize_pose(landmarks)
        vector = pose_vector(pose)
        if self._last_angles is not None:  # keep angles continuous across +-180 degrees
            vector[:3] = self._last_angles + (vector[:3] - self._last_angles + 180.0) % 360.0 - 180.0
        self._last_angles = vector[:3].copy()
        size = face_size(head)
        head = self._head(head, timestamp, 1.0 / size)
        vector = self._pose(vector, timestamp, _pose_value_scale(vector, size))
        return pose_from_vector(vector).to_image(head).astype(np.float32)
