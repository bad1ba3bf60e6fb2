"""`parface`: one command with a subcommand per job. Subcommand modules load only when used."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from parface_sdk.cli.common import (
    EXIT_INTERRUPTED,
    OneLineArgumentParser,
    guarded,
    require_extra,
    sigterm_as_interrupt,
)

# subcommand -> module exposing add_parser(subparsers) and run(args) -> int
SUBCOMMANDS = {
    "align": "parface_sdk.cli.align",
    "video": "parface_sdk.cli.video",
    "analyze": "parface_sdk.cli.analyze",
    "eval": "parface_sdk.cli.evaluate",
    "export": "parface_sdk.cli.export",
    "batch": "parface_sdk.cli.batch",
    "serve": "parface_sdk.cli.serve",
}
# subcommand -> (import name -> pip name, extra, purpose): checked before any work starts, so a
# missing package is one line naming the extra, not a failure after a whole video.
REQUIREMENTS = {
    "analyze": ({"matplotlib": "matplotlib"}, "analysis", "parface analyze (its plots)"),
    "batch": ({"ray": "ray[data]", "pyarrow": "pyarrow", "fsspec": "fsspec"}, "ray", "parface batch"),
    "serve": ({"ray": "ray[serve]", "starlette": "starlette"}, "ray", "parface serve"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog="parface", description="3D facial landmarks with ParFace-Net")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in SUBCOMMANDS.items():
        if only is not None and name != only:
            subparsers.add_parser(name, help=f"see `parface {name} --help`", add_help=False)
            continue
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # SIGTERM is Ctrl-C from the first moment (parsing imports the subcommand), not only once the
    # command runs: an early interrupt is one line and exit 130 too, never a traceback.
    with sigterm_as_interrupt():
        try:
            return _main(sys.argv[1:] if argv is None else argv)
        except KeyboardInterrupt:
            print("parface: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


def _main(argv: list[str]) -> int:
    # Load only the chosen subcommand's module, so `parface align` does not import torch.
    chosen = next((arg for arg in argv if arg in SUBCOMMANDS), None)
    args = build_parser(only=chosen).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )

    def command() -> int:
        if args.command in REQUIREMENTS:
            require_extra(*REQUIREMENTS[args.command])
        return args.func(args)

    return guarded(f"parface {args.command}", command)


if __name__ == "__main__":
    sys.exit(main())
