"""Training data: label files, BFM-fitted depth labels, flip, heatmaps and torch datasets.

Names are loaded lazily so that label making (numpy only) does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "LandmarkDataset": "parface_training.data.datasets",
    "UnlabeledDataset": "parface_training.data.datasets",
    "FLIP_PERM_68": "parface_training.data.flip",
    "flip_landmarks": "parface_training.data.flip",
    "render_heatmaps": "parface_training.data.heatmaps",
    "LabelCache": "parface_training.data.labels",
    "labeled_files": "parface_training.data.labels",
    "load_label_cache": "parface_training.data.labels",
    "train_records": "parface_training.data.labels",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'parface_training.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
