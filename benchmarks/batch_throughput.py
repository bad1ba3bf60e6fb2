"""`parface batch` (Ray Data, N actors) against a plain loop over the same images.

Aligns the first ``--limit`` images of a folder (shared 300-W *train* images by default) twice:
once with one ``Aligner`` in a plain loop in this process, once with ``run_batch`` (what
``parface batch`` runs) on a local Ray bound to 127.0.0.1 (or ``--address``). Reports images/s of
both, their ratio (with and without Ray's start-up), and whether the landmarks are the same: the
same faces per image and the largest absolute landmark difference in pixels.

    python benchmarks/batch_throughput.py --limit 2000 --actors 2 \
        --json benchmarks/reports/batch_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("PARFACE_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def plain_loop(paths: list[Path], threads: int | None) -> tuple[dict[str, list[np.ndarray]], float]:
    from parface_sdk import Aligner, AlignerOptions

    landmarks: dict[str, list[np.ndarray]] = {}
    with Aligner(None, AlignerOptions(threads=threads)) as aligner:
        aligner.detector  # noqa: B018  loaded before the clock starts, as in the actors
        started = time.perf_counter()
        for path in paths:
            try:
                result = aligner.align(str(path))
            except Exception:  # noqa: BLE001  a failed image has no faces in either run
                landmarks[str(path)] = []
                continue
            landmarks[str(path)] = [np.asarray(face.landmarks) for face in result.faces]
        seconds = time.perf_counter() - started
    return landmarks, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=SHARED / "data" / "300w-subset" / "train")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--cpus-per-actor", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--shard-size", type=int, default=64)
    parser.add_argument("--loop-threads", type=int, default=None, help="plain loop's threads (default: all)")
    parser.add_argument("--address", default=None, help="an existing Ray cluster (default: a local one)")
    parser.add_argument(
        "--out", type=Path, default=None, help="batch output folder (default: a temporary one)"
    )
    parser.add_argument("--note", default="", help="free text stored in the report (machine load, ...)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from parface_sdk.geometry import IMAGE_SUFFIXES
    from parface_sdk.scale.batch import read_results, run_batch

    paths = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[: args.limit]
    if not paths:
        print(f"no images in {args.folder}", file=sys.stderr)
        return 2
    loop_landmarks, loop_seconds = plain_loop(paths, args.loop_threads)
    print(f"plain loop: {len(paths)} images in {loop_seconds:.1f} s", file=sys.stderr)

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "in"
        folder.mkdir()
        for path in paths:  # the same files, listed by the batch job in the same order
            (folder / path.name).symlink_to(path.resolve())
        out = args.out or Path(scratch) / "out"
        started = time.perf_counter()
        report = run_batch(
            [folder],
            out,
            actors=args.actors,
            batch_size=args.batch_size,
            shard_size=args.shard_size,
            cpus_per_actor=args.cpus_per_actor,
            address=args.address,
            progress=False,
        )
        batch_seconds = time.perf_counter() - started
        table = read_results(out, columns=["image_id", "status", "face_index", "landmarks"]).to_pylist()
    print(f"parface batch: {report.line()}", file=sys.stderr)

    batch_landmarks: dict[str, list[np.ndarray]] = {str(p): [] for p in paths}
    by_name = {p.name: str(p) for p in paths}
    for row in table:
        if row["status"] == "ok":
            batch_landmarks[by_name[row["image_id"]]].append(np.asarray(row["landmarks"], np.float32))
    face_count_mismatches = [
        p for p in batch_landmarks if len(batch_landmarks[p]) != len(loop_landmarks.get(p, []))
    ]
    max_diff = 0.0
    for path, faces in batch_landmarks.items():
        if path in face_count_mismatches:
            continue
        for got, want in zip(faces, loop_landmarks[path]):
            max_diff = max(max_diff, float(np.abs(got - want).max()))
    # Ray's start-up (cluster, actors, model loading) is a fixed cost; the shards' own work is not.
    work_seconds = sum(report.shard_seconds) / max(1, min(args.actors, report.shards))
    result = {
        "benchmark": "batch_throughput",
        "folder": str(args.folder),
        "images": len(paths),
        "faces_loop": sum(len(v) for v in loop_landmarks.values()),
        "faces_batch": report.faces,
        "no_face_rows": report.no_face,
        "error_rows": report.errors,
        "actors": args.actors,
        "cpus_per_actor": args.cpus_per_actor,
        "batch_size": args.batch_size,
        "shard_size": args.shard_size,
        "loop_threads": args.loop_threads,
        "loop_seconds": round(loop_seconds, 2),
        "batch_seconds_with_ray_start": round(batch_seconds, 2),
        "batch_shard_work_seconds_per_actor": round(work_seconds, 2),
        "loop_images_per_s": round(len(paths) / loop_seconds, 2),
        "batch_images_per_s": round(len(paths) / batch_seconds, 2),
        "throughput_ratio_batch_over_loop": round(loop_seconds / batch_seconds, 3),
        "throughput_ratio_without_ray_start": round(loop_seconds / work_seconds, 3) if work_seconds else None,
        "face_count_mismatches": len(face_count_mismatches),
        "max_abs_landmark_diff_px": max_diff,
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "note": args.note,
    }
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0 if not face_count_mismatches and max_diff < 1e-2 else 1


if __name__ == "__main__":
    sys.exit(main())
