"""PyTorch with the crop on the device: the GPU path a CUDA machine runs without TensorRT.

Each image goes to the device once, as uint8 (through pinned memory on CUDA); every face is
cropped there with ``torch.nn.functional.grid_sample`` (bilinear, zero padding, the same
image->crop affines as :mod:`parface_sdk.crop`), the faces of all images run through the network
in batches, the landmarks are mapped back to image pixels on the device, and only the landmarks
and confidences come back. ``precision`` ``fp16`` / ``bf16`` runs the network under autocast.
Picked by ``backend="torch", device="cuda"``; ``backend="torch-frame"`` runs it on the CPU too.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from parface_sdk.backends.adapter import check_faces, empty_output
from parface_sdk.backends.torch import _import_torch
from parface_sdk.errors import BackendUnavailableError, UnsupportedPrecisionError

PRECISIONS = ("fp32", "fp16", "bf16")


class TorchFrameBackend:
    name = "torch-frame"

    def __init__(
        self,
        model_path: str | Path | None,
        device: str = "cpu",
        threads: int | None = None,
        precision: str = "fp32",
        net=None,
        pinned: bool = True,
    ):
        torch = _import_torch()
        self.pinned = pinned  # frames go up through page-locked memory on CUDA
        if precision not in PRECISIONS:
            raise UnsupportedPrecisionError(
                f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}"
            )
        if threads:
            torch.set_num_threads(threads)
        if device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError(
                "device 'cuda' asked for, but torch sees no CUDA GPU "
                "(install a CUDA build of torch, or use device='cpu')"
            )
        if net is None:
            from parface_sdk.nn.checkpoint import load_checkpoint

            net = load_checkpoint(model_path)
        self._torch = torch
        self.device = "cuda" if device == "cuda" else "cpu"
        self._device = torch.device(self.device)
        self.precision = precision
        self.net = net.to(self._device).eval()
        self.spec = net.spec
        size = self.spec.input_size
        grid = torch.arange(size, dtype=torch.float32, device=self._device)
        ys, xs = torch.meshgrid(grid, grid, indexing="ij")
        self._crop_points = torch.stack([xs, ys], 2).reshape(-1, 2)  # (S*S, 2) crop pixels
        self._mean = torch.tensor(self.spec.mean, device=self._device).view(1, 3, 1, 1) * 255.0
        self._std = torch.tensor(self.spec.std, device=self._device).view(1, 3, 1, 1) * 255.0

    @classmethod
    def from_module(cls, net, device: str = "cpu", precision: str = "fp32") -> TorchFrameBackend:
        return cls(None, device=device, precision=precision, net=net)

    def _upload(self, image: np.ndarray):
        """(1, 3, H, W) float32 on the device from an RGB uint8 image sent once as uint8."""
        host = self._torch.from_numpy(np.ascontiguousarray(image))
        if self._device.type == "cuda" and self.pinned:
            host = host.pin_memory()
        frame = host.to(self._device, non_blocking=True)
        return frame.permute(2, 0, 1).unsqueeze(0).float()

    def _crops(self, frame, transforms):
        """(B, 3, S, S) crops in 0..255 of one frame, sampled on the device."""
        torch, size = self._torch, self.spec.input_size
        inverse = torch.linalg.inv(
            torch.cat(
                [
                    transforms,
                    torch.tensor([[[0.0, 0.0, 1.0]]], device=self._device).expand(len(transforms), 1, 3),
                ],
                1,
            )
        )[:, :2]
        points = self._crop_points @ inverse[:, :, :2].transpose(1, 2) + inverse[:, :, 2].unsqueeze(1)
        height, width = frame.shape[2:]
        grid = (points + 0.5) * torch.tensor([2.0 / width, 2.0 / height], device=self._device) - 1.0
        sampled = torch.nn.functional.grid_sample(
            frame, grid.reshape(1, -1, size, 2), mode="bilinear", padding_mode="zeros", align_corners=False
        )
        return sampled.reshape(3, -1, size, size).transpose(0, 1), inverse

    def _lap(self, timings, name: str, began: float) -> float:
        """Add the seconds since ``began`` to ``timings[name]`` (waiting for the GPU only when timed)."""
        if timings is None:
            return began
        if self._device.type == "cuda":
            self._torch.cuda.synchronize()
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - began
        return now

    def infer(self, images, transforms, image_index=None, batch_size: int = 64, timings=None):
        """Landmarks (K, N, 3) image px and confidence (K, N) for the faces of ``images``.

        ``timings``, when given, accumulates seconds per sub-stage as the crop-graph adapter does:
        ``crop`` (upload and ``grid_sample``), ``network``, ``decode`` (map back, copy to the host)."""
        transforms, image_index = check_faces(images, transforms, image_index)
        if not len(transforms):
            return empty_output(self.spec)
        torch = self._torch
        began = time.perf_counter()
        order = np.argsort(image_index, kind="stable")
        affines = torch.from_numpy(transforms[order].astype(np.float32)).to(self._device)
        crops, inverses = [], []
        with torch.inference_mode():
            for owner in np.unique(image_index):
                rows = np.flatnonzero(image_index[order] == owner)
                cropped, inverse = self._crops(self._upload(images[owner]), affines[rows])
                crops.append(cropped)
                inverses.append(inverse)
            crops, inverse = torch.cat(crops), torch.cat(inverses)
            began = self._lap(timings, "crop", began)
            points, scores = [], []
            dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)
            for start in range(0, len(crops), max(1, batch_size)):
                batch = (crops[start : start + batch_size] - self._mean) / self._std
                with torch.autocast(self._device.type, dtype=dtype, enabled=dtype is not None):
                    landmarks, confidence = self.net(batch)
                points.append(landmarks.float())
                scores.append(confidence.float())
            landmarks, confidence = torch.cat(points), torch.cat(scores)
            began = self._lap(timings, "network", began)
            xy = landmarks[:, :, :2] @ inverse[:, :, :2].transpose(1, 2) + inverse[:, :, 2].unsqueeze(1)
            scale = torch.sqrt(torch.abs(torch.linalg.det(affines[:, :, :2])))
            image_points = torch.cat([xy, landmarks[:, :, 2:] / scale.view(-1, 1, 1)], 2)
            out_points, out_confidence = image_points.cpu().numpy(), confidence.cpu().numpy()
        result_points = np.empty_like(out_points)
        result_confidence = np.empty_like(out_confidence)
        result_points[order], result_confidence[order] = out_points, out_confidence
        self._lap(timings, "decode", began)
        return result_points.astype(np.float32), result_confidence.astype(np.float32)

    def warmup(self, batch_size: int = 1) -> None:
        size = self.spec.input_size
        image = np.zeros((2 * size, 2 * size, 3), np.uint8)
        transform = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        self.infer([image], np.repeat(transform[None], batch_size, 0))
        if self._device.type == "cuda":
            self._torch.cuda.synchronize()

    def close(self) -> None:
        self.net = None
