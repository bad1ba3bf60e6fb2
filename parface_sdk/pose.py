"""Head pose by a least-squares similarity fit (Umeyama) of the landmarks to the canonical face.

Frames and units
----------------
- **Image frame** (the landmarks): x to the image right, y down, z towards the camera, in pixels.
- **Head frame** (the canonical face, :mod:`parface_sdk.canonical`): the same axis
  directions for a frontal, upright face: x towards the subject's left (image right), y towards
  the chin, z out of the face towards the camera; origin at the canonical face's centroid; unit =
  the canonical outer inter-ocular distance (points 36-45). The midline plane is x = 0.
- The fit is ``landmarks ≈ scale * rotation @ head + translation``: ``scale`` in image pixels per
  head unit, ``translation`` in image pixels (where the head origin lands; its z is relative to
  the face's mean depth).
- **Angles** in degrees, the rotation composed as roll · yaw · pitch (Z·Y·X) in a y-up frame:
  ``yaw > 0``: the subject turns to their left (the nose moves to the image right);
  ``pitch > 0``: the subject looks up (the nose moves up in the image);
  ``roll > 0``: the head tilts counter-clockwise in the image (towards the subject's right
  shoulder, the subject's left eye goes up).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parface_sdk.errors import UnsupportedShapeError

# Points that move little with expressions: outer jaw, nose, eye corners (mirror-symmetric set).
RIGID_POINTS: tuple[int, ...] = (0, 1, 2, 14, 15, 16, *range(27, 36), 36, 39, 42, 45)

_FLIP_Y = np.diag([1.0, -1.0, 1.0])


def umeyama(
    source: np.ndarray, target: np.ndarray, with_scale: bool = True
) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``target ≈ scale * rotation @ source + translation`` (Umeyama 1991).

    ``source`` and ``target`` are (N, D) corresponding points. The rotation is proper (det +1).
    Returns ``(scale, rotation (D, D), translation (D,))``.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape or source.ndim != 2 or len(source) < 2:
        raise UnsupportedShapeError(
            f"umeyama needs two (N, D) arrays of the same shape, got {source.shape} and {target.shape}"
        )
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    centred_s, centred_t = source - mean_s, target - mean_t
    covariance = centred_t.T @ centred_s / len(source)
    u, sigma, vt = np.linalg.svd(covariance)
    signs = np.ones(len(sigma))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        signs[-1] = -1.0
    rotation = u @ np.diag(signs) @ vt
    variance = float((centred_s**2).sum() / len(source))
    scale = float((sigma * signs).sum() / variance) if with_scale and variance > 0 else 1.0
    translation = mean_t - scale * rotation @ mean_s
    return scale, rotation, translation


def rotation_from_euler(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The image-frame rotation of a head at ``yaw``, ``pitch``, ``roll`` degrees (see module doc)."""
    y, p, r = np.radians([yaw, -pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return _FLIP_Y @ (rz @ ry @ rx) @ _FLIP_Y


def euler_from_rotation(rotation: np.ndarray) -> tuple[float, float, float]:
    """``(yaw, pitch, roll)`` in degrees of an image-frame rotation; inverse of rotation_from_euler."""
    r = _FLIP_Y @ np.asarray(rotation, dtype=np.float64) @ _FLIP_Y
    yaw = np.arcsin(np.clip(-r[2, 0], -1.0, 1.0))
    pitch = np.arctan2(r[2, 1], r[2, 2])
    roll = np.arctan2(r[1, 0], r[0, 0])
    return float(np.degrees(yaw)), float(-np.degrees(pitch)), float(np.degrees(roll))


@dataclass(frozen=True)
class HeadPose:
    """A similarity from the head frame to the image: ``image = scale * rotation @ head + translation``."""

    yaw: float
    pitch: float
    roll: float
    rotation: np.ndarray = field(repr=False)
    translation: np.ndarray
    scale: float
    residual: float = 0.0  # RMS fit error on the fitted points, in head units

    @classmethod
    def from_similarity(
        cls, scale: float, rotation: np.ndarray, translation: np.ndarray, residual: float = 0.0
    ) -> HeadPose:
        yaw, pitch, roll = euler_from_rotation(rotation)
        return cls(
            yaw,
            pitch,
            roll,
            np.asarray(rotation, np.float64),
            np.asarray(translation, np.float64),
            float(scale),
            float(residual),
        )

    @classmethod
    def from_angles(
        cls, yaw: float, pitch: float, roll: float, translation=(0.0, 0.0, 0.0), scale: float = 1.0
    ) -> HeadPose:
        return cls.from_similarity(scale, rotation_from_euler(yaw, pitch, roll), np.asarray(translation))

    def to_image(self, head_points: np.ndarray) -> np.ndarray:
        """Head-frame points (..., 3) to image pixels."""
        return self.scale * np.asarray(head_points, np.float64) @ self.rotation.T + self.translation

    def to_head(self, image_points: np.ndarray) -> np.ndarray:
        """Image-pixel points (..., 3) to the head frame (pose removed, head units)."""
        return (np.asarray(image_points, np.float64) - self.translation) @ self.rotation / self.scale

    def to_dict(self) -> dict:
        return {
            "yaw": self.yaw,
            "pitch": self.pitch,
            "roll": self.roll,
            "translation": self.translation.tolist(),
            "scale": self.scale,
            "residual": self.residual,
        }


def estimate_pose(
    landmarks: np.ndarray, canonical: np.ndarray | None = None, points: tuple[int, ...] = RIGID_POINTS
) -> HeadPose:
    """Head pose of one face's (68, 3) image landmarks, fitted on ``points`` (default: rigid ones)."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 3) or not np.isfinite(landmarks).all():
        raise UnsupportedShapeError(f"expected finite (68, 3) landmarks, got {landmarks.shape}")
    if canonical is None:
        from parface_sdk.canonical import canonical_face

        canonical = canonical_face()
    index = list(points)
    scale, rotation, translation = umeyama(canonical[index], landmarks[index])
    if not scale > 0:
        raise UnsupportedShapeError("the landmarks are degenerate (zero size); cannot fit a head pose")
    fitted = scale * canonical[index] @ rotation.T + translation
    residual = float(np.sqrt(np.mean(np.sum((fitted - landmarks[index]) ** 2, axis=1)))) / scale
    return HeadPose.from_similarity(scale, rotation, translation, residual)


def normalize_pose(landmarks: np.ndarray, canonical: np.ndarray | None = None) -> tuple[np.ndarray, HeadPose]:
    """``(head-frame points (68, 3), pose)``: the landmarks with head pose and size removed."""
    pose = estimate_pose(landmarks, canonical)
    return pose.to_head(landmarks), pose
