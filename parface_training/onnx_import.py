"""Recover a trainable checkpoint from an exported crop-graph ONNX model.

The exporter folds each eval-mode BatchNorm into the convolution before it, so the ONNX file holds
``W' = W * g / s`` and ``b' = beta + (0 - mu) * g / s`` under anonymous names. To train again the
BatchNorm has to come back: the convolution keeps ``W'`` and the BatchNorm is set to the statistics
``(mu, s)`` that ``W' x`` has on real crops, with ``gamma = s`` and ``beta = b' + mu``, which is
the same function in eval mode and nearly the same in train mode (batch statistics close to
``mu, s``). Everything the ONNX graph does not contain (the image head ``decoder.to_image`` and the
critic) keeps its fresh initialisation.

    python -m parface_training.onnx_import MODEL.onnx OUT.safetensors --images DIR [DIR ...]

The result is checked against onnxruntime on the calibration crops; a mismatch is an error.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from parface_sdk.nn.checkpoint import save_checkpoint
from parface_sdk.nn.parface_net import ParFaceNet
from parface_sdk.spec import SPEC_METADATA_KEY, ModelSpec

logger = logging.getLogger(__name__)


def _module_of(node_name: str) -> str:
    """``/encoder/trunk/stages/stages.0/stages.0.0/conv1/Conv`` -> ``encoder.trunk.stages.0.0.conv1``.
    The decoder's heatmap path is called as a method, so its scopes lack the ``decoder`` prefix."""
    parts: list[str] = []
    previous = ""
    for scope in node_name.strip("/").split("/")[:-1]:
        prefix, _, last = scope.rpartition(".")
        parts += [last] if prefix and prefix == previous else scope.split(".")
        previous = scope
    if parts and parts[0] not in ("encoder", "decoder", "depth_head"):
        parts.insert(0, "decoder")
    return ".".join(parts)


def _batchnorm_after(net: ParFaceNet, conv_name: str) -> str | None:
    """The BatchNorm that follows a convolution in this architecture (None for heads)."""
    modules = dict(net.named_modules())
    parent, _, leaf = conv_name.rpartition(".")
    candidates = {"conv1": "bn1", "conv2": "bn2", "conv": "bn", "0": "1"}
    if leaf in candidates:
        name = f"{parent}.{candidates[leaf]}" if parent else candidates[leaf]
        if isinstance(modules.get(name), nn.BatchNorm2d):
            return name
    return None


