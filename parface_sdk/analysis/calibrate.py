"""Derive the asymmetry calibration from null clips, and score the decision on simulated droops.

Pure functions over the change statistics of :func:`.decision.change_statistics`; the clips are
made and tracked by ``benchmarks/palsy_calibration.py``.
"""

from __future__ import annotations

import numpy as np

from parface_sdk.analysis.decision import (
    REGION_MEASURES,
    Calibration,
    two_sided_confidence,
    z_for_confidence,
)

# The least null spread (% IOD) a still head is given. The calibration's still clips repeat one
# photo with pixel noise; a real recording of a healthy, still face also breathes, blinks, makes
# micro-expressions and is compressed, which no clip here models, and flow-refined landmarks are
# so steady on the synthetic clips (about 0.01 % IOD) that their fitted spread would make changes
# of a few hundredths of a millimetre "significant". With the usual z threshold of about 3.5,
# 0.3 % IOD puts the smallest change reported at about 1 % of the inter-ocular distance (about
# 1 mm), for either refinement mode.
MIN_STILL_SPREAD = 0.3


def _tests(stats: dict) -> list[tuple[str, float, float]]:
    """(region, change % IOD, head motion degrees) of every test of a clip."""
    motion = stats.get("motion", {})
    return [
        (region, change, float(np.nan_to_num(motion.get(span, 0.0))))
        for span, regions in stats["changes"].items()
        for region, change in regions.items()
        if np.isfinite(change)
    ]


def fit_null_spread(changes: np.ndarray, motions: np.ndarray, floor: float = 0.01) -> tuple[float, float]:
    """Maximum-likelihood (still, per_degree) of a zero-mean normal null whose spread grows with head
    motion: ``var = still ** 2 + (per_degree * motion) ** 2``. A systematic offset counts as spread
    (the mean is not fitted). ``floor`` (% IOD) keeps the still spread above zero. Needs scipy."""
    from scipy.optimize import minimize

    changes, motions = np.asarray(changes, float), np.asarray(motions, float)

    def negative_log_likelihood(params: np.ndarray) -> float:
        variance = np.exp(2 * params[0]) + (np.exp(params[1]) * motions) ** 2
        return float(np.sum(np.log(variance) + changes**2 / variance))

    rms = float(np.sqrt(np.mean(changes**2)))
    start = np.log([max(rms, floor), max(rms, floor) / max(float(np.mean(motions)), 1.0)])
    best = minimize(
        negative_log_likelihood, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9}
    )
    still, per_degree = np.exp(best.x)
    return max(float(still), floor), float(per_degree)


def derive_calibration(
    null_records: list[dict],
    model_sha256: str,
    false_alarm: float = 0.0001,
    margin: float = 1.25,
    provenance: dict | None = None,
    min_still_spread: float = MIN_STILL_SPREAD,
) -> tuple[Calibration, dict]:
    """The calibration from ``null_records`` (each ``{"tasks": stats, "auto": stats}`` of a clip
    without palsy), and the figures it was derived from.

    - null spread per mode and region: :func:`fit_null_spread`, a spread for a still head (at least
      ``min_still_spread``, see :data:`MIN_STILL_SPREAD`) and its growth per degree of head motion
      (a systematic offset, e.g. under head turns, counts against the threshold);
    - threshold: the z-score at which the chance of a false alarm on a clip of the calibration design
      is ``false_alarm`` under a normal null, raised to ``margin`` times the largest z-score any
      calibration clip reached when that is larger (heavy tails); stored as a confidence.
    """
    if not null_records:
        raise ValueError("no null clips to calibrate on")
    sigma: dict[str, dict[str, float]] = {}
    per_degree: dict[str, dict[str, float]] = {}
    for mode in ("tasks", "auto"):
        sigma[mode], per_degree[mode] = {}, {}
        for region in REGION_MEASURES:
            pairs = [(c, m) for record in null_records for r, c, m in _tests(record[mode]) if r == region]
            if len(pairs) < 5:
                raise ValueError(f"only {len(pairs)} null changes for {mode}/{region}; need more clips")
            changes, motions = np.asarray(pairs).T
            sigma[mode][region], per_degree[mode][region] = fit_null_spread(
                changes, motions, min_still_spread
            )

    def spread(mode: str, region: str, motion: float) -> float:
        return float(np.hypot(sigma[mode][region], per_degree[mode][region] * motion))

    tests = len(_tests(null_records[0]["tasks"]))
    z_normal = z_for_confidence(1.0 - false_alarm, tests)
    largest = max(
        abs(c) / spread(mode, r, m)
        for record in null_records
        for mode in sigma
        for r, c, m in _tests(record[mode])
    )
    z_threshold = max(z_normal, margin * largest)
    static = {}
    for region in REGION_MEASURES:
        values = [
            record["tasks"]["static"][region]
            for record in null_records
            if np.isfinite(record["tasks"]["static"].get(region, np.nan))
        ]
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        static[region] = {"p5": float(p5), "p50": float(p50), "p95": float(p95)}
    figures = {
        "tests_per_clip": tests,
        "z_normal": z_normal,
        "largest_null_z": float(largest),
        "margin": margin,
        "z_threshold": float(z_threshold),
        "false_alarm_target": false_alarm,
        "min_still_spread": min_still_spread,
    }
    calibration = Calibration(
        model_sha256,
        sigma,
        two_sided_confidence(z_threshold, tests),
        static,
        {**(provenance or {}), "z_threshold": float(z_threshold), "tests_per_clip": tests},
        per_degree,
    )
    return calibration, figures


def pearson(x: list[float], y: list[float]) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.std(x[keep]) == 0 or np.std(y[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(x[keep], y[keep])[0, 1])


def validation_table(rows: list[dict]) -> list[dict]:
    """Per applied size (and overall): right-side, wrong-side, none and undetermined rates, and the
    Pearson r of measured vs applied signed change. ``rows`` carry ``percent``, ``side``,
    ``decision``, ``applied`` (signed, % IOD; negative = right lowered) and ``measured``."""
    table = []
    for percent in sorted({row["percent"] for row in rows}) + [None]:
        group = [row for row in rows if percent is None or row["percent"] == percent]
        count = len(group)
        right = sum(row["decision"] == row["side"] for row in group)
        none = sum(row["decision"] == "none" for row in group)
        undetermined = sum(row["decision"] == "undetermined" for row in group)
        table.append(
            {
                "percent": "all" if percent is None else percent,
                "clips": count,
                "right_side": right / count,
                "wrong_side": (count - right - none - undetermined) / count,
                "none": none / count,
                "undetermined": undetermined / count,
                "pearson_r": pearson([r["applied"] for r in group], [r["measured"] for r in group]),
                "mean_measured_abs": float(np.nanmean([abs(r["measured"]) for r in group])),
            }
        )
    return table
