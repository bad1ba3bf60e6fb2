"""Typed configs of the training stages, read from JSON (or YAML, if PyYAML is installed) recipes.

A recipe is either one stage (``{"stage": "landmarks", ...}``) or a whole pipeline::

    {"run_dir": "...", "common": {... fields shared by every stage ...},
     "stages": {"autoencoder": {...}, "inversion": {...}, ...}}

Each stage writes to ``run_dir/<stage>/`` and, unless ``init_from`` says otherwise, starts from the
previous stage's ``final.safetensors``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

STAGES = ("autoencoder", "inversion", "landmarks", "finetune", "depth", "joint")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OptimizerConfig(_Frozen):
    """Adam; the paper's values by default. ``schedule`` decays the rate over the stage's budget."""

    lr: float = Field(default=2e-5, gt=0)
    betas: tuple[float, float] = (0.0, 0.999)
    weight_decay: float = Field(default=0.0, ge=0)
    schedule: Literal["constant", "cosine"] = "constant"
    min_lr_factor: float = Field(default=0.05, ge=0, le=1)
    warmup_steps: int = Field(default=0, ge=0)


class DataConfig(_Frozen):
    """Where the faces come from. Paths may be relative to the recipe file's folder."""

    # Folders of unlabeled face images (stages 1-2), e.g. the UTKFace chips.
    unlabeled_dirs: tuple[str, ...] = ()
    # Labeled 300-W style folders (image + .pts); stages 3-5, and stages 1-2 as unlabeled faces.
    labeled_dirs: tuple[str, ...] = ()
    use_labeled_images_unlabeled: bool = True
    # The label cache of BFM-fitted depth and 3DA-2D labels (made by parface_training/data/bfm_fit.py).
    label_cache: str | None = None
    # Without a cache, the morphable-model bases to fit the labels on the fly (a few ms per face).
    bfm_path: str | None = None
    label_convention: Literal["3DA-2D", "2D"] = "3DA-2D"
    augment: bool = True
    max_images: int | None = Field(default=None, gt=0)


class StageConfig(_Frozen):
    stage: str
    run_dir: str
    variant: str = "light"
    init_from: str | None = None  # default: run_dir/<previous stage>/final.safetensors
    from_scratch: bool = False  # start from a random network (ablations without stages 1-2, tests)
    seed: int = 0
    batch_size: int = Field(default=16, gt=0)
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, gt=0)
    max_minutes: float | None = Field(default=None, gt=0)
    optimizer: OptimizerConfig = OptimizerConfig()
    data: DataConfig = DataConfig()
    checkpoint_every: int = Field(default=500, gt=0)  # steps
    log_every: int = Field(default=10, gt=0)  # steps per CSV row
    num_workers: int = Field(default=0, ge=0)
    threads: int | None = Field(default=None, gt=0)  # torch.set_num_threads
    progress_bar: bool = True
    notes: str = ""  # free text kept in the checkpoint metadata (e.g. why this lr)

    @property
    def output_dir(self) -> Path:
        return Path(self.run_dir) / self.stage

    @property
    def log_csv(self) -> Path:
        return self.output_dir / "log.csv"

    def initial_checkpoint(self) -> Path | None:
        if self.from_scratch:
            return None
        if self.init_from is not None:
            return Path(self.init_from)
        index = STAGES.index(self.stage)
        if index == 0:
            return None
        return Path(self.run_dir) / STAGES[index - 1] / "final.safetensors"


