"""The machine's measured peak: the best rate of a large matrix product on the benchmark's threads.

A square float32 matmul is about the most efficient thing a BLAS (CPU) or cuBLAS (GPU) does, so
its best time over a few repetitions is a practical ceiling for a convolutional network; the
report divides the network's achieved FLOP/s by it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def _best_seconds(call, repeats: int, sync=lambda: None) -> float:
    call()
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def measure_peak(
    device: str = "cpu", threads: int | None = 1, size: int | None = None, repeats: int = 8
) -> dict[str, Any] | None:
    """``{"gflops", "method", ...}``: the best float32 matmul rate on ``device``; None if unmeasurable."""
    try:
        import torch
    except ImportError:
        torch = None
    if device in ("cuda", "tensorrt"):
        if torch is None or not torch.cuda.is_available():
            logger.warning("no torch with CUDA here: the GPU peak is not measured")
            return None
        size = size or 4096
        result: dict[str, Any] = {"device_name": torch.cuda.get_device_name(0)}
        for dtype, key in ((torch.float32, "gflops"), (torch.float16, "gflops_fp16")):
            a = torch.randn(size, size, device="cuda", dtype=dtype)
            seconds = _best_seconds(lambda a=a: a @ a, repeats, torch.cuda.synchronize)
            result[key] = 2 * size**3 / seconds / 1e9
        result["method"] = f"torch CUDA {size}x{size} matmul, fp32 (fp16 in gflops_fp16)"
        return result
    size = size or 1024
    if torch is not None:
        if threads:
            torch.set_num_threads(threads)
        a = torch.randn(size, size)
        seconds = _best_seconds(lambda: a @ a, repeats)
        method = f"torch CPU {size}x{size} fp32 matmul, {torch.get_num_threads()} thread(s)"
    else:
        a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
        seconds = _best_seconds(lambda: a @ a, repeats)
        method = f"numpy {size}x{size} fp32 matmul (BLAS threads as configured)"
    return {"gflops": 2 * size**3 / seconds / 1e9, "method": method}
