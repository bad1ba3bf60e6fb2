"""The analysis report: a CSV of every measure per frame, a JSON summary and PNG plots.

matplotlib is imported only when plotting (``pip install 'parface-sdk[analysis]'``); the figures
are drawn without pyplot, so the caller's matplotlib backend is left alone.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parface_sdk.analysis.asymmetry import SCALAR_MEASURES, SIDE_MEASURES, FaceMeasures, measure_face
from parface_sdk.analysis.decision import Calibration, decide_asymmetry
from parface_sdk.analysis.html_report import render_html, write_text_atomically
from parface_sdk.analysis.timeseries import (
    MeasureSeries,
    Task,
    peak_frames,
    range_of_motion,
    task_frames,
    task_movements,
    task_values,
)
from parface_sdk.analysis.timeseries import (
    overlay_frame as main_overlay_frame,
)
from parface_sdk.errors import BackendUnavailableError

RIGHT_COLOUR, LEFT_COLOUR = "#1f77b4", "#ff7f0e"  # subject's right: blue, left: orange


def _unit_label(kind: str, unit: str) -> str:
    length = "mm" if unit == "mm" else "inter-canthal"
    return {"length": length, "area": f"{length}²", "angle": "degrees"}[kind]


def _stats(values: np.ndarray) -> dict[str, float | None]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return {"mean": None, "min": None, "max": None}
    return {"mean": float(finite.mean()), "min": float(finite.min()), "max": float(finite.max())}


def summarize(
    series: MeasureSeries,
    tasks: list[Task] | None = None,
    rest: str = "rest",
    calibration: Calibration | None = None,
    model_sha256: str | None = None,
    scale_source: str | None = None,
) -> dict:
    """A JSON-ready summary: per-measure statistics, movement per task, and the calibrated
    asymmetry decision (:func:`.decision.decide_asymmetry`) with its confidence, threshold and caveat.

    ``affected_side`` repeats the decision in short: ``side`` is ``right``, ``left``, ``none`` (no
    one-sided change beyond what healthy still faces show) or ``undetermined``.
    """
    tasks = tasks or []
    decision = decide_asymmetry(series, tasks, calibration, model_sha256, rest).to_dict()
    found = int(np.isfinite(series.poses["yaw"]).sum())
    summary: dict = {
        "unit": series.unit,
        "scale_mm": series.scale_mm,
        "scale_source": scale_source if series.scale_mm else None,
        "frames": len(series),
        "frames_with_face": found,
        "duration_s": float(series.timestamps[-1] - series.timestamps[0]) if len(series) else 0.0,
        "measures": {},
        "scalars": {},
        "pose": {k: _stats(v) for k, v in series.poses.items()},
        "tasks": [{"name": t.name, "start": t.start, "end": t.end} for t in tasks],
        "frames_per_task": task_frames(series, tasks, rest),
        "peak_frames": peak_frames(series, tasks, rest),
    }
    summary["asymmetry"] = decision
    short = ("confidence", "confidence_threshold", "caveat")
    summary["affected_side"] = {"side": decision["decision"], **{key: decision[key] for key in short}}
    if not series.values:
        return summary
    for name, (kind, description) in SIDE_MEASURES.items():
        right, left = series.side(name)
        summary["measures"][name] = {
            "unit": _unit_label(kind, series.unit),
            "description": description,
            "right": _stats(right),
            "left": _stats(left),
            "difference": _stats(right - left),
        }
    for name in SCALAR_MEASURES:
        summary["scalars"][name] = _stats(series.values[name])
    movements = task_movements(series, tasks, rest) if any(t.name != rest for t in tasks) else {}
    summary["task_movement"] = movements
    summary["task_values"] = task_values(series, tasks)
    summary["range_of_motion"] = range_of_motion(series)
    return summary


def _clean(value):
    """NaN and infinity become null, so the JSON is standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def write_summary(summary: dict, path: str | Path) -> Path:
    return write_text_atomically(path, json.dumps(_clean(summary), indent=1) + "\n")


def write_measures_csv(series: MeasureSeries, path: str | Path, tasks: list[Task] | None = None) -> Path:
    """One row per frame: frame, time, task, yaw, pitch, roll and every measure (empty: no face)."""
    path = Path(path)
    names = list(series.values)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["frame", "time", "task", "yaw", "pitch", "roll", *names])
        for index, time in enumerate(series.timestamps):
            task = next((t.name for t in tasks or [] if t.start <= time < t.end), "")
            row = [series.poses[k][index] for k in ("yaw", "pitch", "roll")]
            row += [series.values[name][index] for name in names]
            writer.writerow(
                [index, f"{time:.4f}", task, *("" if not np.isfinite(v) else f"{v:.6g}" for v in row)]
            )
    os.replace(temporary, path)
    return path