def import_onnx(path: str | Path, calibration: torch.Tensor) -> ParFaceNet:
    """A ParFaceNet whose eval-mode output equals the ONNX crop graph's on ``calibration``."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    metadata = {p.key: p.value for p in model.metadata_props}
    spec = ModelSpec.from_json(metadata[SPEC_METADATA_KEY], source=str(path))
    net = ParFaceNet(spec).eval()
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    state = net.state_dict()
    for name in list(state):
        if name in weights:
            state[name] = weights[name].to(state[name].dtype).reshape(state[name].shape)
    fused: dict[str, tuple[str, torch.Tensor]] = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights:  # a bias-free Linear, transposed
            name = f"{_module_of(node.name)}.weight"
            state[name] = weights[node.input[1]].T.contiguous()
            continue
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        conv = _module_of(node.name)
        weight = weights[node.input[1]]
        if weight.shape != state[f"{conv}.weight"].shape:
            raise ValueError(f"{path}: {node.name} {tuple(weight.shape)} does not fit {conv}")
        state[f"{conv}.weight"] = weight
        bias = weights[node.input[2]] if len(node.input) > 2 else None
        bn = _batchnorm_after(net, conv)
        if node.input[1] != f"{conv}.weight" and bn is not None and f"{bn}.weight" not in weights:
            fused[bn] = (conv, bias)
        elif bias is not None and f"{conv}.bias" in state:
            state[f"{conv}.bias"] = bias
    # Unfold: the BN gets the statistics of W' x on the calibration crops.
    for bn, (_conv, bias) in fused.items():
        state[f"{bn}.running_mean"].zero_()
        state[f"{bn}.running_var"].fill_(1.0 - net.get_submodule(bn).eps)
        state[f"{bn}.weight"].fill_(1.0)
        state[f"{bn}.bias"] = bias.clone()
    net.load_state_dict(state)
    stats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = []
    for bn in fused:
        conv = net.get_submodule(fused[bn][0])

        def record(module, inputs, output, bn=bn):
            stats[bn] = (output.mean(dim=(0, 2, 3)), output.var(dim=(0, 2, 3)))

        hooks.append(conv.register_forward_hook(record))
    with torch.no_grad():
        reference = net(calibration)
    for hook in hooks:
        hook.remove()
    for bn, (mean, var) in stats.items():
        module = net.get_submodule(bn)
        scale = torch.sqrt(var + module.eps)
        module.running_mean.copy_(mean)
        module.running_var.copy_(var)
        module.weight.data.copy_(scale)
        module.bias.data.copy_(module.bias.data + mean)
    with torch.no_grad():
        after = net(calibration)
    drift = (after[0] - reference[0]).abs().max().item()
    if drift > 1e-2:
        raise ValueError(f"unfolding BatchNorm changed the output by {drift:.4f} px")
    return net


@torch.no_grad()
def match_batch_statistics(net: nn.Module, crops: torch.Tensor) -> None:
    """Re-parametrise every BatchNorm so train mode computes what eval mode computes on ``crops``.

    A network whose BatchNorm running statistics no longer describe its inputs (the v1 model was
    fine-tuned with a frozen, eval-mode decoder) behaves very differently in train mode. For each
    BN with eval-mode input statistics ``(m, v)`` the running statistics become ``(m, v)`` and the
    affine parameters absorb the change, so both modes agree and training starts from the model
    as it is used. One eval pass is enough: each BN's output is unchanged, so its successors see
    the same inputs.
    """
    inputs: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [
        module.register_forward_hook(
            lambda m, i, o: inputs.__setitem__(m, (i[0].mean(dim=(0, 2, 3)), i[0].var(dim=(0, 2, 3))))
        )
        for module in net.modules()
        if isinstance(module, nn.BatchNorm2d)
    ]
    was_training = net.training
    net.eval()
    net(crops)
    for hook in hooks:
        hook.remove()
    for module, (mean, var) in inputs.items():
        old_scale = module.weight / torch.sqrt(module.running_var + module.eps)
        old_shift = module.bias - module.running_mean * old_scale
        new_std = torch.sqrt(var + module.eps)
        module.weight.copy_(old_scale * new_std)
        module.bias.copy_(old_shift + old_scale * mean)
        module.running_mean.copy_(mean)
        module.running_var.copy_(var)
    net.train(was_training)


def _onnx_outputs(path: Path, crops: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: crops})[0]


def main(argv: list[str] | None = None) -> None:
    from parface_training.data import LandmarkDataset
    from parface_training.datasets import image_only_records

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("onnx", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--images", nargs="+", type=Path, required=True, help="labeled train folders")
    parser.add_argument("--count", type=int, default=256)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import onnx

    if not args.onnx.is_file():
        raise SystemExit(f"onnx_import: no ONNX model at {args.onnx}")
    try:
        metadata = {p.key: p.value for p in onnx.load(str(args.onnx)).metadata_props}
    except Exception as exc:  # onnx raises protobuf DecodeError and others for a damaged file
        raise SystemExit(
            f"onnx_import: {args.onnx} is not a loadable ONNX model ({type(exc).__name__})"
        ) from None
    if SPEC_METADATA_KEY not in metadata:
        raise SystemExit(
            f"onnx_import: {args.onnx} has no parface-sdk spec; it was not exported by parface-sdk"
        )
    spec = ModelSpec.from_json(metadata[SPEC_METADATA_KEY])
    if spec.graph != "crop":
        raise SystemExit(f"onnx_import: {args.onnx} is a {spec.graph!r} graph; export the crop graph")
    records = image_only_records(args.images)
    step = max(1, len(records) // args.count)
    dataset = LandmarkDataset(records[::step][: args.count], spec)
    crops = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    net = import_onnx(args.onnx, crops)
    with torch.no_grad():
        ours = net(crops)[0].numpy()
    theirs = _onnx_outputs(args.onnx, crops.numpy())
    error = np.abs(ours - theirs).max()
    logger.info("max |torch - onnxruntime| over %d crops: %.5f px", len(crops), error)
    if error > 0.05:
        raise SystemExit(f"recovered network differs from the ONNX graph by {error:.4f} px")
    save_checkpoint(net, args.out)
    logger.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
