"""Study: which face detector should parface-sdk use by default? Recall, speed and box->crop calibration.

    OMP_NUM_THREADS=1 python benchmarks/detectors/compare_detectors.py [--detectors a b ...] [--per-set 150]

For each candidate (see candidates.py) and each image set it measures, single-threaded:
- recall: a ground-truth face counts as found when a detection has IoU >= 0.3 with the 68-point
  landmark box, or contains the landmarks' centre with a longer side 0.5-2.5x the landmark box's;
- IoU of the matched detection with the landmark box; extra (unmatched) detections per image;
- ms per image (detect() only, after one warm-up call);
- on the train images, the box->crop calibration (mean ratio landmark-box longer side / detector
  box longer side, mean centre offset in detector-box fractions) and how well the calibrated square
  overlaps the training crop square (crop IoU), the number that matters to the landmark model.
The choice is made on the TRAIN images (300-W train crops); the AFLW2000-3D subset is reported too.
Results are merged into results.json (per detector), so candidates may be run in separate processes
(e.g. the OpenCV 4 cascades with PYTHONPATH pointing at an opencv-python-headless 4.x).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from candidates import CANDIDATES, Unavailable  # noqa: E402
from data import Sample, aflw_samples, small_face_samples, train_samples  # noqa: E402

from parface_sdk.detect.nms import box_iou  # noqa: E402
from parface_sdk.errors import DetectorUnavailableError  # noqa: E402

logger = logging.getLogger("compare_detectors")
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def square(center: np.ndarray, side: float) -> np.ndarray:
    return np.array([*(center - side / 2), *(center + side / 2)])


def match(boxes: np.ndarray, gt_box: np.ndarray) -> tuple[int | None, float]:
    """Index of the detection that finds the GT face (best IoU among qualifying ones), and its IoU."""
    if len(boxes) == 0:
        return None, 0.0
    ious = box_iou(boxes, gt_box[None])[:, 0]
    centre = (gt_box[:2] + gt_box[2:]) / 2
    gt_long = max(gt_box[2:] - gt_box[:2])
    long = np.max(boxes[:, 2:] - boxes[:, :2], axis=1)
    contains = np.all((boxes[:, :2] <= centre) & (centre <= boxes[:, 2:]), axis=1)
    ok = (ious >= 0.3) | (contains & (long >= 0.5 * gt_long) & (long <= 2.5 * gt_long))
    if not ok.any():
        return None, float(ious.max())
    best = int(np.argmax(np.where(ok, ious + 1.0, 0.0)))
    return best, float(ious[best])


def evaluate(detector, samples: list[Sample]) -> tuple[dict, list[tuple[np.ndarray, np.ndarray]]]:
    detector.detect(samples[0].image_rgb)  # warm-up
    times, found, ious, extras, pairs = [], 0, [], [], []
    for sample in samples:
        start = time.perf_counter()
        detections = detector.detect(sample.image_rgb)
        times.append((time.perf_counter() - start) * 1000)
        index, iou = match(detections.boxes.astype(np.float64), sample.box)
        extras.append(len(detections) - (index is not None))
        if index is not None:
            found += 1
            ious.append(iou)
            pairs.append((detections.boxes[index].astype(np.float64), sample.box))
    times = np.asarray(times)
    summary = {
        "images": len(samples),
        "found": found,
        "recall": found / len(samples),
        "recall_iou50": float(np.mean(np.asarray(ious) >= 0.5) * found / len(samples)) if ious else 0.0,
        "mean_iou_found": float(np.mean(ious)) if ious else None,
        "extra_detections_per_image": float(np.mean(extras)),
        "ms_mean": float(times.mean()),
        "ms_p50": float(np.percentile(times, 50)),
        "ms_p95": float(np.percentile(times, 95)),
    }
    return summary, pairs


def calibrate(pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    det, gt = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    det_size, gt_size = det[:, 2:] - det[:, :2], gt[:, 2:] - gt[:, :2]
    ratio = gt_size.max(axis=1) / det_size.max(axis=1)
    shift = (((gt[:, :2] + gt[:, 2:]) - (det[:, :2] + det[:, 2:])) / 2) / det_size
    return {
        "faces": len(pairs),
        "box_to_landmark_scale": float(ratio.mean()),
        "box_to_landmark_scale_median": float(np.median(ratio)),
        "box_to_landmark_scale_std": float(ratio.std()),
        "center_shift": [float(v) for v in shift.mean(axis=0)],
        "center_shift_std": [float(v) for v in shift.std(axis=0)],
    }


def crop_iou(pairs, scale: float, shift) -> dict:
    """IoU of the calibrated detector square with the training-crop square (both at crop_scale 1)."""
    values, raw = [], []
    for det, gt in pairs:
        size = det[2:] - det[:2]
        target = square((gt[:2] + gt[2:]) / 2, max(gt[2:] - gt[:2]))
        calibrated = square((det[:2] + det[2:]) / 2 + np.asarray(shift) * size, scale * max(size))
        values.append(box_iou(calibrated[None], target[None])[0, 0])
        raw.append(box_iou(square((det[:2] + det[2:]) / 2, max(size))[None], target[None])[0, 0])
    return {
        "calibrated_mean": float(np.mean(values)),
        "calibrated_p10": float(np.percentile(values, 10)),
        "uncalibrated_mean": float(np.mean(raw)),
    }


def machine_info() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for dist in (
        "numpy",
        "onnxruntime",
        "opencv-python-headless",
        "opencv-python",
        "ai-edge-litert",
        "dlib-bin",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    import cv2

    versions["cv2 (imported)"] = cv2.__version__
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads_used": 1,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", nargs="*", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--per-set", type=int, default=150, help="faces from each 300-W train folder")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)
    train = train_samples(args.shared, args.per_set)
    sets = {
        "train_300w": train,
        "train_300w_small_faces": small_face_samples(train),
        "aflw2000_subset": aflw_samples(args.shared),
    }
    results = json.loads(args.out.read_text()) if args.out.is_file() else {"detectors": {}}
    results["protocol"] = {
        "train_images": f"{args.per_set} evenly spaced from each of 300w-subset/train and 300w-lfpw/train",
        "small_faces": "the train faces shrunk to a 40-90 px landmark box on a grey 640x480 frame (seed 0)",
        "test_images": "aflw2000-3d-subset (26)",
        "found": "IoU >= 0.3 with the 68-point box, or box contains its centre with longer side 0.5-2.5x",
        "timing": "detect() wall time per image, 1 thread, after one warm-up call",
        "score_threshold": 0.5,
    }
    results["machine"] = machine_info()
    for name in args.detectors:
        try:
            detector = CANDIDATES[name](args.shared)
        except (Unavailable, DetectorUnavailableError) as exc:
            logger.info("%-30s unavailable: %s", name, exc)
            continue
        measured = datetime.now(timezone.utc).isoformat(timespec="seconds")
        entry = {"measured": measured, "machine": machine_info()}
        for set_name, samples in sets.items():
            entry[set_name], pairs = evaluate(detector, samples)
            if set_name == "train_300w" and pairs:
                entry["calibration"] = calibrate(pairs)
            if pairs and "calibration" in entry:
                cal = entry["calibration"]
                key = "crop_iou_train" if set_name == "train_300w" else "crop_iou_" + set_name
                entry[key] = crop_iou(pairs, cal["box_to_landmark_scale"], cal["center_shift"])
        results["detectors"][name] = entry
        train, small, test = (entry[k] for k in sets)
        logger.info(
            "%-28s train %.3f %.1f ms | small %.3f %.1f ms | aflw %.3f %.1f ms | crop IoU %.3f",
            name,
            train["recall"],
            train["ms_mean"],
            small["recall"],
            small["ms_mean"],
            test["recall"],
            test["ms_mean"],
            entry.get("crop_iou_train", {}).get("calibrated_mean", float("nan")),
        )
        args.out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        logger.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
