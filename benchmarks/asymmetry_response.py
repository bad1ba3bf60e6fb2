"""Can the model move one side of the face without the other? Measured on held-out validation
faces of the training data (never a test set).

    python benchmarks/asymmetry_response.py --model MODEL --out benchmarks/reports/asymmetry_v2.json

``eyelid`` (both warps): one upper lid (points 37-38 or 43-44) lowered by the size in units of
|36-45| with ``parface_training.data.augment.eyelid_warp``, every other landmark held; faces whose
eye is open less than that are skipped. The response divides by the movement actually applied.

Each frontal validation face (the 300-W train split's held-out 5 %) is warped with the training
augmentation's one-sided warp (``parface_training.data.augment.one_sided_warp``), which lowers one mouth
corner or one brow by a known fraction of the inter-ocular distance (IOD) and moves its labels with
it. The model aligns the original and the warped photo from the same box. Reported per region and
size: the *response* (predicted movement of the moved point along the face's vertical, over the
applied movement; 1 is perfect) and the *leak* (predicted movement of the mirrored point on the
other side, over the applied movement; 0 is perfect).

``--warp tps`` uses the palsy simulation's thin-plate droop instead
(``parface_training.data.augment.expression_warp``, the drooping corner or brow moved by the size
in units of |36-45|, every other landmark held, ``parface_sdk.analysis.simulate.DROOP_POINTS``):
a change of shape rather than of position, the kind ``benchmarks/palsy_calibration.py`` tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

# (region, moved points, mirrored points) for side 0 (image-left); side 1 swaps them.
REGIONS = {
    "mouth": ((48,), (54,)),
    "brow": ((17, 18, 19, 20, 21), (22, 23, 24, 25, 26)),
    "eyelid": ((37, 38), (43, 44)),
}


def _down(points: np.ndarray) -> tuple[np.ndarray, float]:
    eyes = points[36:42, :2].mean(axis=0), points[42:48, :2].mean(axis=0)
    down = points[48:68, :2].mean(axis=0) - (eyes[0] + eyes[1]) / 2
    return down / np.linalg.norm(down), float(np.linalg.norm(eyes[1] - eyes[0]))


def main(argv: list[str] | None = None) -> int:
    from quality_calibration import validation_records

    from parface_sdk import Aligner
    from parface_sdk.geometry import landmark_box
    from parface_sdk.image import load_image
    from parface_training.data.augment import expression_warp, eyelid_warp, one_sided_warp

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.04, 0.08, 0.12])
    parser.add_argument("--warp", choices=["gaussian", "tps"], default="gaussian")
    args = parser.parse_args(argv)
    records = [r for r in validation_records() if r[2] == "300w"]
    rng = np.random.default_rng(0)
    rows = []
    with Aligner(args.model) as aligner:
        for path, truth, _ in records:
            image = load_image(path)
            box = landmark_box(truth)
            before = aligner.align(image, boxes=[box], color="RGB").faces[0].landmarks
            down, iod = _down(truth)
            if args.warp == "tps":
                from parface_sdk.face_regions import down_direction

                down, iod = down_direction(truth[:, :2]), float(np.linalg.norm(truth[45, :2] - truth[36, :2]))
            for region, (moved, mirrored) in REGIONS.items():
                side = int(rng.integers(0, 2))
                if side:
                    moved, mirrored = mirrored, moved
                for size in args.sizes:
                    side_name = ("right", "left")[side]
                    if region == "eyelid":
                        # one upper lid lowered by ``size`` IOD: the closure that moves it that far
                        upper, lower = (37, 38), (41, 40)
                        if side:
                            upper, lower = (43, 44), (47, 46)
                        opening = float(np.mean((truth[list(lower), :2] - truth[list(upper), :2]) @ down))
                        if opening <= size * iod * 1.05:
                            continue  # the lid would close past the lower lid
                        warped, moved_truth = eyelid_warp(
                            image, truth, None, side=side_name, closure=size * iod / opening
                        )
                    elif args.warp == "tps":
                        warped, moved_truth = expression_warp(
                            image, truth, None, region=region, sides=(side_name,), shifts=[size * down]
                        )
                    else:
                        warped, moved_truth = one_sided_warp(
                            image, truth, rng, region=region, side=side, shift_fraction=size
                        )
                    applied = float(
                        ((moved_truth[list(moved), :2] - truth[list(moved), :2]) @ down).mean() / iod
                    )
                    if applied < 0.5 * size:
                        continue  # the warp would have folded the image and was not applied
                    after = aligner.align(warped, boxes=[box], color="RGB").faces[0].landmarks
                    delta = (after[:, :2] - before[:, :2]) @ down / iod
                    rows.append(
                        {"region": region, "size": size, "applied": applied,
                         "response": float(delta[list(moved)].mean() / applied),
                         "leak": float(delta[list(mirrored)].mean() / applied)}
                    )  # fmt: skip
    table = {}
    for region in REGIONS:
        for size in args.sizes:
            sel = [r for r in rows if r["region"] == region and r["size"] == size]
            if not sel:
                continue
            table[f"{region}@{size:.2f}"] = {
                "faces": len(sel),
                "response_mean": float(np.mean([r["response"] for r in sel])),
                "leak_mean": float(np.mean([r["leak"] for r in sel])),
            }
    report = {
        "model": args.model or "shipped default",
        "warp": args.warp,
        "faces": len(records),
        "table": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    for key, value in table.items():
        print(
            f"{key:12s} response {value['response_mean']:.2f}  "
            f"leak {value['leak_mean']:+.2f}  (n={value['faces']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
