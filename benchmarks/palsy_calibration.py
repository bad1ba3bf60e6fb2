"""Calibrate and validate the palsy asymmetry decision for a landmark model; re-run on every new model.

One command makes the clips (TRAIN photos only: 300-W HELEN/AFW train and LFPW train), tracks them
with the same pipeline as `parface analyze`, and writes:

- ``OUT/report.json``: the null distribution, the derived threshold, jitter, the validation table;
- ``OUT/table.md``: the same as the docs section;
- unless ``--no-install``: ``parface_sdk/analysis/calibration.json`` (the thresholds, keyed by the
  model's SHA-256) and the section between the ``palsy-calibration`` markers of ``docs/analysis.md``.

People are split in two: half calibrates (null clips only), the other half validates (null clips
for false alarms, droop clips for the detection rates), so no figure is in-sample. The validators
are first the near-frontal faces of the landmark model's own validation split (a hash of the file
name, ``parface_training.data.largepose.is_validation``, 5 %: faces the joint stage never trained
on), then other train faces; the calibrators are train faces outside that split.

Null clips: the photo held still, mirrored, and turning (a head turn of 2-10 degrees, drawn per clip,
so the spread can be fitted against the measured head motion). Droop clips (validators only): a
thin-plate droop of 1-8 % IOD of one mouth corner or brow during the task (the main table); the
same at 4 and 8 % with a narrow Gaussian warp ("local"); and at 4 and 8 % during a head turn.

    python benchmarks/palsy_calibration.py --out runs/palsy_calibration [--model M.onnx] [--people 40]
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from palsy_report import conclusions, render  # benchmarks/, beside this script

from parface_sdk import Aligner
from parface_sdk.analysis.calibrate import derive_calibration, validation_table
from parface_sdk.analysis.clip import VIDEO_SMOOTHING, model_sha256, track_landmarks
from parface_sdk.analysis.decision import CALIBRATION_PATHS, change_statistics, decide_asymmetry
from parface_sdk.analysis.flow import LANDMARK_SOURCES, flow_landmarks
from parface_sdk.analysis.probability import fit_logistic, logistic, plot_reliability, reliability
from parface_sdk.analysis.simulate import EXPRESSIONS, load_subjects, make_clip, natural_asymmetry
from parface_sdk.analysis.timeseries import Task, measure_sequence
from parface_sdk.options import AlignerOptions
from parface_sdk.video.smoothing import jitter_percent, smooth_landmark_sequence

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "analysis.md"
MARKERS = {
    "model": ("<!-- palsy-calibration:begin -->", "<!-- palsy-calibration:end -->"),
    "flow": ("<!-- palsy-calibration-flow:begin -->", "<!-- palsy-calibration-flow:end -->"),
}
REPORT_NAMES = {"model": "report.json", "flow": "report_flow.json"}
TASKS = [Task("rest", 0.0, 1.0), Task("task", 1.0, 2.0)]
# faces without palsy: still, mirrored, turning, and healthy symmetric expressions (both sides
# warped alike, plus a natural side-to-side difference drawn from published normal ranges)
NULL_KINDS = ("still", "mirrored", "turn", "smile", "brows", "lids")
VALIDATION_FRACTION = 0.05  # the joint stage's validation split (parface_training/recipes/*.json)
EXTRA_SIZES = (4.0, 8.0)  # droop sizes of the "local" and "turn" conditions


def turn_degrees(seed: int) -> float:
    """The head-turn amplitude of a null or droop clip: 2-10 degrees, drawn from the clip's seed."""
    return float(np.random.default_rng(seed + 7919).uniform(2.0, 10.0))


def held_out(name: str) -> bool:
    """Whether the landmark model's validation split holds this face (never trained on by stage 6);
    ``load_subjects`` reads the .jpg beside each .pts."""
    from parface_training.data.largepose import is_validation

    return is_validation(f"{name}.jpg", VALIDATION_FRACTION)


def choose_people(folders: list[Path], people: int, seed: int) -> tuple[list, list]:
    """(calibrators, validators), half each: validators first from the model's validation split."""
    half = people // 2
    validators = load_subjects(folders, None, seed, select=held_out)[:half]
    others = load_subjects(folders, people - len(validators), seed, select=lambda name: not held_out(name))
    return others[: people - half], validators + others[people - half :]


