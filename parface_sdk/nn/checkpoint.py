"""Checkpoints: safetensors weights with the ModelSpec JSON in the file's metadata."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from parface_sdk.errors import ModelLoadError, ModelNotFoundError
from parface_sdk.nn.parface_net import ParFaceNet
from parface_sdk.nn.refiner import build_network
from parface_sdk.spec import SPEC_METADATA_KEY, ModelSpec


def save_checkpoint(net: ParFaceNet, path: str | Path, spec: ModelSpec | None = None) -> Path:
    """Write weights and spec atomically (a temporary file renamed into place)."""
    from safetensors.torch import save_file

    spec = spec or net.spec
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: tensor.detach().contiguous().cpu() for name, tensor in net.state_dict().items()}
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        save_file(tensors, temporary, metadata={SPEC_METADATA_KEY: spec.to_json()})
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def read_checkpoint_spec(path: str | Path) -> ModelSpec:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise ModelLoadError(f"{path} is not a readable safetensors checkpoint ({exc})") from exc
    if SPEC_METADATA_KEY not in metadata:
        raise ModelLoadError(f"{path} has no ParFace spec in its metadata; it was not written by parface-sdk")
    return ModelSpec.from_json(metadata[SPEC_METADATA_KEY], source=str(path))


def load_checkpoint(path: str | Path, with_discriminator: bool = False, strict: bool = True) -> ParFaceNet:
    """Build the network its spec describes and load the weights into it."""
    from safetensors.torch import load_file

    spec = read_checkpoint_spec(path)
    net = build_network(spec, with_discriminator=with_discriminator)
    state = load_file(str(path))
    if not with_discriminator:
        state = {k: v for k, v in state.items() if "discriminator." not in k}
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ModelLoadError(f"{path}: weights do not fit the {spec.variant!r} variant ({exc})") from exc
    missing = [k for k in missing if "discriminator." not in k]
    if strict and (missing or unexpected):
        raise ModelLoadError(
            f"{path}: weights do not match the {spec.variant!r} variant "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    return net.eval()


def seeded_model(variant: str = "tiny", seed: int = 0, **spec_overrides) -> ParFaceNet:
    """A randomly initialised network with a fixed seed, for tests and benchmarks only."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        net = ParFaceNet(ModelSpec.for_variant(variant, **spec_overrides))
        # Untrained BatchNorm statistics would make every crop look alike; randomise them.
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.data.uniform_(0.5, 1.5)
    finally:
        torch.random.set_rng_state(generator_state)
    return net.eval()