class AdversarialConfig(StageConfig):
    """Fields of the two stages trained against the WGAN-GP critic D (paper eq. 1 and 3)."""

    lambda_rec: float = Field(default=1.0, ge=0)
    lambda_perc: float = Field(default=1.0, ge=0)
    lambda_adv: float = Field(default=1e-3, ge=0)
    gp_gamma: float = Field(default=10.0, ge=0)
    critic_optimizer: OptimizerConfig = OptimizerConfig()
    # The perceptual network's weights; the file picks the network (training.losses.detect_vgg):
    # a VGG16 .npz of torchvision-layout arrays (features.N.weight / .bias, e.g. the conv0-6 file
    # through conv3_3: layers relu1_2/2_2/3_3) or a torchvision vgg16 / vgg19 .pth (VGG-19, the
    # paper's: relu1_2/2_2/3_3/4_2). A list is an order of preference: the first file that exists
    # is used, and none existing is an error. None: the term is off (or the run stops, if
    # require_perceptual). The checkpoint records the network, layers, file name and SHA-256.
    perceptual_weights: str | tuple[str, ...] | None = None
    require_perceptual: bool = False

    @model_validator(mode="before")
    @classmethod
    def _deprecated_vgg19_weights(cls, values: Any) -> Any:
        """``vgg19_weights`` (the old name, any VGG file now) is read as ``perceptual_weights``."""
        if not isinstance(values, dict) or "vgg19_weights" not in values:
            return values
        values = dict(values)
        old = values.pop("vgg19_weights")
        if old is not None:
            warnings.warn(
                "the recipe field vgg19_weights is deprecated; call it perceptual_weights",
                DeprecationWarning,
                stacklevel=2,
            )
            new = values.get("perceptual_weights")
            if new is not None and new != old:
                raise ValueError("give perceptual_weights or the deprecated vgg19_weights, not both")
            values["perceptual_weights"] = old
        return values

    @property
    def vgg19_weights(self) -> str | tuple[str, ...] | None:
        """Deprecated alias of ``perceptual_weights``."""
        return self.perceptual_weights

    def perceptual_weights_file(self) -> Path | None:
        """The first of ``perceptual_weights`` that exists; None when none is given."""
        if self.perceptual_weights is None:
            return None
        candidates = (
            [self.perceptual_weights] if isinstance(self.perceptual_weights, str) else self.perceptual_weights
        )
        for candidate in candidates:
            if Path(candidate).is_file():
                return Path(candidate)
        raise FileNotFoundError(
            f"none of the perceptual_weights files exists: {', '.join(map(str, candidates))}; give a "
            "VGG16 .npz (features.N arrays) or a torchvision vgg16 / vgg19 .pth, or set perceptual_weights "
            "to null (the perceptual term is then off)"
        )


class AutoencoderConfig(AdversarialConfig):
    """Stage 1: E + G + D. L2 reconstruction for the first ``l2_fraction`` of the budget, then L1."""

    stage: Literal["autoencoder"] = "autoencoder"
    l2_fraction: float = Field(default=0.5, ge=0, le=1)


class InversionConfig(AdversarialConfig):
    """Stage 2: in-domain inversion, G frozen, E and D take turns."""

    stage: Literal["inversion"] = "inversion"
    reconstruction: Literal["l2", "l1"] = "l2"


class LandmarksConfig(StageConfig):
    """Stage 3: E and G frozen; transfer layers + heatmap conv trained on heatmaps."""

    stage: Literal["landmarks"] = "landmarks"
    loss: Literal["awing", "mse"] = "awing"


class FinetuneConfig(StageConfig):
    """Stage 4: E fine-tuned together with the transfer layers and heatmap conv."""

    stage: Literal["finetune"] = "finetune"
    loss: Literal["awing", "mse"] = "awing"
    encoder_lr: float | None = Field(default=None, gt=0)  # default: optimizer.lr


class DepthConfig(StageConfig):
    """Stage 5: depth head on ground-truth heatmaps plus z (from the frozen E), MSE."""

    stage: Literal["depth"] = "depth"
    # The paper trains on ground-truth heatmaps; "predicted" feeds the landmark head's own
    # heatmaps (what the head sees at inference), for when those are far from Gaussians.
    heatmaps: Literal["ground_truth", "predicted"] = "ground_truth"


class JointConfig(StageConfig):
    """Stage 6 (not in the paper): every weight of the landmark path (E, G's heatmap path, the
    transfer layers and the heatmap conv) and the depth head trained together, with extra data
    (AFLW large poses with teacher labels), stronger augmentation and a validation split that
    picks the checkpoint. See MODEL_CARD.md for why the recipe ends with it."""

    stage: Literal["joint"] = "joint"
    loss: Literal["awing", "mse"] = "awing"
    encoder_lr: float | None = Field(default=None, gt=0)  # default: optimizer.lr
    lambda_depth: float = Field(default=1.0, ge=0)
    # L1 on the decoded (soft-argmax) crop coordinates, in crop pixels, next to the heatmap loss.
    lambda_coord: float = Field(default=0.0, ge=0)
    # AFLW large-pose faces (labels.npz with 68-point teacher labels); None: 300-W only.
    largepose_dir: str | None = None
    # Drop teacher labels whose NME against AFLW's human 21 points exceeds this.
    teacher_max_nme: float = Field(default=0.12, gt=0)
    # 300-W faces are repeated this many times per epoch (balances frontal vs large pose).
    labeled_repeat: int = Field(default=1, ge=1)
    extra_augment: bool = True  # lighting, occlusion, one-sided expression warps
    # The one-sided warp of extra_augment (parface_training/data/augment.py WarpOptions; defaults: v2's).
    warp_probability: float = Field(default=0.3, ge=0, le=1)
    warp_tps: float = Field(default=0.0, ge=0, le=1)  # share of thin-plate expression warps
    warp_sigma_scale: tuple[float, float] | None = None
    warp_both_sides: float = Field(default=0.0, ge=0, le=1)
    warp_min_shift: float = Field(default=0.03, ge=0)
    # L1 (crop px) on the right-minus-left offsets of every mirror pair of points (predicted vs
    # labelled): penalises an error shared by both sides, i.e. one side dragging the other along.
    lambda_asym: float = Field(default=0.0, ge=0)
    reset_transfer: bool = False  # re-initialise the transfer layers (weights of the v1 bug)
    # Make train-mode BatchNorm compute what eval mode does before the first step (v1's decoder
    # was fine-tuned in eval mode, so its running statistics no longer match its inputs).
    match_batch_statistics: bool = True
    validation_fraction: float = Field(default=0.05, ge=0, lt=1)
    validate_every: int = Field(default=500, gt=0)  # steps


