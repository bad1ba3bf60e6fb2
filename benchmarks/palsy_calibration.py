"""Calibrate and validate the palsy asymmetry decision for a landmark model; re-run on every new model.

One command makes the clips (TRAIN photos only: 300-W HELEN/AFW train and LFPW train), tracks them
with the same pipeline as `parface analyze`, and writes:

- ``OUT/report.json``: the null distribution, the derived threshold, jitter, the validation table;
- ``OUT/table.md``: the same as the docs section;
- unless ``--no-install``: ``parface_sdk/analysis/calibration.json`` (the thresholds, keyed by the
  model's SHA-256) and the section between the ``palsy-calibration`` markers of ``docs/analysis.md``.

People are split in two: the first half calibrates (null clips only), the other half validates
(null clips for false alarms, droop clips for the detection rates), so no figure is in-sample.

    python benchmarks/palsy_calibration.py --out runs/palsy_calibration [--model M.onnx] [--people 40]
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import time
from pathlib import Path

import numpy as np
from palsy_report import render  # benchmarks/, beside this script

from parface_sdk import Aligner
from parface_sdk.analysis.calibrate import derive_calibration, validation_table
from parface_sdk.analysis.decision import CALIBRATION_PATH, change_statistics, decide_asymmetry
from parface_sdk.analysis.pipeline import measure_clip, model_sha256
from parface_sdk.analysis.simulate import load_subjects, make_clip
from parface_sdk.analysis.timeseries import Task
from parface_sdk.options import AlignerOptions
from parface_sdk.smoothing import jitter_percent, smooth_landmark_sequence

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "analysis.md"
BEGIN, END = "<!-- palsy-calibration:begin -->", "<!-- palsy-calibration:end -->"
TASKS = [Task("rest", 0.0, 1.0), Task("task", 1.0, 2.0)]
NULL_KINDS = ("still", "mirrored", "turn")


def run_clip(aligner, frames, fps) -> tuple[dict, dict, object]:
    series = measure_clip(aligner, [(i / fps, f) for i, f in enumerate(frames)], fps=fps, color="BGR")
    return change_statistics(series, TASKS), change_statistics(series, []), series


def jitter(series, fps) -> dict:
    raw = series.image_landmarks
    times = np.arange(len(raw)) / fps
    values = {"none": jitter_percent(raw[3:])}
    for method in ("one_euro", "savgol"):
        values[method] = jitter_percent(smooth_landmark_sequence(raw, times, method)[3:])
    return values


def null_clips(aligner, subject, args, seed) -> list[dict]:
    records = []
    for kind in NULL_KINDS:
        face = subject.mirrored() if kind == "mirrored" else subject
        frames = make_clip(face, "turn" if kind == "turn" else "still", args.frames, args.fps, seed)
        tasks, auto, series = run_clip(aligner, frames, args.fps)
        records.append(
            {
                "person": subject.name,
                "kind": kind,
                "tasks": tasks,
                "auto": auto,
                "jitter": jitter(series, args.fps) if kind != "turn" else None,
                "series": series,
            }
        )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for report.json and table.md")
    parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--people", type=int, default=40, help="different people (half calibrate)")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4, 6, 8], help="droops, % IOD")
    parser.add_argument("--no-install", action="store_true", help="do not update the package and docs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--render-only", action="store_true", help="re-render OUT/report.json; measure nothing"
    )
    args = parser.parse_args()
    if args.render_only:
        install_table(render(json.loads((args.out / "report.json").read_text())), args)
        return
    logging.basicConfig(level=logging.WARNING)
    started = time.time()
    data = args.shared / "data"
    subjects = load_subjects(
        [data / "300w-subset" / "train", data / "300w-lfpw" / "train"], args.people, args.seed
    )
    calibrators, validators = subjects[::2], subjects[1::2]
    with Aligner(args.model, AlignerOptions(threads=1)) as aligner:
        sha = model_sha256(aligner)
        null = [r for i, s in enumerate(subjects) for r in null_clips(aligner, s, args, args.seed + i)]
        print(f"null clips: {len(null)} ({time.time() - started:.0f} s)", flush=True)
        names = {s.name for s in calibrators}
        calibration, figures = derive_calibration(
            [r for r in null if r["person"] in names],
            sha,
            provenance={
                "people": len(calibrators),
                "clips": 3 * len(calibrators),
                "frames": args.frames,
                "fps": args.fps,
                "date": datetime.date.today().isoformat(),
                "command": "python benchmarks/palsy_calibration.py",
            },
        )
        null_validation = {}
        for kind in NULL_KINDS:
            held = [r for r in null if r["person"] not in names and r["kind"] == kind]
            null_validation[kind] = {
                "clips": len(held),
                **{
                    mode: sum(
                        decide_asymmetry(
                            r["series"], TASKS if mode == "tasks" else [], calibration, sha
                        ).decision
                        in ("right", "left")
                        for r in held
                    )
                    for mode in ("tasks", "auto")
                },
            }
        rows = {"tasks": [], "auto": []}
        for index, subject in enumerate(validators):
            for percent in args.sizes:
                for region in ("mouth", "brow"):
                    for side in ("right", "left"):
                        frames = make_clip(
                            subject,
                            "still",
                            args.frames,
                            args.fps,
                            args.seed + 1000 + index,
                            droop=(region, side, percent),
                        )
                        _, _, series = run_clip(aligner, frames, args.fps)
                        for mode, tasks in (("tasks", TASKS), ("auto", [])):
                            decision = decide_asymmetry(series, tasks, calibration, sha)
                            measured = next(
                                t["change_pct_iod"] for t in decision.tests if t["region"] == region
                            )
                            rows[mode].append(
                                {
                                    "person": subject.name,
                                    "percent": percent,
                                    "region": region,
                                    "side": side,
                                    "decision": decision.decision,
                                    "confidence": decision.confidence,
                                    "measured": measured,
                                    "applied": -percent if side == "right" else percent,
                                }
                            )
            print(
                f"validated {index + 1}/{len(validators)} people ({time.time() - started:.0f} s)", flush=True
            )
    report = {
        "date": datetime.date.today().isoformat(),
        "command": f"python benchmarks/palsy_calibration.py --out {args.out}",
        "model": str(aligner.model_path),
        "people": len(subjects),
        "frames": args.frames,
        "fps": args.fps,
        "seconds": time.time() - started,
        "calibration": calibration.to_dict(),
        "derivation": figures,
        "null_validation": null_validation,
        "null": [{k: r[k] for k in ("person", "kind", "tasks", "auto", "jitter")} for r in null],
        "jitter": {m: [r["jitter"][m] for r in null if r["jitter"]] for m in ("none", "one_euro", "savgol")},
        "validation": {mode: validation_table(mode_rows) for mode, mode_rows in rows.items()},
        "validation_by_region": {
            region: validation_table([r for r in rows["tasks"] if r["region"] == region])
            for region in ("mouth", "brow")
        },
        "droops": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    if not args.no_install:
        CALIBRATION_PATH.write_text(json.dumps(calibration.to_dict(), indent=1) + "\n")
        print(f"installed {CALIBRATION_PATH}")
    install_table(render(report), args)


def install_table(table: str, args: argparse.Namespace) -> None:
    (args.out / "table.md").write_text(table)
    print(table)
    text = DOCS.read_text()
    if not args.no_install and BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        DOCS.write_text(head + BEGIN + "\n" + table + END + rest.split(END, 1)[1])
        print(f"updated the calibration section of {DOCS}")


if __name__ == "__main__":
    main()
