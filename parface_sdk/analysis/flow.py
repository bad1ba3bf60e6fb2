"""Landmarks followed by optical flow from a reference frame, for measuring small one-sided changes.

The landmark model has a shape prior: it follows a one-sided droop of a few % of the inter-ocular
distance only in part, and drags the other side along (MODEL_CARD.md). Image motion does not have
that prior. :class:`FlowTracker` tracks every landmark from a *reference frame* (the first frame
with a face: the start of the recording, which the protocol makes the rest period) into each later
frame with pyramidal Lucas-Kanade flow (OpenCV), starting from the model's landmarks as the initial
guess, and replaces the model's x, y by the reference landmarks plus the measured image motion.
Depth stays the model's.

A point keeps the model's position in a frame when the flow is not trusted there:

- Lucas-Kanade reports no solution, or the flow back from the frame to the reference misses the
  starting point by more than ``max_error`` inter-ocular distances (forward-backward check: the
  point slid along an edge, was occluded, or the appearance changed too much, as in a wide smile);
- the flow disagrees with the model by more than ``max_disagreement`` inter-ocular distances (it
  latched onto another structure).

Other points fall back to the model's reading. A frame where the flow is not trusted at one of
the :data:`DECISION_POINTS` falls back to the model's landmarks for the whole frame
(``lost="model"``, the default: the frame is kept, so a task is not left without frames; the model's
reading there usually under-reads a change and can misread the direction of a strong, narrow
deformation), or is returned as NaN and left out like a frame without a face (``lost="drop"``).
:attr:`FlowTracker.coverage` says how often the flow was trusted, :attr:`FlowTracker.fallbacks`
how many frames fell back to the model and :attr:`FlowTracker.dropped` how many were left out.
The refinement measures *relative* motion since the reference frame, which is what the asymmetry
decision uses (task minus rest); it does not make a single frame's landmarks more accurate.
"""

from __future__ import annotations

import numpy as np

# Where the landmarks an analysis measures come from: the model alone, or the model followed by
# optical flow from a reference frame (this module). One calibration each (analysis.decision).
LANDMARK_SOURCES = ("model", "flow")
# The points the asymmetry decision reads (eye corners of the reference line, brows 19 / 24, mouth
# corners): a frame where the flow lost any of them is left out (NaN), not filled with the model's
# reading, which can misread the direction of a strong, narrow deformation.
DECISION_POINTS = (19, 24, 36, 45, 48, 54)


def _checked(image) -> np.ndarray:
    """A non-empty uint8 grayscale, colour or colour + alpha array, or InvalidImageError."""
    from parface_sdk.errors import InvalidImageError

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.size == 0:
        raise InvalidImageError(
            f"flow refinement needs non-empty uint8 frames, got dtype {image.dtype} and shape {image.shape}"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise InvalidImageError(
            f"flow refinement needs (H, W), (H, W, 3) or (H, W, 4) frames, got {image.shape}"
        )
    return image


class FlowTracker:
    """Streaming: call :meth:`update` once per frame, in order."""

    def __init__(
        self,
        window: float = 0.15,
        max_error: float = 0.02,
        max_disagreement: float = 0.1,
        levels: int = 3,
        lost: str = "model",
    ) -> None:
        if not 0 < window <= 1 or max_error <= 0 or max_disagreement <= 0 or levels < 0:
            raise ValueError("window in (0, 1], max_error > 0, max_disagreement > 0, levels >= 0")
        if lost not in ("model", "drop"):
            raise ValueError(f"lost is 'model' or 'drop', got {lost!r}")
        self.lost = lost
        self.window, self.max_error, self.max_disagreement, self.levels = (
            window,
            max_error,
            max_disagreement,
            levels,
        )
        self._reference: tuple[np.ndarray, np.ndarray] | None = None  # (gray, landmarks)
        self._used = 0
        self._seen = 0
        self.dropped = 0  # frames left out: the flow lost a decision point (lost="drop")
        self.fallbacks = 0  # frames given the model's landmarks: the flow lost a decision point
        self.frames = 0  # frames with a face after the reference

    @property
    def coverage(self) -> float:
        """The fraction of (frame, point) pairs after the reference that the flow refined."""
        return self._used / self._seen if self._seen else float("nan")

    def update(self, image: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray | None:
        """The refined (68, 3) landmarks of this frame (``image``: RGB or grayscale uint8; the
        model's ``landmarks``, None without a face); where the flow lost a decision point, the
        model's landmarks (``lost="model"``) or all NaN (``lost="drop"``)."""
        import cv2

        image = _checked(image)
        if landmarks is None or not np.isfinite(landmarks).all():
            return landmarks
        gray = image if image.ndim == 2 else cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
        landmarks = np.asarray(landmarks, dtype=np.float64)
        if self._reference is None or self._reference[0].shape != gray.shape:
            self._reference = (gray.copy(), landmarks.copy())
            return landmarks
        reference_gray, reference = self._reference
        iod = float(np.linalg.norm(reference[45, :2] - reference[36, :2]))
        side = int(max(7, round(self.window * iod))) | 1
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)
        start = reference[:, :2].astype(np.float32).reshape(-1, 1, 2)
        guess = landmarks[:, :2].astype(np.float32).reshape(-1, 1, 2)
        forward, found, _ = cv2.calcOpticalFlowPyrLK(
            reference_gray, gray, start, guess.copy(), winSize=(side, side), maxLevel=self.levels,
            criteria=criteria, flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
        )  # fmt: skip
        backward, back_found, _ = cv2.calcOpticalFlowPyrLK(
            gray, reference_gray, forward, start.copy(), winSize=(side, side), maxLevel=self.levels,
            criteria=criteria, flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
        )  # fmt: skip
        forward, backward = forward.reshape(-1, 2), backward.reshape(-1, 2)
        trusted = (
            (found.ravel() == 1)
            & (back_found.ravel() == 1)
            & (np.linalg.norm(backward - start.reshape(-1, 2), axis=1) < self.max_error * iod)
            & (np.linalg.norm(forward - landmarks[:, :2], axis=1) < self.max_disagreement * iod)
        )
        self._used += int(trusted.sum())
        self._seen += len(trusted)
        self.frames += 1
        if not trusted[list(DECISION_POINTS)].all():
            if self.lost == "model":
                self.fallbacks += 1
                return landmarks
            self.dropped += 1
            return np.full_like(landmarks, np.nan)
        refined = landmarks.copy()
        refined[trusted, :2] = forward[trusted]
        return refined


def flow_landmarks(frames, landmarks: np.ndarray, color: str = "RGB", **options) -> tuple[np.ndarray, float]:
    """Batch form of :class:`FlowTracker`: (T, 68, 3) refined landmarks of ``frames`` (arrays in
    ``color`` order, or grayscale) and the coverage."""
    import cv2

    tracker = FlowTracker(**options)
    out = np.array(landmarks, dtype=np.float64, copy=True)
    for index, frame in enumerate(frames):
        frame = _checked(frame)
        if frame.ndim == 3:
            code = cv2.COLOR_BGR2GRAY if color.upper() == "BGR" else cv2.COLOR_RGB2GRAY
            frame = cv2.cvtColor(frame[..., :3], code)
        points = out[index] if np.isfinite(out[index]).all() else None
        refined = tracker.update(frame, points)
        if refined is not None:
            out[index] = refined
    return out, tracker.coverage
