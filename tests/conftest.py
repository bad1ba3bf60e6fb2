"""Shared fixtures: the shared data folder (skip when absent) and seeded tiny model files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from shared_data import REPO, SHARED  # noqa: E402,F401  (the one shared-data path)


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
    from parface_export.onnx_export import export_onnx

    return export_onnx(tiny_net, tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture(scope="session")
def aflw_sample(shared_dir):
    """One AFLW2000-3D image with its 3D ground truth (68, 3)."""
    import scipy.io

    folder = shared_dir / "data" / "aflw2000-3d-subset"
    image = folder / "image00050.jpg"
    points = scipy.io.loadmat(folder / "image00050.mat")["pt3d_68"].T.astype("float32")
    return image, points


@pytest.fixture(scope="session")
def write_clip():
    """``write_clip(path, bgr_image, count)``: an MP4 of ``count`` frames at 25 fps, the image
    shifted by a pixel on every other frame."""

    def write(path: Path, image, count: int) -> None:
        import cv2
        import numpy as np

        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, image.shape[1::-1])
        for index in range(count):
            writer.write(np.roll(image, index % 2, axis=1))
        writer.release()

    return write


@pytest.fixture()
def video_cli(tiny_onnx):
    """``video_cli(clip, out, box)``: the exit code of ``parface video`` on ``clip`` with the tiny
    model, a fixed face box and an overlay, without a progress bar."""
    from parface_sdk.cli.main import main

    def run(clip: Path, out: Path, box) -> int:
        return main(
            [
                "video",
                str(clip),
                "--out",
                str(out),
                "--model",
                str(tiny_onnx),
                "--box",
                *(str(value) for value in box),
                "--overlay",
                "--no-progress",
            ]
        )

    return run
