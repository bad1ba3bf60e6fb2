"""The torch device-crop backend (the GPU path), exercised on the CPU against the cv2 crop path."""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch extra is not installed")

from parface_sdk import pipeline  # noqa: E402
from parface_sdk.backends import create_backend  # noqa: E402
from parface_sdk.backends.torch import TorchBackend  # noqa: E402
from parface_sdk.backends.torch_frame import TorchFrameBackend  # noqa: E402
from parface_sdk.errors import BackendUnavailableError  # noqa: E402
from parface_sdk.image import load_image  # noqa: E402

ASTRONAUT = Path(__file__).resolve().parents[2] / "examples" / "data" / "astronaut.jpg"
BOXES = [[176.0, 83.0, 270.0, 180.0], [150.0, 60.0, 300.0, 210.0]]


def test_device_crop_matches_the_cv2_path(tiny_net):
    image = load_image(ASTRONAUT)
    images = [image, np.ascontiguousarray(image[:200, ::-1])]
    batch = pipeline.faces_from_boxes([BOXES, [[40.0, 30.0, 160.0, 150.0]]], tiny_net.spec)
    batch = batch.take([2, 0, 1])  # faces of different images interleaved
    expected, expected_confidence = pipeline.infer(TorchBackend.from_module(tiny_net), images, batch)
    backend = TorchFrameBackend.from_module(tiny_net)
    landmarks, confidence = pipeline.infer(backend, images, batch, batch_size=2)
    assert landmarks.shape == (3, 68, 3) and landmarks.dtype == np.float32
    # cv2 rounds its crop to uint8, grid_sample does not; a seeded net may flip a few arg-maxes.
    assert np.median(np.abs(landmarks - expected)) < 0.05
    assert np.median(np.abs(confidence - expected_confidence)) < 0.01


def test_reduced_precision_runs_close(tiny_net):
    image = load_image(ASTRONAUT)
    batch = pipeline.faces_from_boxes([BOXES], tiny_net.spec)
    full, _ = TorchFrameBackend.from_module(tiny_net).infer([image], batch.transforms)
    half, _ = TorchFrameBackend.from_module(tiny_net, precision="bf16").infer([image], batch.transforms)
    assert np.isfinite(half).all()
    assert np.median(np.abs(half[:, :, :2] - full[:, :, :2])) < 1.0  # bf16 keeps 8 mantissa bits


def test_torch_on_cuda_picks_the_device_crop(tiny_checkpoint):
    assert create_backend(tiny_checkpoint, backend="torch-frame").name == "torch-frame"
    if torch.cuda.is_available():
        assert create_backend(tiny_checkpoint, device="cuda").name == "torch-frame"
    else:
        with pytest.raises(BackendUnavailableError, match="CUDA"):
            create_backend(tiny_checkpoint, device="cuda")