def run_clip(aligner, frames, fps) -> dict[str, object]:
    """The clip's measured series for each landmark source, from one tracking pass."""
    landmarks, times = track_landmarks(
        aligner, [(i / fps, f) for i, f in enumerate(frames)], fps=fps, color="BGR"
    )
    followed, _ = flow_landmarks(frames, landmarks, color="BGR")
    return {
        "model": measure_sequence(landmarks, times, None, VIDEO_SMOOTHING, landmark_source="model"),
        "flow": measure_sequence(followed, times, None, VIDEO_SMOOTHING, landmark_source="flow"),
    }


def jitter(series, fps) -> dict:
    raw = series.image_landmarks
    times = np.arange(len(raw)) / fps
    values = {"none": jitter_percent(raw[3:])}
    for method in ("one_euro", "savgol"):
        values[method] = jitter_percent(smooth_landmark_sequence(raw, times, method)[3:])
    return values


def null_clips(aligner, subject, args, seed) -> list[dict]:
    """One record per null kind: the series of each mode."""
    records = []
    for kind in NULL_KINDS:
        face = subject.mirrored() if kind == "mirrored" else subject
        clip_kind = "turn" if kind == "turn" else "still"
        expression = {}
        if kind in EXPRESSIONS:
            rng = np.random.default_rng([seed, NULL_KINDS.index(kind)])
            expression = {
                "expression": (kind, EXPRESSIONS[kind][2]),
                "expression_asymmetry": natural_asymmetry(kind, rng),
            }
        frames = make_clip(
            face, clip_kind, args.frames, args.fps, seed, turn_deg=turn_degrees(seed), **expression
        )
        records.append({"person": subject.name, "kind": kind, "series": run_clip(aligner, frames, args.fps)})
    return records


def droop_clips(aligner, subject, args, seed, conditions) -> list[dict]:
    records = []
    for warp, kind, percent in conditions:
        for region in ("mouth", "brow"):
            for side in ("right", "left"):
                frames = make_clip(
                    subject, kind, args.frames, args.fps, seed, droop=(region, side, percent),
                    warp=warp, turn_deg=turn_degrees(seed),
                )  # fmt: skip
                records.append(
                    {
                        "person": subject.name,
                        "condition": "local" if warp == "local" else ("turn" if kind == "turn" else "still"),
                        "percent": percent,
                        "region": region,
                        "side": side,
                        "series": run_clip(aligner, frames, args.fps),
                    }
                )
    return records


