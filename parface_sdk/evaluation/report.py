"""Evaluation report: a JSON document (summary and per-face errors), a terminal table, CED plots.

All figures in the report are percentages. matplotlib and rich are imported only when used.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from parface_sdk.evaluation import metrics
from parface_sdk.evaluation.runner import EvalRun

logger = logging.getLogger(__name__)

SCHEMA = "parface-eval/1"
PROTOCOL = {
    "coordinates": "0-based image pixels; .pts files (1-based) are shifted by -1",
    "nme": "per face: mean over the 68 points of the 2D (x, y) distance / normaliser; x100",
    "normalizer": {
        "box": "sqrt(w*h) of the ground-truth landmark box (x, y)",
        "inter-ocular": "2D distance of ground-truth points 36 and 45",
    },
    "gte": "per face: both shapes shifted to zero mean depth, mean 3D distance over the 68 points "
    "/ 3D distance of ground-truth points 36 and 45; x100; z positive towards the camera",
    "std": "population standard deviation over faces (ddof=0)",
    "auc": "trapezoid integral of the CED (fraction of faces with error <= t) sampled at "
    "t = k*0.10/1000, k = 0..1000, divided by 0.10; x100",
    "failure_rate": "percentage of faces with error > 0.10 (10 %), detector misses included",
    "yaw_bins": "|yaw| in [0,30], (30,60], >60 degrees (the 7 AFLW2000-3D faces over 90 go to 60-90, "
    "as in 3DDFA); 'balanced' is the mean of the three bin means",
    "misses": "detector mode: no detected face with IoU >= 0.25 to the ground-truth box; error = inf, "
    "counted in FR and AUC, excluded from mean/std/median",
}


def _finite(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _clean(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int) else _finite(v) for k, v in stats.items()}


def _bins(run: EvalRun) -> dict[str, Any] | None:
    labels = run.yaw_bins
    if any(label is None for label in labels):
        return None
    labels = np.asarray(labels)
    bins: dict[str, Any] = {}
    for name in metrics.YAW_BINS:
        mask = labels == name
        entry: dict[str, Any] = {"count": int(mask.sum())}
        entry["nme"] = _clean(metrics.summarize(run.nme[mask])) if mask.any() else None
        if run.gte is not None:
            entry["gte"] = _clean(metrics.summarize(run.gte[mask])) if mask.any() else None
        bins[name] = entry
    return bins


def _balanced(bins: dict[str, Any] | None, key: str) -> float | None:
    if bins is None or any(bins[b].get(key) is None for b in metrics.YAW_BINS):
        return None
    return _finite(float(np.mean([bins[b][key]["mean"] for b in metrics.YAW_BINS])))


def _per_landmark(point_errors: np.ndarray) -> list[float | None]:
    if not np.isfinite(point_errors).any():
        return [None] * point_errors.shape[1]
    return [_finite(v) for v in np.nanmean(point_errors, axis=0) * 100]


def inner_nme(run: EvalRun) -> np.ndarray:
    """Per-face NME over the 51 inner points (17-67; same normaliser), inf for misses. The jaw
    convention differs between 2D labels (visible contour) and 3DA-2D (projected 3D jaw)."""
    out = np.full(len(run.names), np.inf)
    ok = np.isfinite(run.nme)
    out[ok] = run.point_nme[ok, 17:].mean(axis=1)
    return out


def summarize_run(run: EvalRun) -> dict[str, Any]:
    """The summary block of one crop mode (percentages)."""
    bins = _bins(run)
    summary: dict[str, Any] = {
        "crop": run.crop,
        "faces": len(run.names),
        "detected": int(run.detected.sum()),
        "normalizer": run.normalizer,
        "nme": _clean(metrics.summarize(run.nme)),
        "nme_inner51": _clean(metrics.summarize(inner_nme(run))),
        "gte": _clean(metrics.summarize(run.gte)) if run.gte is not None else None,
        "yaw_bins": bins,
        "nme_balanced": _balanced(bins, "nme"),
        "gte_balanced": _balanced(bins, "gte") if run.gte is not None else None,
        "per_landmark": {
            "nme": _per_landmark(run.point_nme),
            "gte": _per_landmark(run.point_gte) if run.point_gte is not None else None,
        },
        "seconds_per_face": _finite(run.seconds / max(len(run.names), 1), 6),
    }
    return summary


def face_records(run: EvalRun) -> list[dict[str, Any]]:
    """Per-face errors (percent; ``None`` for a miss) of one crop mode."""
    bins = run.yaw_bins
    records = []
    for i, name in enumerate(run.names):
        records.append(
            {
                "name": name,
                "image": run.images[i],
                "yaw": _finite(run.yaw[i], 3),
                "yaw_bin": bins[i],
                "detected": bool(run.detected[i]),
                "match_iou": _finite(run.match_iou[i], 3),
                "nme": _finite(run.nme[i] * 100),
                "gte": _finite(run.gte[i] * 100) if run.gte is not None else None,
            }
        )
    return records


def build_report(runs: Sequence[EvalRun], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready report of one dataset evaluated in one or more crop modes."""
    if not runs:
        raise ValueError("no evaluation runs to report")
    return {
        "schema": SCHEMA,
        "dataset": runs[0].dataset,
        "faces": len(runs[0].names),
        "meta": dict(meta or {}),
        "protocol": PROTOCOL,
        "results": {run.crop: summarize_run(run) for run in runs},
        "per_face": {run.crop: face_records(run) for run in runs},
    }


