"""The tables and plain-words conclusions of `benchmarks/palsy_calibration.py`, from its report.json."""

from __future__ import annotations

import numpy as np


def render(report: dict) -> str:
    cal, fig = report["calibration"], report["derivation"]
    motion = cal.get("motion_sigma", {})
    held = report.get("validators_held_out")
    lines = [
        f"Measured {report['date']} on model `{cal['model_sha256'][:16]}…` with "
        f"`{report['command']}` ({report['people']} people of the 300-W and LFPW train splits: "
        f"{report['people'] // 2} calibrate, {report['people'] // 2} validate"
        + (
            f", {held} of them from the model's validation split, never trained on"
            if held is not None
            else ""
        )
        + f"; {report['frames']} frames at {report['fps']:g} fps per clip, rest 0-1 s, task 1-2 s; "
        f"{report['seconds']:.0f} s).",
        "",
        "**Null distribution** (faces without palsy; change of right-minus-left height, task vs rest, "
        "% of inter-ocular distance). The spread is `sqrt(still^2 + (per_degree x head motion)^2)`, "
        "fitted by maximum likelihood to the calibration clips; head motion is the change of head "
        "pose between rest and the task, in degrees, measured in the clip:",
        "",
        "| region | spread, still head | + per degree of head motion | without tasks: still / per degree "
        "| decision threshold, still head | at 5 degrees of motion "
        "| resting right-minus-left, healthy 5-95 % |",
        "|---|---|---|---|---|---|---|",
    ]
    for region, sigma in cal["null_sigma"]["tasks"].items():
        static = cal["static_range"][region]
        per_degree = motion.get("tasks", {}).get(region, 0.0)
        at_five = float(np.hypot(sigma, 5 * per_degree))
        lines.append(
            f"| {region} | {sigma:.2f} % | {per_degree:.3f} % | {cal['null_sigma']['auto'][region]:.2f} / "
            f"{motion.get('auto', {}).get(region, 0.0):.3f} % | {fig['z_threshold'] * sigma:.2f} % | "
            f"{fig['z_threshold'] * at_five:.2f} % | {static['p5']:+.2f} to {static['p95']:+.2f} % |"
        )
    motions = {
        kind: [r["tasks"].get("motion", {}).get("task", np.nan) for r in report["null"] if r["kind"] == kind]
        for kind in dict.fromkeys(r["kind"] for r in report["null"])
    }
    lines += [
        "",
        "Head motion between rest and task in the null clips (degrees, median / max): "
        + ", ".join(f"{k} {np.nanmedian(v):.1f} / {np.nanmax(v):.1f}" for k, v in motions.items() if v)
        + ".",
    ]
    lines += [
        "",
        f"Threshold: z = {fig['z_threshold']:.2f} (normal-null {fig['z_normal']:.2f} for a "
        f"{fig['false_alarm_target']:.2%} false-alarm rate per clip; largest calibration-null z "
        f"{fig['largest_null_z']:.2f} x margin {fig['margin']}), stored as confidence "
        f"{cal['confidence_threshold']:.6f}.",
        "",
        "**False 'affected side' on held-out faces without palsy:**",
        "",
        "| clips | with tasks | without tasks |",
        "|---|---|---|",
    ]
    for kind, counts in report["null_validation"].items():
        lines.append(f"| {kind} ({counts['clips']}) | {counts['tasks']} | {counts['auto']} |")
    lines += [
        "",
        "**Simulated one-sided droop** (mouth corner or brow lowered during the task; held-out "
        "people, both sides):",
        "",
        "| droop % IOD | clips | right side | wrong side | none | undetermined | Pearson r | "
        "right side, no tasks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row, auto in zip(report["validation"]["tasks"], report["validation"]["auto"]):
        lines.append(
            f"| {row['percent']} | {row['clips']} | {row['right_side']:.0%} | {row['wrong_side']:.0%} | "
            f"{row['none']:.0%} | {row['undetermined']:.0%} | {row['pearson_r']:.3f} | "
            f"{auto['right_side']:.0%} |"
        )
    by_region = report.get("validation_by_region", {})
    if by_region:
        lines += [
            "",
            "Pearson r of measured vs applied change, by region (all sizes): "
            + ", ".join(
                f"{region} {rows[-1]['pearson_r']:.3f} (right side {rows[-1]['right_side']:.0%}, wrong side "
                f"{rows[-1]['wrong_side']:.0%})"
                for region, rows in by_region.items()
            )
            + ".",
        ]
    extra = [(name, report["validation"].get(name)) for name in ("local", "turn")]
    if any(table for _, table in extra):
        lines += [
            "",
            "**Other droops** (same people, task spans): *local*, a narrow Gaussian warp of the point "
            "alone (sigma 0.12 IOD at the mouth) with the face still; *turn*, the thin-plate droop "
            "during a head turn of 2-10 degrees:",
            "",
            "| condition | droop % IOD | clips | right side | wrong side | none | undetermined | "
            "mean measured % IOD |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, table in extra:
            for row in table or []:
                lines.append(
                    f"| {name} | {row['percent']} | {row['clips']} | {row['right_side']:.0%} | "
                    f"{row['wrong_side']:.0%} | {row['none']:.0%} | {row['undetermined']:.0%} | "
                    f"{row['mean_measured_abs']:.2f} |"
                )
    lines += [
        "",
        "**Jitter on still clips** (mean frame-to-frame motion of the 68 points, % of the "
        "inter-ocular distance, 2D; mean / worst clip):",
        "",
        "| tracking output | mean | worst |",
        "|---|---|---|",
    ]
    for method, label in (
        ("none", "raw"),
        ("one_euro", "One Euro (live)"),
        ("savgol", "Savitzky-Golay (analysis)"),
    ):
        values = report["jitter"][method]
        lines.append(f"| {label} | {np.mean(values):.2f} | {np.max(values):.2f} |")
    lines += probability_lines(report.get("probability"))
    lines += [
        "",
        "**In plain words** (written by the script from the figures above):",
        "",
        *conclusions(report),
    ]
    return "\n".join(lines) + "\n"


def probability_lines(probability: dict | None) -> list[str]:
    """The probability map and its reliability diagram as a table (absent in older reports)."""
    if not probability:
        return []
    fitted, diagram = probability["map"], probability["reliability"]
    lines = [
        "",
        f"**Probability of a one-sided change** (`asymmetry.probability`): logistic map of the strength "
        f"above its threshold, slope {fitted['slope']:.3f}, intercept {fitted['intercept']:.3f}, fitted on "
        f"{fitted['clips']} held-out clips ({fitted['positives']} simulated droops of all sizes, the rest "
        f"without palsy; the probability is for that mix). Reliability of out-of-fold probabilities "
        f"(2-fold by person): expected calibration error {diagram['ece']:.3f}.",
        "",
        "| predicted | clips | mean predicted | observed rate |",
        "|---|---|---|---|",
    ]
    for row in diagram["bins"]:
        if row["count"]:
            lines.append(
                f"| {row['lower']:.1f}-{row['upper']:.1f} | {row['count']} | "
                f"{row['mean_probability']:.2f} | {row['observed_rate']:.2f} |"
            )
    return lines


def conclusions(report: dict) -> list[str]:
    """The targets of the palsy issue, checked against the measured figures."""
    table = report["validation"]["tasks"][:-1]
    false_sides = sum(counts["tasks"] for counts in report["null_validation"].values())
    false_auto = sum(counts["auto"] for counts in report["null_validation"].values())
    null_clips = sum(counts["clips"] for counts in report["null_validation"].values())
    found = [row["percent"] for row in table if row["right_side"] >= 0.95]
    large = [row for row in table if row["percent"] >= 4]
    worst_wrong = max(row["wrong_side"] for row in table)
    r = report["validation"]["tasks"][-1]["pearson_r"]
    jitter = float(np.mean(report["jitter"]["none"]))
    verdict = {True: "met", False: "NOT met"}
    return [
        f"- Faces without palsy: {false_sides} false 'affected side' with task spans and {false_auto} "
        f"without, in {null_clips} held-out clips (target 0): {verdict[false_sides + false_auto == 0]}.",
        f"- Droops of 4 % IOD or more found on the right side in "
        f"{min((row['right_side'] for row in large), default=0):.0%} of clips or more (target 95 %): "
        f"{verdict[bool(large) and all(row['right_side'] >= 0.95 for row in large)]}"
        + (
            f"; the smallest size found 95 % of the time is {min(found)} % IOD."
            if found
            else "; no size tested is found 95 % of the time: this model cannot see such droops."
        ),
        f"- Wrong side at any size: at most {worst_wrong:.0%} (target 2 %): {verdict[worst_wrong <= 0.02]}.",
        f"- Measured vs applied change, Pearson r = {r:.3f} (target 0.9): {verdict[r >= 0.9]}.",
        f"- Raw jitter on still clips: {jitter:.2f} % IOD frame to frame (goal 1 %): "
        f"{verdict[jitter <= 1.0]}.",
    ]
