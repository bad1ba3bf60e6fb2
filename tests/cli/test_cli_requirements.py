"""Optional requirements are checked before any work, with one line naming the extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run_without(modules: tuple[str, ...], entry: str, *args: str) -> subprocess.CompletedProcess:
    """Run a console entry point as on an install that lacks ``modules``."""
    code = (
        "import sys\n"
        f"for name in {modules!r}:\n    sys.modules[name] = None\n"
        f"module, function = {entry!r}.split(':')\n"
        "import importlib\n"
        f"sys.exit(getattr(importlib.import_module(module), function)({list(args)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)


def test_analyze_without_matplotlib_fails_before_reading_the_video(tmp_path):
    done = _run_without(
        ("matplotlib",),
        "parface_sdk.cli.main:main",
        "analyze",
        str(tmp_path / "long_video.mp4"),
        "--out",
        str(tmp_path / "out"),
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and 'pip install "parface-sdk[analysis]"' in lines[0], done.stderr
    assert not (tmp_path / "out").exists()


def test_bench_ort_runs_on_the_plain_install():
    """No torch: the shipped ONNX model (the light variant) is benchmarked instead of a seeded one."""
    done = _run_without(
        ("torch", "onnx", "onnxslim", "safetensors"),
        "parface_sdk.cli.bench:main",
        "--engine",
        "ort",
        "--frames",
        "1",
        "--warmup",
        "0",
        "--no-aligner",
        "--quiet",
        "--image",
        str(REPO / "examples" / "data" / "astronaut.jpg"),
    )
    assert done.returncode == 0, done.stderr
    assert "parface_light.onnx" in done.stdout + done.stderr


def test_export_of_an_unknown_seeded_variant_is_one_line(capsys):
    from parface_sdk.cli.main import main

    assert main(["export", "onnx", "seeded:huge"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model variant 'huge'" in err and "seeded:light" in err
