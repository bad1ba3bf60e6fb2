"""Fit the 68-point BFM bases to 2D landmarks: weak-perspective pose + regularised shape (40) and
expression (10) coefficients by alternating least squares, vectorised over a batch of faces.

Used to make depth labels for 2D-only data (300-W). Model space (3DDFA layout): x right, y up,
z towards the viewer. The projection to 0-based image pixels (y down) is
``x = s r1.S + tx``, ``y = -(s r2.S + ty)``, and the depth in image pixels, positive towards the
camera, is ``z = s r3.S`` with ``r3 = r1 x r2`` (so the rotation stays proper), centred per face.

Regulariser (no BFM eigenvalues are shipped with the 68-point bases, so this is a stated prior):
each basis column is rescaled so that a coefficient of 1 moves the 68 points by 1 mean-face
inter-ocular distance (IOD) RMS; the coefficient priors are zero-mean with std
``SHAPE_PRIOR / sqrt(k + 1)`` and ``EXPRESSION_PRIOR / sqrt(k + 1)`` (about 8 % and 15 % of the
IOD in total), and the landmark noise is ``NOISE`` IOD per coordinate at weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

NUM_POINTS = 68
JAW = np.arange(17)
INNER = np.arange(17, 68)
JAW_WEIGHT = 0.1  # annotated contour points sit on the silhouette, not on fixed 3D vertices
SHAPE_PRIOR = 0.039
EXPRESSION_PRIOR = 0.088
NOISE = 0.02
ITERATIONS = 30


def point_weights(jaw_weight: float = JAW_WEIGHT) -> np.ndarray:
    weights = np.ones(NUM_POINTS)
    weights[JAW] = jaw_weight
    return weights


@dataclass(frozen=True)
class BFM68:
    """Mean face (68, 3) and bases (68, 3, K), model units, with unitless coefficients (see module)."""

    mean: np.ndarray
    bases: np.ndarray
    prior_std: np.ndarray  # (K,)
    num_shape: int

    @classmethod
    def load(cls, path: str | Path) -> BFM68:
        """Read ``bfm_68_landmarks.npz`` (``u_base`` (204,), ``w_shp_base`` (204, 40),
        ``w_exp_base`` (204, 10), interleaved x, y, z per point)."""
        with np.load(path) as data:
            mean = data["u_base"].astype(np.float64).reshape(NUM_POINTS, 3)
            shape = data["w_shp_base"].astype(np.float64).reshape(NUM_POINTS, 3, -1)
            expression = data["w_exp_base"].astype(np.float64).reshape(NUM_POINTS, 3, -1)
        iod = np.linalg.norm(mean[36] - mean[45])
        bases = np.concatenate([shape, expression], axis=2)
        rms = np.sqrt((bases**2).sum(axis=(0, 1)) / NUM_POINTS)
        bases = bases / rms * iod
        prior = np.concatenate(
            [SHAPE_PRIOR / np.sqrt(np.arange(shape.shape[2]) + 1.0),
             EXPRESSION_PRIOR / np.sqrt(np.arange(expression.shape[2]) + 1.0)]
        )  # fmt: skip
        return cls(mean=mean, bases=bases, prior_std=prior, num_shape=shape.shape[2])

    @property
    def iod(self) -> float:
        return float(np.linalg.norm(self.mean[36] - self.mean[45]))

    def shapes(self, coefficients: np.ndarray) -> np.ndarray:
        """(B, K) coefficients to (B, 68, 3) model-space points."""
        return self.mean + np.einsum("pck,bk->bpc", self.bases, coefficients)


@dataclass(frozen=True)
class Fit:
    """Per-face fit results (B faces)."""

    points: np.ndarray  # (B, 68, 3) fitted model in image pixels, z centred, towards camera
    scale: np.ndarray  # (B,) pixels per model unit
    rotation: np.ndarray  # (B, 3, 3) rows r1, r2, r3 (model y-up frame)
    translation: np.ndarray  # (B, 2) in the y-up image frame
    coefficients: np.ndarray  # (B, K) unitless (see module docstring)


def _pose(shapes: np.ndarray, targets: np.ndarray, weights: np.ndarray):
    """Weighted affine camera, projected onto the nearest scaled orthographic one."""
    wsum = weights.sum()
    s_mean = np.einsum("p,bpc->bc", weights, shapes) / wsum
    q_mean = np.einsum("p,bpc->bc", weights, targets) / wsum
    sc, qc = shapes - s_mean[:, None], targets - q_mean[:, None]
    gram = np.einsum("bpi,p,bpj->bij", sc, weights, sc)
    cross = np.einsum("bpi,p,bpj->bij", sc, weights, qc)
    affine = np.linalg.solve(gram, cross).transpose(0, 2, 1)  # (B, 2, 3)
    u, sigma, vt = np.linalg.svd(affine, full_matrices=False)
    rows = u @ vt  # (B, 2, 3) orthonormal rows
    scale = sigma.mean(axis=1)
    translation = q_mean - scale[:, None] * np.einsum("bij,bj->bi", rows, s_mean)
    return scale, rows, translation


def fit(model: BFM68, landmarks_2d: np.ndarray, weights: np.ndarray | None = None,
        iterations: int = ITERATIONS) -> Fit:  # fmt: skip
    """Fit (B, 68, 2) or (68, 2) 0-based image landmarks; returns a batched :class:`Fit`."""
    xy = np.asarray(landmarks_2d, dtype=np.float64)
    if xy.ndim == 2:
        xy = xy[None]
    if xy.shape[1:] != (NUM_POINTS, 2):
        raise ValueError(f"landmarks must be (B, 68, 2), got {xy.shape}")
    weights = point_weights() if weights is None else np.asarray(weights, dtype=np.float64)
    targets = xy * np.array([1.0, -1.0])  # y up, like the model
    coefficients = np.zeros((len(xy), model.bases.shape[2]))
    ridge = (NOISE * model.iod) ** 2 / model.prior_std**2  # times scale**2 below
    for _ in range(iterations):
        scale, rows, translation = _pose(model.shapes(coefficients), targets, weights)
        projected_bases = scale[:, None, None, None] * np.einsum("bij,pjk->bpik", rows, model.bases)
        residual = (
            targets - translation[:, None] - scale[:, None, None] * np.einsum("bij,pj->bpi", rows, model.mean)
        )
        normal = np.einsum("bpik,p,bpil->bkl", projected_bases, weights, projected_bases)
        normal = normal + (scale[:, None] ** 2 * ridge)[:, :, None] * np.eye(len(ridge))
        rhs = np.einsum("bpik,p,bpi->bk", projected_bases, weights, residual)
        coefficients = np.linalg.solve(normal, rhs[..., None])[..., 0]
    shapes = model.shapes(coefficients)
    scale, rows, translation = _pose(shapes, targets, weights)
    rotation = np.concatenate([rows, np.cross(rows[:, 0], rows[:, 1])[:, None]], axis=1)
    camera = scale[:, None, None] * np.einsum("bij,bpj->bpi", rotation, shapes)
    points = np.empty_like(camera)
    points[..., 0] = camera[..., 0] + translation[:, None, 0]
    points[..., 1] = -(camera[..., 1] + translation[:, None, 1])
    points[..., 2] = camera[..., 2] - camera[..., 2].mean(axis=1, keepdims=True)
    return Fit(points, scale, rotation, translation, coefficients)


def box_size(landmarks: np.ndarray) -> np.ndarray:
    """sqrt(w * h) of each face's landmark box, (B,)."""
    xy = np.asarray(landmarks)[..., :2]
    extent = xy.max(axis=-2) - xy.min(axis=-2)
    return np.sqrt(extent[..., 0] * extent[..., 1])