def evaluate(mode: str, null: list[dict], droops: list[dict], calibrators: set, sha: str, args) -> tuple:
    """(calibration, report) of one landmark source from the tracked clips."""
    for record in null:
        series = record["series"][mode]
        record["stats"] = {"tasks": change_statistics(series, TASKS), "auto": change_statistics(series, [])}
    calibration, figures = derive_calibration(
        [r["stats"] for r in null if r["person"] in calibrators],
        sha,
        provenance={
            "landmarks": mode,
            "people": len(calibrators),
            "clips": len(NULL_KINDS) * len(calibrators),
            "frames": args.frames,
            "fps": args.fps,
            "date": datetime.date.today().isoformat(),
            "command": "python benchmarks/palsy_calibration.py",
        },
    )
    null_validation = {}
    scored: list[dict] = []  # held-out clips for the probability map: margin above threshold, label
    for kind in NULL_KINDS:
        held = [r for r in null if r["person"] not in calibrators and r["kind"] == kind]
        null_validation[kind] = {"clips": len(held)}
        for mode_name, tasks in (("tasks", TASKS), ("auto", [])):
            decisions = [decide_asymmetry(r["series"][mode], tasks, calibration, sha) for r in held]
            null_validation[kind][mode_name] = sum(d.decision in ("right", "left") for d in decisions)
            if mode_name == "tasks":
                scored += [
                    {
                        "person": r["person"],
                        "kind": kind,
                        "margin": d.strength - d.strength_threshold,
                        "label": 0,
                    }
                    for r, d in zip(held, decisions)
                ]
    rows: dict[str, list] = {"tasks": [], "auto": [], "local": [], "turn": []}
    for record in droops:
        condition = record["condition"]
        modes = [("tasks", TASKS), ("auto", [])] if condition == "still" else [(condition, TASKS)]
        for name, tasks in modes:
            decision = decide_asymmetry(record["series"][mode], tasks, calibration, sha)
            test = next(t for t in decision.tests if t["region"] == record["region"])
            if name == "tasks":
                scored.append(
                    {
                        "person": record["person"],
                        "kind": f"droop {record['percent']:g}",
                        "margin": decision.strength - decision.strength_threshold,
                        "label": 1,
                    }
                )
            rows[name].append(
                {
                    "person": record["person"],
                    "held_out": held_out(record["person"]),
                    "percent": record["percent"],
                    "region": record["region"],
                    "side": record["side"],
                    "decision": decision.decision,
                    "confidence": decision.confidence,
                    "measured": test["change_pct_iod"],
                    "head_motion_deg": test["head_motion_deg"],
                    "applied": -record["percent"] if record["side"] == "right" else record["percent"],
                }
            )
    calibration, probability = fit_probability(calibration, scored)
    report = {
        "probability": probability,
        "date": datetime.date.today().isoformat(),
        "command": f"python benchmarks/palsy_calibration.py --out {args.out}",
        "landmarks": mode,
        "people": 2 * len(calibrators),
        "frames": args.frames,
        "fps": args.fps,
        "calibration": calibration.to_dict(),
        "derivation": figures,
        "null_validation": null_validation,
        "null": [
            {"person": r["person"], "kind": r["kind"], **r["stats"], "jitter": r.get("jitter", {}).get(mode)}
            for r in null
        ],
        "jitter": {
            m: [r["jitter"][mode][m] for r in null if r.get("jitter")] for m in ("none", "one_euro", "savgol")
        },
        "validation": {name: validation_table(mode_rows) for name, mode_rows in rows.items() if mode_rows},
        "validation_by_region": {
            region: validation_table([r for r in rows["tasks"] if r["region"] == region])
            for region in ("mouth", "brow")
        },
        "droops": rows,
    }
    return calibration, report


