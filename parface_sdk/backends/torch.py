"""Landmark backend on PyTorch, from a safetensors checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from parface_sdk.backends.adapter import CropGraphAdapter
from parface_sdk.backends.base import check_crops, warmup_batch
from parface_sdk.errors import BackendUnavailableError, UnsupportedPrecisionError


def _import_torch():
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailableError(
            "the torch backend needs PyTorch: pip install 'parface-sdk[torch]'"
        ) from exc
    return torch


def _check_precision(precision: str) -> str:
    if precision not in ("fp32", "fp16", "bf16"):
        raise UnsupportedPrecisionError(f"unknown precision {precision!r}; choose fp32, fp16 or bf16")
    return precision


class TorchBackend(CropGraphAdapter):
    name = "torch"

    def __init__(
        self, model_path: str | Path, device: str = "cpu", threads: int | None = None, precision: str = "fp32"
    ):
        torch = _import_torch()
        from parface_sdk.nn.checkpoint import load_checkpoint

        if threads:
            torch.set_num_threads(threads)
        self.device = device
        self.precision = _check_precision(precision)
        self._torch = torch
        self._device = torch.device("cuda" if device in ("cuda", "tensorrt") else "cpu")
        if self._device.type == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError("device 'cuda' asked for, but torch sees no CUDA GPU")
        self.net = load_checkpoint(model_path).to(self._device).eval()
        self.spec = self.net.spec

    @classmethod
    def from_module(cls, net, device: str = "cpu", precision: str = "fp32") -> TorchBackend:
        """Wrap an in-memory ParFaceNet (training previews, tests)."""
        self = cls.__new__(cls)
        self._torch = _import_torch()
        self.device = device
        self.precision = _check_precision(precision)
        self._device = self._torch.device("cuda" if device == "cuda" else "cpu")
        self.net = net.to(self._device).eval()
        self.spec = net.spec
        return self

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        crops = check_crops(crops, self.spec)
        torch = self._torch
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)
        with (
            torch.inference_mode(),
            torch.autocast(self._device.type, dtype=dtype, enabled=dtype is not None),
        ):
            landmarks, confidence = self.net(torch.from_numpy(crops).to(self._device))
        return (
            landmarks.float().cpu().numpy().astype(np.float32),
            confidence.float().cpu().numpy().astype(np.float32),
        )

    def warmup(self, batch_size: int = 1) -> None:
        self.run(warmup_batch(self.spec, batch_size))

    def close(self) -> None:
        self.net = None
