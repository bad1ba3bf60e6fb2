"""Fit the BFM to every face of 300-W style train folders and cache the labels.

    python -m parface_training.data.make_labels \\
        --images /work/shared/data/300w-subset/train /work/shared/data/300w-lfpw/train \\
        --out /work/runs/labels/train_labels.npz [--bfm PATH] [--aflw-check AFLW_DIR]

Run with ``OMP_NUM_THREADS=1`` on the shared machine (about 10 s for 1953 faces).
``--aflw-check`` fits the x, y of AFLW2000-3D ``.mat`` ground truth and compares the fitted depth
with the true depth: a check of the labelling method only (nothing is trained or tuned on it).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from parface_sdk.landmark_files import read_aflw_mat, read_pts
from parface_training.data.bfm_fit import BFM68, fit, fit_labels
from parface_training.data.labels import LabelCache, labeled_files

logger = logging.getLogger(__name__)

DEFAULT_BFM = "/work/shared/models/bfm_68_landmarks.npz"


def make_cache(folders: list[Path], model: BFM68) -> tuple[LabelCache, dict[str, np.ndarray]]:
    """Fit all faces of ``folders``; returns the cache and the full :func:`fit_labels` output."""
    pairs = [pair for folder in folders for pair in labeled_files(folder)]
    xy = np.stack([read_pts(pts) for _, pts in pairs])
    labels = fit_labels(model, xy)
    cache = LabelCache(
        image_paths=np.array([str(image.resolve()) for image, _ in pairs]),
        landmarks_2d=xy.astype(np.float32),
        landmarks_3da2d=labels["3DA-2D"],
        landmarks_2d_with_z=labels["2D"],
        residual=labels["residual"],
    )
    return cache, labels


def aflw_depth_check(model: BFM68, folder: Path, iterations: int | None = None) -> dict[str, float]:
    """Fit the ground-truth x, y of each ``.mat`` and score the fitted z against the true z (both
    mean-removed): mean |dz| / 3D distance of points 36 and 45, and the Pearson correlation."""
    errors, correlations = [], []
    for mat in sorted(folder.glob("*.mat")):
        truth = read_aflw_mat(mat)["pt3d_68"].astype(np.float64)
        kwargs = {} if iterations is None else {"iterations": iterations}
        z_fit = fit(model, truth[:, :2], **kwargs).points[0, :, 2]
        z_true = truth[:, 2] - truth[:, 2].mean()
        errors.append(np.abs(z_fit - z_true).mean() / np.linalg.norm(truth[36] - truth[45]))
        correlations.append(np.corrcoef(z_fit, z_true)[0, 1])
    errors, correlations = np.array(errors), np.array(correlations)
    return {
        "faces": len(errors),
        "z_error_mean": float(errors.mean()),
        "z_error_max": float(errors.max()),
        "corr_mean": float(correlations.mean()),
        "corr_min": float(correlations.min()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", nargs="+", type=Path, required=True, help="300-W style train folders")
    parser.add_argument("--out", type=Path, required=True, help="the .npz label cache to write")
    parser.add_argument("--bfm", type=Path, default=Path(DEFAULT_BFM), help="bfm_68_landmarks.npz")
    parser.add_argument("--aflw-check", type=Path, help="AFLW2000-3D .mat folder: check the depth method")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = BFM68.load(args.bfm)
    cache, labels = make_cache(args.images, model)
    cache.save(args.out, bfm=str(args.bfm), folders=[str(f) for f in args.images])
    logger.info(
        "%d faces -> %s; 2D fit residual / sqrt(w*h): all 68 mean %.4f (median %.4f), inner 51 mean %.4f",
        len(cache),
        args.out,
        labels["residual"].mean(),
        np.median(labels["residual"]),
        labels["residual_inner"].mean(),
    )
    if args.aflw_check:
        for name, iterations in (("BFM fit", None), ("mean face only", 0)):
            logger.info(
                "AFLW depth check, %s: %s", name, aflw_depth_check(model, args.aflw_check, iterations)
            )


if __name__ == "__main__":
    main()
