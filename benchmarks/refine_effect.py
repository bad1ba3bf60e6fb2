"""Does the refinement pass (a second network pass cropped from the first pass's landmarks) help?

Runs the shipped default model with its default detector on shared 300-W *train* faces (never a
test set), once with ``recrop=False`` and once with ``recrop=True``, and prints the NME
(mean point error / outer-eye-corner distance, in %) of both and the per-face difference.

    python benchmarks/refine_effect.py --faces 150
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from parface_sdk import Aligner, AlignerOptions
from parface_sdk.geometry import read_pts
from parface_sdk.image import load_image

SHARED = Path(os.environ.get("PARFACE_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def nme(points: np.ndarray, truth: np.ndarray) -> float:
    return float(np.linalg.norm(points[:, :2] - truth, axis=1).mean() / np.linalg.norm(truth[36] - truth[45]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=150)
    parser.add_argument("--folder", type=Path, default=SHARED / "data" / "300w-subset" / "train")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pts_files = sorted(args.folder.glob("*.pts"))
    step = max(1, len(pts_files) // args.faces)
    pts_files = pts_files[::step][: args.faces]
    errors: dict[bool, list[float]] = {False: [], True: []}
    missed = 0
    aligners = {r: Aligner(None, AlignerOptions(recrop=r, threads=1)) for r in (False, True)}
    for pts in pts_files:
        image_path = next(p for p in pts.parent.glob(pts.stem + ".*") if p.suffix != ".pts")
        truth = read_pts(pts)
        rgb = load_image(image_path)
        for refine, aligner in aligners.items():
            faces = aligner.align(rgb, color="RGB").faces
            centre = truth.mean(0)
            offset = {id(f): np.linalg.norm(f.landmarks[:, :2].mean(0) - centre) for f in faces}
            best = min(faces, key=lambda f: offset[id(f)], default=None)
            if best is None or offset[id(best)] > 0.5 * np.ptp(truth[:, 0]):
                missed += not refine
                errors[refine].append(np.nan)
                continue
            errors[refine].append(nme(best.landmarks, truth))
    one, two = np.array(errors[False]), np.array(errors[True])
    ok = np.isfinite(one) & np.isfinite(two)
    diff = two[ok] - one[ok]
    summary = {
        "faces": int(ok.sum()),
        "missed": missed,
        "folder": str(args.folder),
        "nme_single_pass_pct": 100 * float(one[ok].mean()),
        "nme_refine_pct": 100 * float(two[ok].mean()),
        "median_single_pass_pct": 100 * float(np.median(one[ok])),
        "median_refine_pct": 100 * float(np.median(two[ok])),
        "refine_better_fraction": float((diff < 0).mean()),
        "mean_change_pct": 100 * float(diff.mean()),
        "change_95ci_pct": [
            100 * float(diff.mean() - 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))),
            100 * float(diff.mean() + 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))),
        ],
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    for aligner in aligners.values():
        aligner.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
