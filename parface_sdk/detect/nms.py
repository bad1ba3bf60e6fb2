"""Non-maximum suppression and box overlap, vectorised in numpy."""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of ``[x0, y0, x1, y1]`` boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_output: int | None = None
) -> np.ndarray:
    """Indices of the boxes greedy NMS keeps, best score first.

    The IoU matrix is computed once; the greedy pass then only walks boolean rows of it, so the
    cost is one (K, K) numpy product for K candidates (K is a few hundred at most after the
    score threshold).
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    overlaps = box_iou(boxes[order], boxes[order]) > iou_threshold
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for rank in range(len(order)):
        if suppressed[rank]:
            continue
        keep.append(rank)
        if max_output is not None and len(keep) >= max_output:
            break
        suppressed |= overlaps[rank]
    return order[np.asarray(keep, dtype=np.int64)]


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, points: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """MediaPipe's blending suppression: each kept box is the score-weighted mean of its cluster.

    Returns ``(boxes, scores, points)``: the blended boxes (and points, any trailing shape), the
    cluster leader's score, best first. Blending steadies boxes of anchor-dense detectors such
    as BlazeFace.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    points = None if points is None else np.asarray(points, dtype=np.float64)[order]
    overlaps = box_iou(boxes, boxes) > iou_threshold
    free = np.ones(len(scores), dtype=bool)
    out_boxes, out_scores, out_points = [], [], []
    for rank in range(len(scores)):
        if not free[rank]:
            continue
        cluster = free & (overlaps[rank] | (np.arange(len(scores)) == rank))
        weights = scores[cluster] / scores[cluster].sum()
        out_boxes.append(weights @ boxes[cluster])
        out_scores.append(scores[rank])
        if points is not None:
            out_points.append(np.tensordot(weights, points[cluster], axes=1))
        free &= ~cluster
    count = len(out_scores)
    blended_points = None
    if points is not None:
        blended_points = np.asarray(out_points, np.float32).reshape(count, *points.shape[1:])
    return (
        np.asarray(out_boxes, np.float32).reshape(count, 4),
        np.asarray(out_scores, np.float32),
        blended_points,
    )


def suppress_covered(boxes: np.ndarray, scores: np.ndarray, max_covered: float) -> np.ndarray:
    """Indices (best score first) of the boxes kept when a box is dropped whose own area is covered
    more than ``max_covered`` by a kept box of higher score: the half-face and corner boxes an
    anchor detector adds around a face that fills the frame (distinct faces side by side, even
    touching, overlap far less). ``max_covered=1`` keeps everything."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    boxes = boxes[order]
    top_left = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0.0, None), axis=2)
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0.0, None), axis=1)
    covered = inter / np.maximum(area, 1e-9)[:, None]  # [i, j]: fraction of box i inside box j
    keep: list[int] = []
    for rank in range(len(order)):
        if not any(covered[rank, k] > max_covered for k in keep):
            keep.append(rank)
    return order[np.asarray(keep, dtype=np.int64)]
