"""Count multiply-accumulates of a forward pass with forward hooks (conv, transposed conv, linear)."""

from __future__ import annotations

import torch
from torch import nn


def count_macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    """MACs per sample of ``module(*inputs)`` (inputs with batch size 1 give per-face MACs)."""
    total = 0

    def hook(layer: nn.Module, args: tuple, output: torch.Tensor) -> None:
        nonlocal total
        batch = output.shape[0]
        if isinstance(layer, nn.Conv2d):
            kernel = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels // layer.groups
            total += output.numel() // batch * kernel
        elif isinstance(layer, nn.ConvTranspose2d):
            kernel = layer.kernel_size[0] * layer.kernel_size[1] * layer.out_channels // layer.groups
            total += args[0].numel() // batch * kernel
        elif isinstance(layer, nn.Linear):
            total += output.numel() // batch * layer.in_features

    handles = [
        layer.register_forward_hook(hook)
        for layer in module.modules()
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))
    ]
    try:
        with torch.inference_mode():
            module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total
