"""Shared fixtures: the shared data folder (skip when absent) and seeded tiny model files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PARFACE_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared data folder not found at {SHARED} (set PARFACE_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_net():
    pytest.importorskip("torch", reason="the torch extra is not installed")
    import torch

    torch.set_num_threads(1)
    from parface_sdk.nn.checkpoint import seeded_model

    return seeded_model("tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_net, tmp_path_factory) -> Path:
    from parface_sdk.nn.checkpoint import save_checkpoint

    return save_checkpoint(tiny_net, tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture(scope="session")
def tiny_onnx(tiny_net, tmp_path_factory) -> Path:
    pytest.importorskip("onnx", reason="the export extra is not installed")
    from export.onnx_export import export_onnx

    return export_onnx(tiny_net, tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture(scope="session")
def aflw_sample(shared_dir):
    """One AFLW2000-3D image with its 3D ground truth (68, 3)."""
    import scipy.io

    folder = shared_dir / "data" / "aflw2000-3d-subset"
    image = folder / "image00050.jpg"
    points = scipy.io.loadmat(folder / "image00050.mat")["pt3d_68"].T.astype("float32")
    return image, points
