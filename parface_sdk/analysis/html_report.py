"""``report.html``: the analysis report a clinician opens, in one self-contained file.

Everything is inside the file: inline CSS, the plots and overlay images as base64 ``data:`` URIs,
no script and no network access. It says the decision and its caveat in plain words first, then
the per-task table (right, left, difference; mm when a scale is known), the frames used per task,
an overlay image at each task's peak frame (:func:`.timeseries.peak_frames`) and the plots.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path

# the measures of the per-task table, in order
TABLE_MEASURES = (
    "brow_height",
    "eye_opening",
    "mouth_corner_level",
    "mouth_corner_excursion",
    "mouth_corner_midline",
    "smile_angle",
)

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 980px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.decision { font-size: 1.3em; font-weight: 600; padding: 0.8em 1em; border-radius: 6px; }
.decision.none { background: #e8f5e9; border: 1px solid #66bb6a; }
.decision.side { background: #fff3e0; border: 1px solid #ffa726; }
.decision.undetermined { background: #f3e5f5; border: 1px solid #ab47bc; }
.caveat { background: #f5f5f5; border-left: 4px solid #999; padding: 0.6em 1em; font-size: 0.92em; }
.warning { color: #b71c1c; font-weight: 600; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, td.name { text-align: left; }
th { background: #f0f0f0; }
td.right { color: #1f77b4; } td.left { color: #ff7f0e; }
figure { margin: 0.8em 0; display: inline-block; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
.meta { color: #555; font-size: 0.85em; }
"""


def data_uri(png: bytes | str | Path) -> str:
    """A ``data:image/png;base64,...`` URI of PNG bytes or a PNG file."""
    if not isinstance(png, bytes):
        png = Path(png).read_bytes()
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def plain_decision(decision: dict) -> str:
    """The decision in one plain sentence."""
    side = decision["decision"]
    if side in ("right", "left"):
        return (
            f"One-sided change found: the subject's {side} side. Its brow or mouth corner ended up lower, "
            "relative to the other side and compared with rest, than faces without palsy show."
        )
    if side == "undetermined":
        return "Asymmetric changes on both sides: no side is named."
    return "No one-sided change found beyond what faces without palsy show."


def _number(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):+.{digits}f}"
    except (TypeError, ValueError):
        return html.escape(str(value))