def write_json(report: dict[str, Any], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    return path


def write_predictions(runs: Sequence[EvalRun], path: Path) -> Path:
    """Raw predictions and ground truth (``<crop>_pred``, ``<crop>_gt``, ...) for re-analysis."""
    arrays: dict[str, np.ndarray] = {"names": np.asarray(runs[0].names), "yaw": runs[0].yaw}
    for run in runs:
        arrays.update(
            {
                f"{run.crop}_pred": run.pred,
                f"{run.crop}_gt": run.gt,
                f"{run.crop}_nme": run.nme,
                f"{run.crop}_detected": run.detected,
            }
        )
        if run.gte is not None:
            arrays[f"{run.crop}_gte"] = run.gte
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return Path(path)


def _cell(stats: dict[str, Any] | None, std: bool = False) -> str:
    if not stats or stats.get("mean") is None:
        return "-"
    return f"{stats['mean']:.2f}±{stats['std']:.2f}" if std else f"{stats['mean']:.2f}"


def table_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the summary table (one row per crop mode)."""
    first = next(iter(report["results"].values()))
    with_bins = first["yaw_bins"] is not None
    with_3d = first["gte"] is not None
    header = ["crop", "faces", "NME"]
    if with_bins:
        header += [f"{b}°" for b in metrics.YAW_BINS] + ["bal."]
    header += ["AUC10", "FR10"]
    if with_3d:
        header += ["GTE"] + (["GTE bal."] if with_bins else [])
    header += ["missed"]
    rows = []
    for crop, result in report["results"].items():
        nme = result["nme"]
        row = [crop, str(result["faces"]), _cell(nme, std=True)]
        if with_bins:
            row += [_cell((result["yaw_bins"][b] or {}).get("nme")) for b in metrics.YAW_BINS]
            row += ["-" if result["nme_balanced"] is None else f"{result['nme_balanced']:.2f}"]
        row += [f"{nme['auc']:.2f}", f"{nme['failure_rate']:.2f}"]
        if with_3d:
            row += [_cell(result["gte"], std=True)]
            if with_bins:
                row += ["-" if result["gte_balanced"] is None else f"{result['gte_balanced']:.2f}"]
        row += [str(nme["missed"])]
        rows.append(row)
    return header, rows


def format_table(report: dict[str, Any]) -> str:
    """The summary as plain text (fixed-width columns)."""
    header, rows = table_rows(report)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in [header, *rows]]
    return "\n".join([_title(report), *lines])


def _title(report: dict[str, Any]) -> str:
    first = next(iter(report["results"].values()))
    text = f"{report['dataset']}: {report['faces']} faces, errors in % ({first['normalizer']}-normalised NME"
    return text + (", by |yaw|; bal. = mean of the bins)" if first["yaw_bins"] else ")")


def print_table(report: dict[str, Any], file: TextIO | None = None) -> None:
    """Print the summary table, with rich when it is installed."""
    file = file or sys.stdout
    try:
        from rich import box
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        file.write(format_table(report) + "\n")
        return
    header, rows = table_rows(report)
    table = Table(title=_title(report), box=box.SIMPLE_HEAD, padding=(0, 1))
    for name in header:
        table.add_column(name, justify="left" if name == "crop" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console = Console(file=file)
    console.width = max(console.width, 120)  # never wrap cells; a narrow terminal wraps lines
    console.print(table)


def plot_ced(runs: Sequence[EvalRun], path: Path, limit: float = metrics.LIMIT) -> Path | None:
    """CED curves of every crop mode as a PNG; None without matplotlib.

    NME up to ``limit`` (legend: AUC at that limit); for 3D sets GTE up to twice the limit, as GTE
    runs about twice as high as NME (legend: mean GTE).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning("matplotlib is not installed; no CED plot (pip install 'parface-sdk[analysis]')")
        return None
    kinds = [("NME", "nme", limit)] + ([("GTE", "gte", 2 * limit)] if runs[0].gte is not None else [])
    figure = Figure(figsize=(5.5 * len(kinds), 4.5), dpi=110)
    FigureCanvasAgg(figure)
    for column, (label, attribute, x_max) in enumerate(kinds, start=1):
        axes = figure.add_subplot(1, len(kinds), column)
        for run in runs:
            errors = getattr(run, attribute)
            thresholds, fractions = metrics.ced(errors, x_max)
            if attribute == "nme":
                note = f"AUC{limit * 100:g} {metrics.auc(errors, limit) * 100:.1f}"
            else:
                note = f"mean {metrics.summarize(errors)['mean']:.2f}"
            axes.plot(thresholds * 100, fractions, label=f"{run.crop} crop ({note})")
        axes.set(
            xlim=(0, x_max * 100),
            ylim=(0, 1),
            xlabel=f"{label} (%)",
            ylabel="fraction of faces",
            title=f"{runs[0].dataset}: CED of {label}",
        )
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def write_outputs(
    runs: Sequence[EvalRun], report: dict[str, Any], out_dir: Path, plots: bool = True
) -> dict[str, Path]:
    """``report.json``, ``predictions.npz`` and ``ced.png`` in ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    written = {
        "report": write_json(report, out_dir / "report.json"),
        "predictions": write_predictions(runs, out_dir / "predictions.npz"),
    }
    if plots:
        plot = plot_ced(runs, out_dir / "ced.png")
        if plot is not None:
            written["ced"] = plot
    return written