def fit_probability(calibration, scored: list[dict], folds: int = 2) -> tuple:
    """The logistic map of the strength margin to a probability of a one-sided change, fitted on
    the held-out null (label 0) and droop (label 1) clips, and its reliability: each person's clips
    are scored by a map fitted without them (``folds``-fold by person), the reliability diagram and
    ECE are computed on those out-of-fold probabilities, and the map installed is fitted on all.
    The probability depends on the mix of droop sizes simulated (the prior)."""
    margins = np.array([r["margin"] for r in scored], dtype=np.float64)
    labels = np.array([r["label"] for r in scored], dtype=np.float64)
    people = sorted({r["person"] for r in scored})
    fold_of = {person: index % folds for index, person in enumerate(people)}
    fold = np.array([fold_of[r["person"]] for r in scored])
    out_of_fold = np.full(len(scored), np.nan)
    for k in range(folds):
        train = fold != k
        slope, intercept = fit_logistic(margins[train], labels[train])
        out_of_fold[~train] = logistic(margins[~train], slope, intercept)
    diagram = reliability(out_of_fold, labels)
    slope, intercept = fit_logistic(margins, labels)
    fitted = {
        "slope": slope,
        "intercept": intercept,
        "fitted": True,
        "statistic": "strength - strength_threshold (landmarks' decision, task spans)",
        "clips": int(len(scored)),
        "positives": int(labels.sum()),
        "ece_out_of_fold": round(diagram["ece"], 4),
        "fit": "logistic regression on held-out simulated null and droop clips; "
        "ECE by 2-fold cross-fit by person",
    }
    report = {"map": fitted, "reliability": diagram, "clips": scored}
    return replace(calibration, probability=fitted), report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for report*.json and table*.md")
    parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--people", type=int, default=40, help="different people (half calibrate)")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4, 6, 8], help="droops, % IOD")
    parser.add_argument("--no-install", action="store_true", help="do not update the package and docs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--render-only", action="store_true", help="re-render OUT/report*.json; measure nothing"
    )
    args = parser.parse_args()
    if args.render_only:
        for mode in LANDMARK_SOURCES:
            install_table(render(json.loads((args.out / REPORT_NAMES[mode]).read_text())), mode, args)
        return
    logging.basicConfig(level=logging.WARNING)
    started = time.time()
    data = args.shared / "data"
    calibrators, validators = choose_people(
        [data / "300w-subset" / "train", data / "300w-lfpw" / "train"], args.people, args.seed
    )
    subjects = calibrators + validators
    conditions = [("tps", "still", size) for size in args.sizes]
    conditions += [(w, k, size) for w, k in (("local", "still"), ("tps", "turn")) for size in EXTRA_SIZES]
    with Aligner(args.model, AlignerOptions(threads=1)) as aligner:
        sha = model_sha256(aligner)
        model_path = str(aligner.model_path)
        null = [r for i, s in enumerate(subjects) for r in null_clips(aligner, s, args, args.seed + i)]
        for record in null:
            if record["kind"] in ("still", "mirrored"):
                record["jitter"] = {
                    mode: jitter(record["series"][mode], args.fps) for mode in LANDMARK_SOURCES
                }
        print(f"null clips: {len(null)} ({time.time() - started:.0f} s)", flush=True)
        droops = []
        for index, subject in enumerate(validators):
            droops += droop_clips(aligner, subject, args, args.seed + 1000 + index, conditions)
            print(
                f"validated {index + 1}/{len(validators)} people ({time.time() - started:.0f} s)", flush=True
            )
    names = {s.name for s in calibrators}
    args.out.mkdir(parents=True, exist_ok=True)
    for mode in LANDMARK_SOURCES:
        calibration, report = evaluate(mode, null, droops, names, sha, args)
        report.update(
            model=model_path,
            seconds=time.time() - started,
            validators_held_out=sum(held_out(s.name) for s in validators),
        )
        calibration = replace(
            calibration, provenance={**calibration.provenance, "validation": validation_summary(report)}
        )
        report["calibration"] = calibration.to_dict()
        (args.out / REPORT_NAMES[mode]).write_text(json.dumps(report, indent=1, default=float) + "\n")
        diagram = args.out / REPORT_NAMES[mode].replace("report", "reliability").replace(".json", ".png")
        plot_reliability(report["probability"]["reliability"], diagram, f"probability, landmarks={mode}")
        print(f"reliability diagram: {diagram}")
        if not args.no_install:
            CALIBRATION_PATHS[mode].write_text(json.dumps(calibration.to_dict(), indent=1) + "\n")
            print(f"installed {CALIBRATION_PATHS[mode]}")
        install_table(render(report), mode, args)


def validation_summary(report: dict) -> dict:
    """The figures a user of the decision should see beside it (they travel in calibration.json
    into every summary.json): false alarms, droop detection per size, Pearson r, jitter."""
    null = report["null_validation"]
    return {
        "people": report["people"] // 2,
        "false_affected_side": {
            "clips": sum(c["clips"] for c in null.values()),
            "with_tasks": sum(c["tasks"] for c in null.values()),
            "without_tasks": sum(c["auto"] for c in null.values()),
        },
        "droop_found_on_the_right_side": {
            str(row["percent"]): {
                k: round(row[k], 3) for k in ("right_side", "wrong_side", "none", "undetermined")
            }
            for row in report["validation"]["tasks"]
        },
        "pearson_r_measured_vs_applied": round(report["validation"]["tasks"][-1]["pearson_r"], 3),
        "jitter_pct_iod": {m: round(float(np.mean(v)), 3) for m, v in report["jitter"].items()},
        "probability_ece": report.get("probability", {}).get("reliability", {}).get("ece"),
        "in_plain_words": [line.removeprefix("- ") for line in conclusions(report)],
        "simulation": "thin-plate droops of still photos of 300-W/LFPW train faces; not patient recordings",
    }


def install_table(table: str, mode: str, args: argparse.Namespace) -> None:
    """OUT/table[_flow].md, and the docs section between the mode's markers."""
    (args.out / REPORT_NAMES[mode].replace("report", "table").replace(".json", ".md")).write_text(table)
    print(table)
    begin, end = MARKERS[mode]
    text = DOCS.read_text()
    if not args.no_install and begin in text and end in text:
        head, rest = text.split(begin, 1)
        DOCS.write_text(head + begin + "\n" + table + end + rest.split(end, 1)[1])
        print(f"updated the {mode} calibration section of {DOCS}")


if __name__ == "__main__":
    main()