def _table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    classes = classes or [""] * len(header)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{c}">{cell}</td>' for c, cell in zip(classes, row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(
    summary: dict,
    overlays: dict[str, tuple[int, float, bytes | Path]] | None = None,
    plots: list[Path] | None = None,
    title: str = "Facial asymmetry report",
) -> str:
    """The report as one HTML string. ``summary`` is :func:`.report.summarize`'s (cleaned);
    ``overlays`` maps a task name to (frame index, time in s, PNG bytes or file) of its peak frame;
    ``plots`` are PNG files."""
    overlays, plots = overlays or {}, plots or []
    decision = summary["asymmetry"]
    side = decision["decision"]
    kind = "side" if side in ("right", "left") else side
    unit = "mm" if summary.get("unit") == "mm" else "inter-canthal units"
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{summary.get("frames", 0)} frames, {summary.get("frames_with_face", 0)} with a '
        f"face, {summary.get('duration_s', 0.0):.2f} s; landmarks: "
        f"{escape(str(decision.get('calibration', {}).get('landmarks', '?')))}; lengths in {unit}"
        + (
            f" (scale: inner inter-canthal distance {summary['scale_mm']:.1f} mm, "
            f"{escape(str(summary.get('scale_source') or 'given'))})"
            if summary.get("scale_mm")
            else ""
        )
        + "</p>",
        "<h2>Decision</h2>",
        f'<div id="decision" class="decision {kind}">{escape(plain_decision(decision))}</div>',
    ]
    probability = decision.get("probability")
    confidence_text = (
        f"Strength {decision['strength']:.1f} null spreads (threshold {decision['strength_threshold']:.1f}); "
        f"confidence {decision['confidence']:.6f} (threshold {decision['confidence_threshold']:.6f})."
    )
    if probability is not None:
        placeholder = (
            "" if decision.get("probability_fitted") else " (a placeholder until the calibration is re-run)"
        )
        confidence_text = (
            f"Probability of a one-sided change: {probability:.2f}{placeholder}. " + confidence_text
        )
    parts.append(f"<p>{escape(confidence_text)}</p>")
    caveat = escape(decision["caveat"]).replace("WARNING:", '<span class="warning">WARNING:</span>')
    parts.append(f'<p class="caveat">{caveat}</p>')

    tests = decision.get("tests") or []
    if tests:
        rows = [
            [
                escape(t["span"]),
                escape(t["region"]),
                _number(t["change_pct_iod"]),
                f"±{t['threshold_pct_iod']:.2f}",
                f"{t['head_motion_deg']:.1f}" if t.get("head_motion_deg") is not None else "–",
            ]
            for t in tests
        ]
        parts += [
            "<h2>What the decision compared</h2>",
            "<p>Change of right-minus-left height between rest and each task, in % of the inter-ocular "
            "distance (negative: the subject's right side ended up lower), and the range faces without "
            "palsy stay within.</p>",
            _table(
                ["task", "region", "change (% IOD)", "healthy range (% IOD)", "head motion (deg)"],
                rows,
                ["name", "name", "", "", ""],
            ),
        ]

    movements = summary.get("task_movement") or {}
    if movements:
        parts += [
            "<h2>Movement per task</h2>",
            f"<p>Each side's movement from rest (median over the task minus median at rest), in {unit} "
            "(angles in degrees); difference = right − left.</p>",
        ]
        rows = []
        for task, measures in movements.items():
            for name in TABLE_MEASURES:
                item = measures.get(name)
                if not item:
                    continue
                right, left = item.get("right"), item.get("left")
                difference = None if right is None or left is None else right - left
                rows.append([escape(task), escape(name), _number(right), _number(left), _number(difference)])
        parts.append(
            _table(
                ["task", "measure", "right", "left", "difference"],
                rows,
                ["name", "name", "right", "left", ""],
            )
        )
    elif summary.get("measures"):
        parts += [
            "<h2>Measures over the recording</h2>",
            f"<p>No task spans were given: mean of each side over the recording, in {unit}.</p>",
        ]
        rows = []
        for name in TABLE_MEASURES:
            item = summary["measures"].get(name)
            if item:
                rows.append(
                    [
                        escape(name),
                        _number(item["right"]["mean"]),
                        _number(item["left"]["mean"]),
                        _number(item["difference"]["mean"]),
                    ]
                )
        parts.append(_table(["measure", "right", "left", "difference"], rows, ["name", "right", "left", ""]))

    values = summary.get("task_values") or {}
    if values:
        parts += [
            "<h2>Measures per task</h2>",
            f"<p>Each side's value during each task (median over its frames; for a photo, the photo), "
            f"in {unit} (angles in degrees); difference = right − left.</p>",
        ]
        rows = []
        for task, measures in values.items():
            for name in TABLE_MEASURES:
                item = measures.get(name)
                if item:
                    rows.append(
                        [
                            escape(task),
                            escape(name),
                            _number(item["right"]),
                            _number(item["left"]),
                            _number(item["difference"]),
                        ]
                    )
        parts.append(
            _table(
                ["task", "measure", "right", "left", "difference"],
                rows,
                ["name", "name", "right", "left", ""],
            )
        )

    frames = summary.get("frames_per_task") or {}
    if frames:
        rows = [
            [
                escape(task),
                f"{item['start']:.2f}–{item['end']:.2f}"
                if item["end"] is not None
                else f"{item['start']:.2f}–",
                str(item["frames"]),
                str(item["frames_with_face"]),
                str(item["frames_used"]),
            ]
            for task, item in frames.items()
        ]
        parts += [
            "<h2>Frames used per task</h2>",
            "<p>Frames in each span, how many had a face, and how many the measures used.</p>",
            _table(["task", "span (s)", "frames", "with a face", "used"], rows, ["name", "name", "", "", ""]),
        ]

    if overlays:
        parts.append("<h2>Peak frame of each task</h2>")
        parts.append(
            "<p>Each task at the frame where its measures are furthest from rest (rest: the frame "
            "closest to the rest medians). Subject's right in blue, left in orange, midline in green.</p>"
        )
        for task, (index, time, png) in overlays.items():
            parts.append(
                f'<figure><img alt="{escape(task)}, frame {index}" src="{data_uri(png)}" width="420">'
                f"<figcaption>{escape(task)}: frame {index} (t = {time:.2f} s)</figcaption></figure>"
            )
    if plots:
        parts.append("<h2>Measures over time</h2>")
        for plot in plots:
            parts.append(
                f'<figure><img alt="{escape(Path(plot).stem)}" src="{data_uri(plot)}" width="700">'
                f"<figcaption>{escape(Path(plot).stem)}</figcaption></figure>"
            )
    parts.append(
        '<p class="meta">Made by parface-sdk <code>parface analyze</code>. The measures support assessment; '
        "they are not a diagnosis. This software is not a medical device.</p></body></html>"
    )
    return "\n".join(parts) + "\n"


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` under a temporary name beside ``path``, then rename it onto ``path``."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
