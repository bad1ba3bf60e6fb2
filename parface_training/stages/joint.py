"""Stage 6 (after the paper's five): every weight of the landmark path and the depth head.

The paper fine-tunes only E on top of a decoder trained for 100+ epochs on ~600K faces. On this
project's CPU budget the decoder after stages 1-2 is blurry and the frozen-decoder stages plateau
(MODEL_CARD.md has the measured comparison), so a last stage trains E, G's heatmap path, the
transfer layers and the heatmap conv together (adaptive wing loss), and the depth head on the
detached predicted heatmaps and z (MSE on normalised depth), on 300-W plus the AFLW large-pose
faces, with lighting, occlusion and one-sided expression augmentation. A held-out validation split
of the training data (never a test set) is scored every ``validate_every`` steps; the best
checkpoint is kept as ``best.safetensors``.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import ConcatDataset, Dataset

from parface_sdk.image import load_image
from parface_sdk.nn.checkpoint import save_checkpoint
from parface_sdk.nn.softargmax import heatmap_to_crop, soft_argmax
from parface_training.config import JointConfig
from parface_training.data.flip import FLIP_PERM_68
from parface_training.distributed import update
from parface_training.loop import StageRun, run_stage
from parface_training.losses import heatmap_loss
from parface_training.stages.common import adam, data_metadata, prepare_network

logger = logging.getLogger(__name__)


def _sources(config: JointConfig, spec) -> tuple[Dataset, dict[str, Dataset]]:
    """Training dataset and the validation datasets by source name."""
    from parface_training.data import LandmarkDataset
    from parface_training.data.largepose import largepose_records, split_records
    from parface_training.datasets import _records

    fraction = config.validation_fraction
    sources = {"300w": _records(config)}
    if config.largepose_dir:
        sources["aflw_largepose"] = largepose_records(config.largepose_dir, config.teacher_max_nme)
    from parface_training.data.augment import WarpOptions

    warp = WarpOptions(
        probability=config.warp_probability,
        tps=config.warp_tps,
        sigma_scale=config.warp_sigma_scale,
        both_sides=config.warp_both_sides,
        min_shift=config.warp_min_shift,
    )
    train_parts, validation = [], {}
    for name, records in sources.items():
        train, held_out = split_records(records, fraction)
        repeat = config.labeled_repeat if name == "300w" else 1
        train_parts.append(
            LandmarkDataset(train * repeat, spec, augment=config.data.augment, seed=config.seed,
                            extra_augment=config.extra_augment, warp=warp)
        )  # fmt: skip
        if held_out:
            validation[name] = LandmarkDataset(held_out, spec)
    train_set = train_parts[0] if len(train_parts) == 1 else ConcatDataset(train_parts)
    return train_set, validation


def pair_offset_error(predicted_xy: torch.Tensor, landmarks_xy: torch.Tensor) -> torch.Tensor:
    """Mean L1 (px) between predicted and labelled offsets of each point from its mirror partner:
    zero for any error that both sides share, so it weighs only errors that break the relation
    between the sides (one corner dragging the other along)."""
    perm = torch.as_tensor(FLIP_PERM_68)
    return ((predicted_xy - predicted_xy[:, perm]) - (landmarks_xy - landmarks_xy[:, perm])).abs().mean()


def crop_nme(predicted_xy: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
    """Per-face NME: mean point error / sqrt(w * h) of the label box (both in crop pixels)."""
    span = landmarks[..., :2].amax(dim=1) - landmarks[..., :2].amin(dim=1)
    size = torch.sqrt(span[:, 0] * span[:, 1]).clamp_min(1e-6)
    return (predicted_xy - landmarks[..., :2]).norm(dim=2).mean(dim=1) / size


@torch.no_grad()
def validate(net, datasets: dict[str, Dataset], batch_size: int = 32) -> dict[str, float]:
    """NME (%) and mean |depth error| (crop px) per validation source, network in eval mode."""
    was_training = {m: m.training for m in net.modules()}
    net.eval()
    scores: dict[str, float] = {}
    try:
        for name, dataset in datasets.items():
            nmes, depth_errors = [], []
            for start in range(0, len(dataset), batch_size):
                items = [dataset[i] for i in range(start, min(len(dataset), start + batch_size))]
                images = torch.stack([item["image"] for item in items])
                landmarks = torch.stack([item["landmarks"] for item in items])
                points, _ = net(images)
                nmes.append(crop_nme(points[..., :2], landmarks))
                depth_errors.append((points[..., 2] - landmarks[..., 2]).abs().mean(dim=1))
            scores[f"{name}_nme"] = float(torch.cat(nmes).mean()) * 100
            scores[f"{name}_depth_px"] = float(torch.cat(depth_errors).mean())
    finally:
        for module, mode in was_training.items():
            module.train(mode)
    scores["mean_nme"] = float(np.mean([v for k, v in scores.items() if k.endswith("_nme")]))
    return scores


@torch.no_grad()
def asymmetry_response(net, dataset, count: int = 64, percent: float = 6.0) -> dict[str, float]:
    """How far the predicted mouth corner / brow follows a one-sided droop, and how far the other
    side is dragged along: ``<region>_response`` = predicted right-minus-left change / applied
    change (1 is perfect), ``<region>_leak`` = the other side's predicted move / the applied move.

    The droop is the thin-plate warp of the palsy simulation (``expression_warp`` with a fixed
    ``percent`` % IOD straight towards the chin; everything but the drooping corner or brow and the
    lip beside it held), on the first ``count`` faces of a validation split, alternating sides;
    the network runs in eval mode on the plain and the drooped crop of each face.
    """
    from parface_sdk.face_regions import DROOP_POINTS, down_direction
    from parface_training.data.augment import expression_warp

    was_training = {m: m.training for m in net.modules()}
    net.eval()
    scores: dict[str, float] = {}
    try:
        for region in ("mouth", "brow"):
            followed, dragged, applied = [], [], []
            for index in range(min(count, len(dataset))):
                path, points = dataset.records[index]
                image = load_image(path)
                side, other = (("right", "left"), ("left", "right"))[index % 2]
                target, mirror = list(DROOP_POINTS[region, side][0]), list(DROOP_POINTS[region, other][0])

                def edit(chip, crop_points, side=side, region=region):
                    shift = percent / 100.0 * down_direction(crop_points[:, :2])
                    return expression_warp(
                        chip, crop_points, None, region=region, sides=(side,), shifts=[shift]
                    )

                plain = dataset.item(image, points)
                drooped = dataset.item(image, points, edit=edit)
                predicted, _ = net(torch.stack([plain["image"], drooped["image"]]))
                move = (predicted[1, :, 1] - predicted[0, :, 1]).numpy()
                label = (drooped["landmarks"][:, 1] - plain["landmarks"][:, 1]).numpy()
                followed.append(move[target].mean() - move[mirror].mean())
                dragged.append(move[mirror].mean())
                applied.append(label[target].mean() - label[mirror].mean())
            total = float(np.sum(applied))
            scores[f"{region}_response"] = float(np.sum(followed)) / total
            scores[f"{region}_leak"] = float(np.sum(dragged)) / total
    finally:
        for module, mode in was_training.items():
            module.train(mode)
    return scores


class _Validator:
    """Scores the validation split, appends ``val.csv`` and keeps ``best.safetensors``."""

    def __init__(self, config: JointConfig, net, datasets: dict[str, Dataset]) -> None:
        self.config, self.net, self.datasets = config, net, datasets
        self.best_file = config.output_dir / "best.json"
        self.best = json.loads(self.best_file.read_text())["mean_nme"] if self.best_file.is_file() else None

    def __call__(self, step: int, spec) -> dict[str, float]:
        scores = validate(self.net, self.datasets)
        if "300w" in self.datasets:
            scores.update(asymmetry_response(self.net, self.datasets["300w"]))
        out = self.config.output_dir
        out.mkdir(parents=True, exist_ok=True)
        path = out / "val.csv"
        new = not path.is_file()
        with path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["step", *scores])
            writer.writerow([step, *(f"{v:.4f}" for v in scores.values())])
        if self.best is None or scores["mean_nme"] < self.best:
            self.best = scores["mean_nme"]
            training = {**spec.training, "validation": {"step": step, **scores}}
            save_checkpoint(
                self.net, out / "best.safetensors", spec.model_copy(update={"training": training})
            )
            self.best_file.write_text(json.dumps({"step": step, **scores}, indent=1))
        logger.info("validation at step %d: %s", step, " ".join(f"{k}={v:.3f}" for k, v in scores.items()))
        return scores


def _match_statistics(net, dataset: Dataset, count: int = 256) -> None:
    """Train-mode BatchNorm = eval-mode BatchNorm on un-augmented training crops (see
    :func:`parface_training.onnx_import.match_batch_statistics`); a resumed run overwrites it anyway."""
    from parface_training.onnx_import import match_batch_statistics

    parts = getattr(dataset, "datasets", [dataset])
    crops = []
    for part in parts:
        step = max(1, len(part) // (count // len(parts)))
        for index in range(0, len(part), step)[: count // len(parts)]:
            path, points = part.records[index]
            image = load_image(path)
            crops.append(part.item(image, points)["image"])
    match_batch_statistics(net, torch.stack(crops))


def build_joint(config: JointConfig) -> StageRun:
    net = prepare_network(config)
    if config.reset_transfer:
        for layer in net.decoder.transfer:
            layer.reset()
    dataset, validation = _sources(config, net.spec)
    if config.match_batch_statistics:
        _match_statistics(net, dataset)
    net.requires_grad_(True)
    decoder_params = [p for n, p in net.decoder.named_parameters() if not n.startswith("to_image")]
    groups = [
        {"params": decoder_params},
        {"params": list(net.encoder.parameters()), "lr": config.encoder_lr or config.optimizer.lr},
        {"params": list(net.depth_head.parameters())},
    ]
    optimizer = adam(groups, config.optimizer)
    validator = _Validator(config, net, validation) if validation else None
    spec = net.spec
    counter = {"step": 0}

    def step(batch, progress: float) -> dict[str, float]:
        z = net.encoder(batch["image"])
        heatmaps = net.decoder.heatmaps(z)
        loss_heat = heatmap_loss(heatmaps, batch["heatmaps"], config.loss)
        xy, _ = soft_argmax(heatmaps, spec.softargmax_radius)
        xy = heatmap_to_crop(xy, spec.input_size, spec.heatmap_size)
        error = (xy - batch["landmarks"][..., :2]).norm(dim=2).mean()
        depth = net.depth_head(heatmaps.detach(), z.detach())
        loss_depth = F.mse_loss(depth, batch["depth"])
        loss = loss_heat + config.lambda_depth * loss_depth + config.lambda_coord * error
        asym = torch.zeros(())
        if config.lambda_asym > 0:
            asym = pair_offset_error(xy, batch["landmarks"][..., :2])
            loss = loss + config.lambda_asym * asym
        update(optimizer, loss)
        counter["step"] += 1
        if validator is not None and counter["step"] % config.validate_every == 0:
            validator(counter["step"], spec)
        return {
            config.loss: loss_heat.item(),
            "depth_mse": loss_depth.item(),
            "err_px": error.item(),
            "asym_px": asym.item(),
            "depth_px": (depth - batch["depth"]).abs().mean().item() * spec.depth_scale,
        }

    sizes = {name: len(v) for name, v in validation.items()}
    return StageRun(
        config=config,
        net=net,
        spec=spec,
        dataset=dataset,
        step=step,
        optimizers={"joint": optimizer},
        train_modules=[net.encoder, net.decoder, net.depth_head],
        metadata={
            "heatmap_loss": config.loss,
            "joint": {
                "largepose_dir": config.largepose_dir,
                "teacher_max_nme": config.teacher_max_nme,
                "validation_faces": sizes,
                "extra_augment": config.extra_augment,
            },
            **data_metadata(config, dataset),
        },  # fmt: skip
    )


def train_joint(config: JointConfig, resume: bool = False) -> Path:
    """Train stage 6; returns ``run_dir/joint/final.safetensors`` (``best.safetensors`` beside it
    is the checkpoint the validation split chose)."""
    return run_stage(build_joint(config), resume=resume)
