"""Training data: label files, BFM-fitted depth labels, flip, heatmaps and torch datasets.

Names are loaded lazily so that label making (numpy only) does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "LandmarkDataset": "training.data.datasets",
    "UnlabeledDataset": "training.data.datasets",
    "FLIP_PERM_68": "training.data.flip",
    "flip_landmarks": "training.data.flip",
    "render_heatmaps": "training.data.heatmaps",
    "LabelCache": "training.data.labels",
    "labeled_files": "training.data.labels",
    "load_label_cache": "training.data.labels",
    "train_records": "training.data.labels",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'training.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
