"""Which detector (and post-filter) should be the default? Close-ups, recall and multi-face images.

    OMP_NUM_THREADS=1 python benchmarks/detector_closeups.py [--utk 200] [--aflw 200] [--tiles 60]

Per detector of ``parface_sdk/detect`` that can run here (BlazeFace back and short-range ship in
the package; YuNet and SCRFD need their model files, taken from the shared models folder for this
study only; the OpenCV cascade needs OpenCV 4), each with and without the covered-box post-filter
(:func:`parface_sdk.detect.nms.suppress_covered`: drop a box more than a fraction of which lies in
a higher-scoring box), at the default score threshold 0.5:

- ``utk``: faces found on UTKFace face chips (one face each, no labels): the fraction with
  exactly one, none, two or more;
- recall on ``300w_test`` (300w-subset/test, all faces) and ``aflw2000_test`` (an evenly spaced
  sample of aflw2000-3d-test): a labelled face is found when a detection's landmark box (the
  detector box through its calibration, the ``face.box`` the SDK reports) has IoU >= 0.5 with
  the 68-point landmark box; extra detections per image;
- ``tiles``: 2-4 of the 300w test faces composed side by side on one image (recall of every
  face, and images where every face was found and nothing else).

Detector recall only: no model is trained or tuned. Writes benchmarks/reports/detector_closeups.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from parface_sdk.detect import create_detector  # noqa: E402
from parface_sdk.detect.base import Detections  # noqa: E402
from parface_sdk.detect.nms import box_iou, suppress_covered  # noqa: E402
from parface_sdk.geometry import detector_to_landmark_box, read_pts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PARFACE_SHARED", REPO.parent / "shared"))
SCORE = 0.5
FILTERS = (None, 0.3, 0.4, 0.5)  # max_covered of the post-filter; None: no filter


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _evenly(items: list, count: int) -> list:
    if count >= len(items):
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def labelled(folder: Path, count: int | None) -> list[tuple[str, np.ndarray, list[np.ndarray]]]:
    images = sorted(p for p in folder.glob("*.jpg") if p.with_suffix(".pts").is_file())
    images = _evenly(images, count) if count else images
    out = []
    for path in images:
        points = read_pts(path.with_suffix(".pts")).astype(np.float64)[:, :2]
        out.append((path.name, _rgb(path), [np.array([*points.min(0), *points.max(0)])]))
    return out


def tiles(faces: list, count: int, seed: int = 0) -> list[tuple[str, np.ndarray, list[np.ndarray]]]:
    """2-4 faces (a square crop of 1.8x the landmark box around each) resized to 160-260 px and
    placed in a row (2, 3) or a 2x2 grid (4) on a grey canvas, 20 px apart."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        k = int(rng.integers(2, 5))
        chosen = rng.choice(len(faces), size=k, replace=False)
        side = int(rng.integers(160, 261))
        columns = 2 if k == 4 else k
        rows = 2 if k == 4 else 1
        canvas = np.full((rows * (side + 20) + 20, columns * (side + 20) + 20, 3), 114, np.uint8)
        boxes = []
        for slot, face_index in enumerate(chosen):
            _, image, (box,) = faces[face_index]
            centre = (box[:2] + box[2:]) / 2
            half = 0.9 * max(box[2:] - box[:2])
            # the square crop as an affine onto the tile (borders replicated where it leaves the photo)
            scale = side / (2 * half)
            left = 20 + (slot % columns) * (side + 20)
            top = 20 + (slot // columns) * (side + 20)
            affine = np.array(
                [[scale, 0, left - (centre[0] - half) * scale], [0, scale, top - (centre[1] - half) * scale]]
            )
            warped = cv2.warpAffine(
                image, affine, (canvas.shape[1], canvas.shape[0]), borderMode=cv2.BORDER_REPLICATE
            )
            canvas[top : top + side, left : left + side] = warped[top : top + side, left : left + side]
            boxes.append(
                np.array(
                    [*(affine[:, :2] @ box[:2] + affine[:, 2]), *(affine[:, :2] @ box[2:] + affine[:, 2])]
                )
            )
        out.append((f"tile{index:03d}_{k}", canvas, boxes))
    return out


def small_faces(faces: list, seed: int = 0) -> list[tuple[str, np.ndarray, list[np.ndarray]]]:
    """The faces shrunk to a 40-90 px landmark box at a random place on a grey 640x480 frame (the
    far-away faces of a webcam or group photo), as in benchmarks/detectors/data.py."""
    rng = np.random.default_rng(seed)
    out = []
    for name, image, (box,) in faces:
        scale = rng.uniform(40, 90) / max(box[2:] - box[:2])
        height, width = image.shape[:2]
        new_w, new_h = max(round(width * scale), 1), max(round(height * scale), 1)
        if new_w > 640 or new_h > 480:
            continue
        frame = np.full((480, 640, 3), 114, np.uint8)
        top, left = rng.integers(0, 480 - new_h + 1), rng.integers(0, 640 - new_w + 1)
        frame[top : top + new_h, left : left + new_w] = cv2.resize(
            image, (new_w, new_h), interpolation=cv2.INTER_AREA
        )
        factor = np.array([new_w / width, new_h / height] * 2)
        out.append((name + "@small", frame, [(box + 0.5) * factor - 0.5 + np.array([left, top, left, top])]))
    return out


def make_detectors(only: list[str] | None = None) -> dict[str, object]:
    models = SHARED / "models"
    wanted = {
        "blazeface_dual": ("blazeface_dual", None),
        "blazeface_back": ("blazeface_back", None),
        "blazeface_short_range": ("blazeface_short_range", None),
        "yunet": ("yunet", models / "face_detection_yunet_2026may.onnx"),
        "scrfd_500m": ("scrfd", models / "scrfd_500m_bnkps.onnx"),
        "cascade": ("cascade", None),
    }
    detectors: dict[str, object] = {}
    for label, (name, path) in wanted.items():
        if only and label not in only:
            continue
        if path is not None and not path.is_file():
            print(f"skip {label}: no model file at {path}", file=sys.stderr)
            continue
        try:
            detectors[label] = create_detector(name, model_path=path, score_threshold=SCORE, threads=1)
        except Exception as exc:  # noqa: BLE001  a detector that cannot run here is reported, not fatal
            print(f"skip {label}: {exc}", file=sys.stderr)
    return detectors


def filtered(found: Detections, max_covered: float | None) -> np.ndarray:
    keep = found.scores >= SCORE
    boxes, scores = found.boxes[keep], found.scores[keep]
    if max_covered is not None and len(boxes):
        boxes = boxes[suppress_covered(boxes, scores, max_covered)]
    return boxes


def recall(detections: list[np.ndarray], sets: list, detector) -> dict:
    """Labelled faces found (landmark-box IoU >= 0.5) and detections that found no face."""
    found = total = extra = perfect = 0
    for boxes, (_, _, truths) in zip(detections, sets):
        mapped = np.array(
            [
                detector_to_landmark_box(b, detector.box_to_landmark_scale, detector.center_shift)
                for b in boxes
            ]
        ).reshape(-1, 4)
        used: set[int] = set()
        hits = 0
        for truth in truths:
            total += 1
            if len(mapped) == 0:
                continue
            ious = box_iou(mapped, truth[None])[:, 0]
            ious[list(used)] = 0.0
            best = int(np.argmax(ious))
            if ious[best] >= 0.5:
                used.add(best)
                hits += 1
        found += hits
        extra += len(mapped) - len(used)
        perfect += hits == len(truths) and len(mapped) == len(truths)
    return {
        "faces": total,
        "recall": round(found / max(total, 1), 4),
        "missed": total - found,
        "extra_per_image": round(extra / max(len(sets), 1), 4),
        "images_exact": round(perfect / max(len(sets), 1), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--utk", type=int, default=200, help="UTKFace chips (evenly spaced)")
    parser.add_argument("--aflw", type=int, default=200, help="aflw2000-3d-test images (evenly spaced)")
    parser.add_argument("--tiles", type=int, default=60, help="composed multi-face images")
    parser.add_argument("--detectors", nargs="*", help="only these (labels as in the report)")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "reports" / "detector_closeups.json"
    )
    args = parser.parse_args(argv)
    data = SHARED / "data"
    utk = [
        (p.name, _rgb(p), [])
        for p in _evenly(sorted((data / "unlabeled-utkface" / "images").glob("*.jpg")), args.utk)
    ]
    w300 = labelled(data / "300w-subset" / "test", None)
    aflw = labelled(data / "aflw2000-3d-test" / "test", args.aflw)
    sets = {
        "300w_test": w300,
        "aflw2000_test": aflw,
        "tiles": tiles(w300, args.tiles),
        "small_faces": small_faces(w300),
    }
    results: dict[str, dict] = {}
    previous = json.loads(args.out.read_text())["results"] if args.detectors and args.out.is_file() else {}
    results.update({k: v for k, v in previous.items() if v["detector"] not in (args.detectors or [])})
    for label, detector in make_detectors(args.detectors).items():
        raw: dict[str, list[Detections]] = {}
        started = time.perf_counter()
        for set_name, items in {"utk": utk, **sets}.items():
            raw[set_name] = [detector.detect(image) for _, image, _ in items]
        seconds = time.perf_counter() - started
        images = sum(len(v) for v in raw.values())
        for max_covered in FILTERS:
            name = label if max_covered is None else f"{label}+covered{max_covered:g}"
            counts = np.array([len(filtered(found, max_covered)) for found in raw["utk"]])
            entry = {
                "detector": label,
                "post_filter_max_covered": max_covered,
                "ms_per_image": round(1000 * seconds / images, 2),
                "utk_chips": {
                    "images": len(counts),
                    "exactly_one": round(float(np.mean(counts == 1)), 4),
                    "none": int(np.sum(counts == 0)),
                    "two_or_more": int(np.sum(counts >= 2)),
                    "max_faces": int(counts.max(initial=0)),
                },
            }
            for set_name, items in sets.items():
                boxes = [filtered(found, max_covered) for found in raw[set_name]]
                entry[set_name] = recall(boxes, items, detector)
            results[name] = entry
            chips, tiled = entry["utk_chips"], entry["tiles"]
            print(
                f"{name:36s} utk one {chips['exactly_one']:.3f} none {chips['none']:3d} "
                f"2+ {chips['two_or_more']:3d} | 300w {entry['300w_test']['recall']:.3f} "
                f"aflw {entry['aflw2000_test']['recall']:.3f} tiles {tiled['recall']:.3f} "
                f"exact {tiled['images_exact']:.3f} small {entry['small_faces']['recall']:.3f} "
                f"| {entry['ms_per_image']} ms",
                flush=True,
            )
        detector.close()
    report = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "OMP_NUM_THREADS=1 python benchmarks/detector_closeups.py "
        f"--utk {args.utk} --aflw {args.aflw} --tiles {args.tiles}",
        "score_threshold": SCORE,
        "match": "detector box through its calibration (face.box) vs the 68-point landmark box, IoU >= 0.5",
        "sets": {
            "utk": f"{len(utk)} evenly spaced chips of unlabeled-utkface/images (one face each)",
            "300w_test": f"{len(w300)} images of 300w-subset/test",
            "aflw2000_test": f"{len(aflw)} evenly spaced images of aflw2000-3d-test/test",
            "tiles": f"{args.tiles} images of 2-4 300w test faces side by side (seed 0)",
            "small_faces": "the 300w test faces shrunk to a 40-90 px landmark box on a 640x480 frame",
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs shared with a training job, 1 thread",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