def fit_labels(model: BFM68, landmarks_2d: np.ndarray) -> dict[str, np.ndarray]:
    """Both label conventions for (B, 68, 2) annotated landmarks, plus fit diagnostics.

    Returns ``"2D"`` (B, 68, 3): annotated x, y with fitted z; ``"3DA-2D"`` (B, 68, 3): annotated
    x, y for points 17-67, the fitted projection for the jaw 0-16, fitted z; ``"fitted"``: the
    model's own (B, 68, 3); ``"residual"`` and ``"residual_inner"`` (B,): mean 2D distance between
    fitted and annotated points (all 68 / inner 51) divided by sqrt(w * h) of the landmark box.
    """
    xy = np.asarray(landmarks_2d, dtype=np.float64)[..., :2]
    result = fit(model, xy)
    fitted = result.points
    labels_2d = np.concatenate([xy, fitted[..., 2:]], axis=-1)
    labels_3da = labels_2d.copy()
    labels_3da[:, JAW, :2] = fitted[:, JAW, :2]
    distance = np.linalg.norm(fitted[..., :2] - xy, axis=-1)
    size = box_size(xy)
    return {
        "2D": labels_2d.astype(np.float32),
        "3DA-2D": labels_3da.astype(np.float32),
        "fitted": fitted.astype(np.float32),
        "residual": (distance.mean(axis=1) / size).astype(np.float32),
        "residual_inner": (distance[:, INNER].mean(axis=1) / size).astype(np.float32),
    }
