"""``parface-train STAGE --config FILE [--resume] [KEY=VALUE ...]`` and ``parface-train all``.

Examples::

    parface-train autoencoder --config parface_training/recipes/paper-autoencoder.json
    parface-train landmarks --config parface_training/recipes/default-cpu.json optimizer.lr=1e-3 batch_size=8
    parface-train all --config parface_training/recipes/default-cpu.json --resume
    torchrun --nproc_per_node 4 -m parface_training.cli all --config parface_training/recipes/paper.json
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from parface_training.config import STAGES, load_stage_config, pipeline_stages

logger = logging.getLogger("training")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parface-train",
        description="Train ParFace-Net stage by stage (paper sections III and IV-B).",
        epilog="Overrides are dotted KEY=VALUE pairs, e.g. optimizer.lr=1e-3 max_minutes=10.",
    )
    parser.add_argument(
        "stage",
        choices=[*STAGES, "all"],
        help="the stage to train, or 'all' in sequence "
        "('parface-train refine --help': stage 7, the patch refiner)",
    )
    parser.add_argument("--config", required=True, help="a stage recipe, or a pipeline recipe (JSON/YAML)")
    parser.add_argument("--resume", action="store_true", help="continue from the stage's last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bar; log lines instead")
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE recipe overrides, applied to every stage")
    return parser


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["refine"]:
        # Stage 7 (model v4) has its own options: parface-train refine --help
        from parface_training.stages.refine import main as refine_main

        return refine_main(argv[1:])
    args = _parser().parse_intermixed_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = list(args.overrides) + (["progress_bar=false"] if args.quiet else [])
    stages = pipeline_stages(args.config) if args.stage == "all" else [args.stage]
    # Validate every stage's config before spending time on the first one.
    configs = [load_stage_config(stage, args.config, overrides) for stage in stages]

    from parface_training.stages import stage_trainer

    started = time.monotonic()
    path = None
    for config in configs:
        logger.info("=== stage %s -> %s", config.stage, config.output_dir)
        path = stage_trainer(config.stage)(config, args.resume)
        logger.info("=== stage %s finished: %s (%.1f min since start)", config.stage, path,
                    (time.monotonic() - started) / 60)  # fmt: skip
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
