"""Does the per-face quality score flag the faces the model gets wrong? Measured on the held-out
validation split of the training data (never a test set).

    python benchmarks/quality_calibration.py --model MODEL --out benchmarks/reports/quality.json

For every validation face (300-W train split with BFM-fitted 3DA-2D labels, AFLW large-pose split
with teacher labels) the model aligns the GT crop and a crop from a jittered box (the detector
path's typical misframing). Candidate scores from the per-point confidences are compared by their
Spearman rank correlation with the NME; the threshold that best separates faces with NME above
``--bad`` (Youden's J on the ROC) is written with the figures. ``Face.quality`` is the candidate
(the mean per-point confidence; the other candidates are reported for comparison), and the
threshold goes into the shipped model manifest (``quality_threshold``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

logger = logging.getLogger("quality")

CANDIDATES = {
    "mean": lambda c: c.mean(axis=1),
    "median": lambda c: np.median(c, axis=1),
    "p10": lambda c: np.percentile(c, 10, axis=1),
    "inner_mean": lambda c: c[:, 17:].mean(axis=1),
}


def validation_records(fraction: float = 0.05) -> list[tuple[str, np.ndarray, str]]:
    from parface_training.data.labels import load_label_cache, train_records
    from parface_training.data.largepose import largepose_records, split_records

    out = []
    cache_path = REPO / "runs" / "labels" / "train_labels.npz"
    folders = [SHARED / "data" / "300w-subset" / "train", SHARED / "data" / "300w-lfpw" / "train"]
    cache = load_label_cache(cache_path) if cache_path.is_file() else None
    bfm = SHARED / "models" / "bfm_68_landmarks.npz"
    records = train_records(folders, label_cache=cache, bfm_path=None if cache else bfm)
    out += [(p, x, "300w") for p, x in split_records(records, fraction)[1]]
    aflw = largepose_records(SHARED / "data" / "aflw-largepose-train")
    out += [(p, x, "aflw_largepose") for p, x in split_records(aflw, fraction)[1]]
    return out


def measure(model: str | None, records, jitter: float, seed: int = 0) -> dict[str, np.ndarray]:
    from parface_sdk import Aligner
    from parface_sdk.evaluation.metrics import nme
    from parface_sdk.geometry import landmark_box

    rng = np.random.default_rng(seed)
    nmes, confidences, sources, modes = [], [], [], []
    with Aligner(model) as aligner:
        for path, truth, source in records:
            box = landmark_box(truth)
            side = box[2:] - box[:2]
            shifted = box + np.concatenate([rng.uniform(-jitter, jitter, 2) * side] * 2)
            shifted[2:] = shifted[:2] + side * rng.uniform(1 - jitter, 1 + jitter)
            for mode, boxes in (("gt", [box]), ("jittered", [shifted])):
                face = aligner.align(path, boxes=boxes).faces[0]
                nmes.append(float(nme(face.landmarks[None], truth[None])[0]))
                confidences.append(face.confidence)
                sources.append(source)
                modes.append(mode)
    return {"nme": np.array(nmes), "confidence": np.stack(confidences), "source": np.array(sources),
            "mode": np.array(modes)}  # fmt: skip


def calibrate(data: dict[str, np.ndarray], bad: float) -> dict:
    from scipy.stats import spearmanr

    nme, conf = data["nme"], data["confidence"]
    report: dict = {"faces": int(len(nme)), "bad_nme": bad, "bad_fraction": float((nme > bad).mean())}
    scores = {}
    for name, fn in CANDIDATES.items():
        q = fn(conf)
        scores[name] = q
        report.setdefault("spearman_with_nme", {})[name] = float(spearmanr(q, nme).statistic)
    chosen = "mean"  # Face.quality's definition; the other candidates are reported for comparison
    q = scores[chosen]
    is_bad = nme > bad
    best = (-1.0, 0.0)
    for t in np.unique(np.round(q, 3)):
        flagged = q < t
        tpr = flagged[is_bad].mean() if is_bad.any() else 0.0
        fpr = flagged[~is_bad].mean() if (~is_bad).any() else 0.0
        if tpr - fpr > best[0]:
            best = (tpr - fpr, float(t))
    threshold = best[1]
    flagged = q < threshold
    report.update({
        "chosen": chosen,
        "threshold": threshold,
        "flagged_fraction": float(flagged.mean()),
        "recall_of_bad_faces": float(flagged[is_bad].mean()) if is_bad.any() else None,
        "false_flag_rate_good_faces": float(flagged[~is_bad].mean()) if (~is_bad).any() else None,
        "mean_nme_kept": float(nme[~flagged].mean() * 100),
        "mean_nme_flagged": float(nme[flagged].mean() * 100) if flagged.any() else None,
        "by_subset": {
            f"{s}/{m}": {"faces": int(mask.sum()), "mean_nme": float(nme[mask].mean() * 100),
                         "spearman": float(spearmanr(q[mask], nme[mask]).statistic)}
            for s in np.unique(data["source"]) for m in np.unique(data["mode"])
            for mask in [(data["source"] == s) & (data["mode"] == m)]
        },
    })  # fmt: skip
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--bad", type=float, default=0.08, help="NME above which a face counts as wrong")
    parser.add_argument("--jitter", type=float, default=0.15, help="box jitter, fraction of its side")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    records = validation_records()
    if args.limit:
        records = records[:: max(1, len(records) // args.limit)]
    data = measure(args.model, records, args.jitter)
    report = {"model": args.model or "shipped default", **calibrate(data, args.bad)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(
        json.dumps(
            {
                k: report[k]
                for k in (
                    "chosen",
                    "threshold",
                    "spearman_with_nme",
                    "recall_of_bad_faces",
                    "false_flag_rate_good_faces",
                )
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
