"""Stage 7 (model v4, not in the paper): train the patch refiner over a frozen ParFace-Net.

    parface-train refine --init parface_sdk/models/parface_light.safetensors \
        --shared ../shared --run-dir /work/runs/refiner --max-minutes 150 [--resume]

The global network (v3) is frozen; only the refiner's cascade steps learn. Faces: the 300-W train
folders (HELEN + AFW + LFPW train, 3DA-2D labels from the BFM fit) and the AFLW large-pose teacher
faces, both without the 5 % validation split (``split_records``). Crops are 256 px with the usual
flip / shift / scale / rotation jitter and ``augment.one_sided_mix`` (one-sided thin-plate mouth,
brow and eyelid changes). Loss: L1 in crop pixels on the refined points after every step
(0.5 for the first, 1 for the last). Validation every ``--validate-every`` steps on the held-out
300-W faces, clean and with a mouth, brow and eyelid change each: ``best.safetensors`` is the
lowest mean NME over those. ``last.safetensors`` + ``last.pt`` (optimiser, step) every few
minutes; ``--resume`` continues from them.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader

from parface_sdk.nn.checkpoint import read_checkpoint_spec, save_checkpoint
from parface_sdk.nn.refiner import RefinedParFaceNet
from parface_sdk.spec import RefinerSpec

INNER = 17


def refined_spec(base_path: Path, size: int, notes: dict):
    base = read_checkpoint_spec(base_path)
    if base.refiner is not None:  # continuing from a refined model (e.g. the shipped v4)
        history = dict(base.training)
        history["refine_continued"] = notes
        return base.model_copy(update={"training": history, "source_sha256": None, "weights_sha256": None})
    ratio = size / base.input_size
    training = dict(base.training)
    training["refine"] = notes
    return base.model_copy(
        update={
            "input_size": size,
            "depth_scale": base.depth_scale * ratio,
            "refiner": RefinerSpec(base_input_size=base.input_size, first_point=INNER),
            "training": training,
            "source_sha256": None,
            "weights_sha256": None,
        }
    )


def _records(shared: Path):
    from parface_training.data.labels import train_records
    from parface_training.data.largepose import largepose_records, split_records

    folders = [shared / "data" / "300w-subset" / "train", shared / "data" / "300w-lfpw" / "train"]
    faces = train_records(folders, convention="3DA-2D", bfm_path=shared / "models" / "bfm_68_landmarks.npz")
    train, validation = split_records(faces, 0.05)
    large_train, _ = split_records(largepose_records(shared / "data" / "aflw-largepose-train"), 0.05)
    return train, large_train, validation


def _dataset_class():
    from parface_training.data.augment import one_sided_mix
    from parface_training.data.datasets import LandmarkDataset

    class RefinerDataset(LandmarkDataset):
        def item(self, image, landmarks, rng=None, edit=None):
            if rng is not None and edit is None:

                def edit(chip, points):
                    return one_sided_mix(chip, points, rng)

            out = super().item(image, landmarks, rng, edit)
            return {"image": out["image"], "landmarks": out["landmarks"]}

    return RefinerDataset


def validation_set(records, spec) -> tuple[torch.Tensor, torch.Tensor]:
    """Clean crops of the held-out faces plus one mouth, brow and eyelid change each (fixed)."""
    from parface_sdk.face_regions import down_direction
    from parface_training.data.augment import expression_warp, eyelid_warp
    from parface_training.data.datasets import LandmarkDataset

    dataset = LandmarkDataset(records, spec)
    images, points = [], []
    for index, (_, landmarks) in enumerate(dataset.records):
        from parface_sdk.image import load_image

        image = load_image(dataset.records[index][0])
        sides = ("right", "left")
        side = sides[index % 2]

        def mouth(chip, pts, side=side):
            return expression_warp(
                chip, pts, None, region="mouth", sides=(side,), shifts=[0.08 * down_direction(pts[:, :2])]
            )

        def brow(chip, pts, side=side):
            return expression_warp(
                chip, pts, None, region="brow", sides=(side,), shifts=[0.08 * down_direction(pts[:, :2])]
            )

        def eye(chip, pts, side=side):
            return eyelid_warp(chip, pts, None, side=side, closure=0.5)

        for edit in (None, mouth, brow, eye):
            item = dataset.item(image, landmarks, None, edit)
            images.append(item["image"])
            points.append(item["landmarks"])
    return torch.stack(images), torch.stack(points)


def nme(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    lo, hi = truth[..., :2].amin(1), truth[..., :2].amax(1)
    norm = ((hi - lo).prod(1)).sqrt()
    return (pred[..., :2] - truth[..., :2]).norm(dim=2).mean(1) / norm


def evaluate(model: RefinedParFaceNet, images, points, batch: int = 32) -> dict:
    model.eval()
    rows_base, rows_ref = [], []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            chunk = images[start : start + batch]
            landmarks, _ = model.global_estimate(chunk)
            refined, _ = model(chunk)
            rows_base.append(nme(landmarks, points[start : start + batch]))
            rows_ref.append(nme(refined, points[start : start + batch]))
    base, ref = torch.cat(rows_base).view(-1, 4), torch.cat(rows_ref).view(-1, 4)
    names = ("clean", "mouth", "brow", "eye")
    out = {f"base_{n}": float(base[:, i].mean()) * 100 for i, n in enumerate(names)}
    out.update({f"refined_{n}": float(ref[:, i].mean()) * 100 for i, n in enumerate(names)})
    out["score"] = float(ref.mean()) * 100
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--init",
        type=Path,
        required=True,
        help="the frozen global model (.safetensors), or a refined model whose refiner training continues",
    )
    parser.add_argument("--shared", type=Path, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--total-steps", type=int, default=12000, help="cosine schedule length")
    parser.add_argument("--max-minutes", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--validate-every", type=int, default=500)
    parser.add_argument("--save-minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run = args.run_dir
    run.mkdir(parents=True, exist_ok=True)
    notes = {
        "stage": "refine",
        "init": args.init.name,
        "data": "300-W train (HELEN+AFW+LFPW train, 3DA-2D) x2 + AFLW large-pose teacher faces, "
        "minus the 5 % validation split",
        "augment": "flip/shift/scale/rotation + one_sided_mix "
        "(thin-plate mouth any direction, brow, eyelid closure)",
        "loss": "L1 crop px on refined points 17-67 after each step (0.5, 1.0)",
    }
    spec = refined_spec(args.init, args.size, notes)
    model = RefinedParFaceNet(spec)
    from safetensors.torch import load_file

    state = {k: v for k, v in load_file(str(args.init)).items() if "discriminator." not in k}
    if read_checkpoint_spec(args.init).refiner is not None:
        model.load_state_dict(state)  # base and refiner steps: training continues from them
    else:
        model.base.load_state_dict(state)
    for parameter in model.base.parameters():
        parameter.requires_grad_(False)
    model.base.eval()  # frozen, BatchNorm statistics included (``train()`` below is on the steps only)
    optimizer = torch.optim.AdamW(model.steps.parameters(), lr=args.lr, weight_decay=1e-4)
    step, best, minutes_before = 0, float("inf"), 0.0
    if args.resume and (run / "last.pt").is_file():
        state = torch.load(run / "last.pt", weights_only=False)
        model.steps.load_state_dict(state["steps"])
        optimizer.load_state_dict(state["optimizer"])
        step, best, minutes_before = state["step"], state["best"], state.get("minutes", 0.0)
        print(f"resumed at step {step} (best {best:.3f})", flush=True)

    train, large, validation = _records(args.shared)
    print(f"faces: 300-W {len(train)}, large-pose {len(large)}, validation {len(validation)}", flush=True)
    Dataset = _dataset_class()
    data_spec = spec.model_copy(update={"heatmap_size": 8})
    parts = [Dataset(train, data_spec, augment=True, seed=args.seed + step)] * 2
    parts.append(Dataset(large, data_spec, augment=True, seed=args.seed + 1 + step))
    loader = DataLoader(
        ConcatDataset(parts), batch_size=args.batch_size, shuffle=True, drop_last=True,
        num_workers=args.workers, persistent_workers=args.workers > 0,
        generator=torch.Generator().manual_seed(args.seed + step),
    )  # fmt: skip
    val_images, val_points = validation_set(validation, data_spec)
    print(f"validation crops: {len(val_images)}", flush=True)
    if step == 0:
        first = evaluate(model, val_images, val_points)
        print("before:", json.dumps(first), flush=True)
        (run / "validation_start.json").write_text(json.dumps(first, indent=1))

    log = (run / "log.csv").open("a", newline="")
    writer = csv.writer(log)
    start = time.time()
    last_save = start
    weights = [0.5] * (len(model.steps) - 1) + [1.0]

    def save(final: bool = False) -> None:
        minutes = minutes_before + (time.time() - start) / 60
        save_checkpoint(model, run / "last.safetensors")
        torch.save(
            {"steps": model.steps.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
             "best": best, "minutes": minutes},
            run / "last.tmp",
        )  # fmt: skip
        (run / "last.tmp").replace(run / "last.pt")

    done = False
    while not done:
        for batch in loader:
            model.steps.train()
            images, truth = batch["image"], batch["landmarks"][:, INNER:, :2]
            with torch.no_grad():
                landmarks, _ = model.global_estimate(images)
                points = landmarks[:, INNER:, :2]
                jitter = (torch.rand(len(points), 1, 1) < 0.5).float() * torch.randn_like(points) * 1.5
                points = points + jitter
            gray = images.mean(dim=1, keepdim=True)
            loss = 0.0
            parts_loss = []
            for weight, refine_step in zip(weights, model.steps):
                points = refine_step(gray, points)
                term = (points - truth).abs().mean()
                parts_loss.append(float(term))
                loss = loss + weight * term
            lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(step / args.total_steps, 1.0))))
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step % 20 == 0:
                elapsed = (time.time() - start) / 60
                writer.writerow(
                    [step, f"{elapsed + minutes_before:.2f}", f"{lr:.2e}", *[f"{p:.4f}" for p in parts_loss]]
                )
                log.flush()
                print(f"step {step} min {elapsed:.1f} lr {lr:.2e} loss {parts_loss}", flush=True)
            if step % args.validate_every == 0:
                result = evaluate(model, val_images, val_points)
                result["step"] = step
                print("validation:", json.dumps(result), flush=True)
                with (run / "validation.jsonl").open("a") as handle:
                    handle.write(json.dumps(result) + "\n")
                if result["score"] < best:
                    best = result["score"]
                    save_checkpoint(model, run / "best.safetensors")
            if time.time() - last_save > args.save_minutes * 60:
                save()
                last_save = time.time()
            if (time.time() - start) / 60 > args.max_minutes or step >= args.total_steps:
                done = True
                break
    save()
    result = evaluate(model, val_images, val_points)
    result["step"] = step
    with (run / "validation.jsonl").open("a") as handle:
        handle.write(json.dumps(result) + "\n")
    if result["score"] < best:
        save_checkpoint(model, run / "best.safetensors")
    print("final:", json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
