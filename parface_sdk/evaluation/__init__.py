"""`parface-eval`: the paper's evaluation protocol (NME, GTE, AUC/FR at 10 %, yaw bins, CED).

>>> from parface_sdk import Aligner
>>> from parface_sdk.evaluation import load_dataset, evaluate, build_report
>>> dataset = load_dataset("aflw2000-3d-full", "shared/data")          # doctest: +SKIP
>>> with Aligner() as aligner:                                          # doctest: +SKIP
...     runs = evaluate(aligner, dataset, crops=("gt", "detector"))
>>> build_report(runs)["results"]["gt"]["nme"]["mean"]                 # doctest: +SKIP

Importing this package loads numpy only; tqdm, matplotlib and rich load when used.
"""

from __future__ import annotations

from parface_sdk.evaluation.datasets import (
    LOADERS,
    DatasetError,
    EvalDataset,
    Sample,
    combine,
    load_dataset,
)
from parface_sdk.evaluation.metrics import auc, ced, failure_rate, gte, nme, summarize, yaw_bin
from parface_sdk.evaluation.report import build_report, plot_ced, print_table, write_outputs
from parface_sdk.evaluation.runner import CROP_MODES, EvalRun, evaluate

DATASETS = tuple(LOADERS)

__all__ = [
    "CROP_MODES",
    "DATASETS",
    "DatasetError",
    "EvalDataset",
    "EvalRun",
    "Sample",
    "auc",
    "build_report",
    "ced",
    "combine",
    "evaluate",
    "failure_rate",
    "gte",
    "load_dataset",
    "nme",
    "plot_ced",
    "print_table",
    "summarize",
    "write_outputs",
    "yaw_bin",
]