CONFIG_CLASSES: dict[str, type[StageConfig]] = {
    "autoencoder": AutoencoderConfig,
    "inversion": InversionConfig,
    "landmarks": LandmarksConfig,
    "finetune": FinetuneConfig,
    "depth": DepthConfig,
    "joint": JointConfig,
}


# --------------------------------------------------------------------------- reading recipes


def read_recipe(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError(
                f"{path} is YAML but PyYAML is not installed; `pip install pyyaml` or use a JSON recipe"
            ) from None
        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a recipe must be a mapping")
    return data


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["optimizer.lr=1e-3", "batch_size=8"]`` -> nested dict; values parsed as JSON when they can be."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not KEY=VALUE (e.g. optimizer.lr=1e-3)")
        key, raw = item.split("=", 1)
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _resolve_paths(section: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative data paths in a recipe are relative to the recipe's folder."""

    def fix(value: str | None) -> str | None:
        if value is None or Path(value).is_absolute():
            return value
        return str((base / value).resolve())

    section = dict(section)
    for key in ("run_dir", "init_from", "vgg19_weights", "perceptual_weights", "largepose_dir"):
        if key in section:
            value = section[key]
            section[key] = [fix(v) for v in value] if isinstance(value, (list, tuple)) else fix(value)
    if "data" in section:
        data = dict(section["data"])
        for key in ("unlabeled_dirs", "labeled_dirs"):
            if key in data:
                data[key] = [fix(v) for v in data[key]]
        for key in ("label_cache", "bfm_path"):
            if key in data:
                data[key] = fix(data[key])
        section["data"] = data
    return section


def stage_config(
    stage: str, recipe: dict[str, Any], base_dir: Path = Path("."), overrides: dict | None = None
) -> StageConfig:
    """The validated config of ``stage`` from a stage recipe or a pipeline recipe."""
    if stage not in CONFIG_CLASSES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    if "stages" in recipe:
        values = _deep_merge(recipe.get("common", {}), recipe["stages"].get(stage, {}))
        if "run_dir" in recipe:
            values.setdefault("run_dir", recipe["run_dir"])
    else:
        if recipe.get("stage", stage) != stage:
            raise ValueError(f"the recipe is for stage {recipe['stage']!r}, not {stage!r}")
        values = dict(recipe)
    values["stage"] = stage
    values = _resolve_paths(values, base_dir)
    if overrides:
        values = _deep_merge(values, overrides)
    return CONFIG_CLASSES[stage].model_validate(values)


def load_stage_config(stage: str, path: str | Path, overrides: list[str] | None = None) -> StageConfig:
    recipe = read_recipe(path)
    return stage_config(stage, recipe, Path(path).resolve().parent, parse_overrides(overrides or []))


def pipeline_stages(path: str | Path) -> list[str]:
    """The stages a pipeline recipe lists, in training order (all five for a pipeline file)."""
    recipe = read_recipe(path)
    if "stages" not in recipe:
        raise ValueError(f"{path} is a single-stage recipe; `all` needs a pipeline recipe with 'stages'")
    unknown = set(recipe["stages"]) - set(STAGES)
    if unknown:
        raise ValueError(f"{path}: unknown stages {sorted(unknown)}; stages: {', '.join(STAGES)}")
    return [stage for stage in STAGES if stage in recipe["stages"]]
