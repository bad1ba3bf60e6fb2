"""A calibrated probability for the asymmetry decision, and how to check one.

The decision's ``confidence`` is a null-hypothesis figure ((2 Phi(z) - 1) ** k): it says how
unusual the strongest change would be for a face without palsy, and it saturates at 0 or 1 for
almost every clip. ``probability`` is instead the chance that a clip with this decision statistic
(``strength``, the largest |z| of the clip) holds a one-sided change, read from a logistic map
``p = 1 / (1 + exp(-(slope * strength + intercept)))`` fitted (:func:`fit_logistic`) on simulated
droop and null clips (``benchmarks/palsy_calibration.py``; it depends on the mix of droop sizes
simulated, so it is a probability *for clips like those*). :func:`reliability` gives the
reliability diagram and the expected calibration error (ECE) of any set of probabilities.
"""

from __future__ import annotations

import math

import numpy as np

# Before a calibration carries a fitted map: 0.5 at the decision threshold, about 0.12 and 0.88
# one null spread either side. A placeholder, marked ``fitted: false``, not a calibrated figure.
DEFAULT_SLOPE = 2.0
# probabilities are kept within [EPSILON, 1 - EPSILON]: no clip is certain
EPSILON = 1e-4


def logistic(value: float | np.ndarray, slope: float, intercept: float):
    """``1 / (1 + exp(-(slope * value + intercept)))``, kept within [EPSILON, 1 - EPSILON]."""
    x = np.clip(slope * np.asarray(value, dtype=np.float64) + intercept, -50.0, 50.0)
    p = np.clip(1.0 / (1.0 + np.exp(-x)), EPSILON, 1.0 - EPSILON)
    return float(p) if np.ndim(p) == 0 else p


def fit_logistic(
    statistic: np.ndarray, labels: np.ndarray, l2: float = 1e-2, iterations: int = 100
) -> tuple[float, float]:
    """(slope, intercept) of the logistic regression of ``labels`` (0/1) on ``statistic``, by
    Newton's method with a small ridge ``l2`` on the slope (so perfectly separated data gives a
    finite, steep map rather than an infinite one)."""
    x = np.asarray(statistic, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2 or y.min() == y.max():
        raise ValueError("fitting a probability needs finite statistics of both classes")
    design = np.column_stack([x, np.ones_like(x)])
    weights = np.zeros(2)
    ridge = np.diag([l2 * len(x), 0.0])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ weights, -50, 50)))
        gradient = design.T @ (p - y) + ridge @ weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(weights[0]), float(weights[1])


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict:
    """The reliability diagram and expected calibration error of ``probabilities`` against 0/1
    ``labels``: ``{"ece", "bins": [{"lower", "upper", "count", "mean_probability",
    "observed_rate"}], "clips"}``. Equal-width bins over [0, 1]; the ECE is the count-weighted mean
    of |observed rate - mean probability| over the non-empty bins."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if p.shape != y.shape or not len(p):
        raise ValueError("probabilities and labels need the same, non-zero length")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        row = {"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": count}
        if count:
            mean_p, rate = float(p[members].mean()), float(y[members].mean())
            ece += count / len(p) * abs(rate - mean_p)
            row.update(mean_probability=mean_p, observed_rate=rate)
        else:
            row.update(mean_probability=math.nan, observed_rate=math.nan)
        table.append(row)
    return {"ece": float(ece), "bins": table, "clips": int(len(p))}


def plot_reliability(diagram: dict, path, title: str = "reliability") -> None:
    """The reliability diagram as a PNG (matplotlib, without pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.0, 4.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], ":", color="0.5", label="perfect")
    rows = [r for r in diagram["bins"] if r["count"]]
    axes.plot(
        [r["mean_probability"] for r in rows], [r["observed_rate"] for r in rows], "o-", label="observed"
    )
    axes.set_xlabel("predicted probability")
    axes.set_ylabel("observed rate of one-sided change")
    axes.set_title(f"{title} (ECE {diagram['ece']:.3f}, {diagram['clips']} clips)", fontsize=9)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