def _figure(width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise BackendUnavailableError(
            "plots need matplotlib; install it with `pip install 'parface-sdk[analysis]'`"
        ) from exc
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _shade_tasks(axes, tasks: list[Task]) -> None:
    for index, task in enumerate(tasks):
        axes.axvspan(task.start, task.end, color="0.85" if index % 2 else "0.92", zorder=0)
        axes.text(
            (task.start + task.end) / 2,
            1.0,
            task.name,
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
        )


def plot_timeseries(
    series: MeasureSeries, out_dir: str | Path, tasks: list[Task] | None = None
) -> list[Path]:
    """One PNG per side measure (right and left over time), plus asymmetry scalars and head pose."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks, paths = tasks or [], []
    plots = []
    for name, (kind, description) in SIDE_MEASURES.items():
        lines = [
            ("right", series.values.get(f"{name}.right"), RIGHT_COLOUR),
            ("left", series.values.get(f"{name}.left"), LEFT_COLOUR),
        ]
        plots.append((name, lines, _unit_label(kind, series.unit), description))
    scalars = [
        (name, series.values.get(name), None)
        for name in ("facial_asymmetry_index", "midline_rms", "mirror_total")
    ]
    plots.append(("asymmetry", scalars, _unit_label("length", series.unit), "asymmetry of the whole face"))
    angles = [(name, values, None) for name, values in series.poses.items()]
    plots.append(("head_pose", angles, "degrees", "yaw, pitch, roll"))
    for name, lines, unit, description in plots:
        figure = _figure(7.0, 3.0)
        axes = figure.add_subplot()
        _shade_tasks(axes, tasks)
        for label, values, colour in lines:
            if values is not None:
                axes.plot(series.timestamps, values, label=label, color=colour, linewidth=1.5)
        axes.set_title(f"{name}: {description}", fontsize=9, pad=14)
        axes.set_xlabel("time (s)")
        axes.set_ylabel(unit)
        axes.legend(fontsize=8, loc="best")
        axes.grid(alpha=0.3)
        figure.tight_layout()
        paths.append(out_dir / f"{name}.png")
        figure.savefig(paths[-1])
    return paths


def plot_face_overlay(
    landmarks: np.ndarray,
    path: str | Path,
    image_rgb: np.ndarray | None = None,
    measures: FaceMeasures | None = None,
    title: str = "",
) -> Path:
    """The face with the measures drawn: midline plane, eye-corner line, brow heights, eye
    openings, mouth-corner lines to 57 and the eye-mouth distances, with right / left values."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    measures = measures or measure_face(landmarks)
    pose, head = measures.pose, measures.head_points
    height, width = image_rgb.shape[:2] if image_rgb is not None else (1, 1)
    text_height = 1.4  # inches for the table of values under the face
    figure = _figure(6.0, 6.0 * height / width + text_height)
    axes = figure.add_subplot()
    if image_rgb is not None:
        axes.imshow(image_rgb)
    else:
        axes.set_facecolor("white")
        axes.invert_yaxis()
    axes.set_aspect("equal")
    to_image = pose.to_image if pose is not None else (lambda points: np.asarray(points))

    def line(a, b, colour, style="-", width=1.5):
        a, b = to_image(np.asarray(a))[:2], to_image(np.asarray(b))[:2]
        axes.plot([a[0], b[0]], [a[1], b[1]], style, color=colour, linewidth=width)

    top, bottom = head[:, 1].min() - 0.3, head[:, 1].max() + 0.15
    line((0.0, top, 0.0), (0.0, bottom, 0.0), "#2ca02c", "--")  # midline plane, seen edge-on
    line(head[36], head[45], "0.4", ":")
    direction = (head[45, :2] - head[36, :2]) / np.linalg.norm(head[45, :2] - head[36, :2])
    for brow, colour in ((19, RIGHT_COLOUR), (24, LEFT_COLOUR)):
        foot = head[36, :2] + np.dot(head[brow, :2] - head[36, :2], direction) * direction
        line(head[brow], (*foot, head[brow, 2]), colour)
    for pairs, colour in (
        (((37, 41), (38, 40), (48, 57), (39, 48)), RIGHT_COLOUR),
        (((43, 47), (44, 46), (54, 57), (42, 54)), LEFT_COLOUR),
    ):
        for a, b in pairs:
            line(head[a], head[b], colour)
    axes.scatter(landmarks[:, 0], landmarks[:, 1], s=6, color="white", edgecolors="black", linewidths=0.4)
    rows = [f"{'measure':<24}{'right':>8}{'left':>8}"]
    for name in (
        "brow_height",
        "eye_opening",
        "mouth_corner_height",
        "mouth_corner_excursion",
        "smile_angle",
        "eye_mouth_distance",
    ):
        side = measures.sides[name]
        rows.append(f"{name:<24}{side.right:>8.3f}{side.left:>8.3f}")
    rows.append(
        f"FAI {measures.scalars['facial_asymmetry_index']:.3f}   "
        f"midline RMS {measures.scalars['midline_rms']:.3f}   ({measures.unit})"
    )
    figure.text(0.02, 0.01, "\n".join(rows), family="monospace", fontsize=7, va="bottom")
    figure.subplots_adjust(left=0.02, right=0.98, bottom=text_height / figure.get_figheight(), top=0.95)
    axes.set_title(title or "subject's right (blue) / left (orange); midline plane (green)", fontsize=9)
    axes.axis("off")
    path = Path(path)
    figure.savefig(path)
    return path


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote: ``paths`` (``csv``, ``summary``, ``html``, and ``plots``,
    ``overlay``, ``overlays`` when there were measures), ``summary`` (the content of
    ``summary.json``) and ``decision`` (its calibrated asymmetry decision,
    ``summary["asymmetry"]``), so no caller re-reads the file."""

    paths: dict[str, Path]
    summary: dict

    @property
    def decision(self) -> dict:
        return self.summary["asymmetry"]

    def to_dict(self) -> dict:
        return {"paths": {k: str(v) for k, v in self.paths.items()}, "summary": self.summary}


def write_report(
    series: MeasureSeries,
    out_dir: str | Path,
    tasks: list[Task] | None = None,
    image_rgb: np.ndarray | None = None,
    overlay_frame: int | None = None,
    calibration: Calibration | None = None,
    model_sha256: str | None = None,
    frame_images=None,
    scale_source: str | None = None,
) -> Report:
    """Write ``measures.csv``, ``summary.json``, ``plots/*.png``, ``overlay.png``,
    ``overlays/<task>.png`` and ``report.html`` into ``out_dir``; returns the :class:`Report` (the
    paths, the summary and its decision).

    ``summary.json`` carries the calibrated asymmetry decision (``calibration``: the package's by
    default; ``model_sha256``: the model that made the landmarks, checked against the calibration's)
    and the frames used per task. ``overlay.png`` shows the unsmoothed landmarks and measures of
    ``overlay_frame`` (default: the peak frame of the task that moved most from rest,
    :func:`.timeseries.overlay_frame`); ``overlays/<task>.png`` each task's peak frame
    (:func:`.timeseries.peak_frames`). ``frame_images[index]`` gives frame ``index``'s RGB image
    (e.g. :class:`.clip.KeptFrames`; None: the landmarks alone); ``image_rgb`` is the main overlay
    frame's image when ``frame_images`` is not given. ``report.html`` is one self-contained file
    (:mod:`.html_report`) with the decision first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = _clean(
        summarize(
            series, tasks, calibration=calibration, model_sha256=model_sha256, scale_source=scale_source
        )
    )
    paths = {
        "csv": write_measures_csv(series, out_dir / "measures.csv", tasks),
        "summary": write_summary(summary, out_dir / "summary.json"),
    }
    if not series.values:
        paths["html"] = write_text_atomically(out_dir / "report.html", render_html(summary))
        return Report(paths, summary)

    def image_of(index: int) -> np.ndarray | None:
        if frame_images is not None:
            return frame_images[index]
        return image_rgb if index == overlay_frame else None

    paths["plots"] = out_dir / "plots"
    plots = plot_timeseries(series, paths["plots"], tasks)
    if overlay_frame is None:
        overlay_frame = main_overlay_frame(series, tasks)
    if overlay_frame is not None:
        points = series.image_landmarks[overlay_frame]
        if np.isfinite(points).all():
            paths["overlay"] = plot_face_overlay(
                points,
                out_dir / "overlay.png",
                image_of(overlay_frame),
                measure_face(points, series.scale_mm),
                title=f"frame {overlay_frame} (t = {series.timestamps[overlay_frame]:.2f} s)",
            )
    overlays = {}
    for task, index in summary["peak_frames"].items():
        points = series.image_landmarks[index]
        if not np.isfinite(points).all():
            continue
        paths["overlays"] = out_dir / "overlays"
        paths["overlays"].mkdir(exist_ok=True)
        time = float(series.timestamps[index])
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in task)
        path = plot_face_overlay(
            points,
            paths["overlays"] / f"{safe}.png",
            image_of(index),
            measure_face(points, series.scale_mm),
            title=f"{task}: peak frame {index} (t = {time:.2f} s)",
        )
        overlays[task] = (index, time, path)
    paths["html"] = write_text_atomically(out_dir / "report.html", render_html(summary, overlays, plots))
    return Report(paths, summary)
