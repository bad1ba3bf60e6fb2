"""Packaging: one version, typed, one onnxruntime wheel per extra, TensorRT 10, ruff in CI."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> list[str]:
    return [re.split(r"[\[<>=~!; ]", r, maxsplit=1)[0].lower() for r in requirements]


def test_version_is_written_once(project):
    import parface_sdk

    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "parface_sdk.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", parface_sdk.__version__)


def test_package_is_typed(project):
    assert (REPO / "parface_sdk" / "py.typed").is_file()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["parface_sdk"]


def test_cpu_and_gpu_onnxruntime_never_come_together(project):
    extras = project["project"]["optional-dependencies"]
    assert not {"onnxruntime", "onnxruntime-gpu"} & set(_names(project["project"]["dependencies"]))
    assert "onnxruntime" in _names(extras["cpu"])
    assert "onnxruntime" not in _names(extras["gpu"]) and "onnxruntime-gpu" in _names(extras["gpu"])
    assert "gpu" not in extras["dev"][0]


def test_gpu_extra_pins_tensorrt_10_for_cuda_13(project):
    gpu = {
        name: spec
        for name, spec in zip(
            _names(project["project"]["optional-dependencies"]["gpu"]),
            project["project"]["optional-dependencies"]["gpu"],
        )
    }
    assert "tensorrt" not in gpu  # the meta package follows the newest TensorRT, 11 included
    assert "<11" in gpu["tensorrt-cu13"] and ">=10" in gpu["tensorrt-cu13"]
    assert "<14" in gpu["cuda-python"] and ">=13" in gpu["cuda-python"]
    assert "<1.32" in gpu["onnxruntime-gpu"] and ">=1.27" in gpu["onnxruntime-gpu"]  # CUDA 13 builds


def test_ci_runs_ruff():
    script = (REPO / ".ci" / "run").read_text()
    assert "ruff check ." in script and "ruff format --check ." in script
    assert script.index("ruff check") < script.index("pytest")


def test_training_and_export_install_under_unique_names(project):
    """The folders are named as they import: no package-dir mapping, every package listed."""
    setuptools = project["tool"]["setuptools"]
    assert "package-dir" not in setuptools
    expected = set()
    for folder in ("parface_sdk", "parface_training", "parface_export"):
        for init in (REPO / folder).rglob("__init__.py"):
            expected.add(".".join(init.parent.relative_to(REPO).parts))
    assert set(setuptools["packages"]) == expected
    assert project["project"]["scripts"]["parface-train"] == "parface_training.cli:main"


def _extras_closure(extras: dict, names: list[str]) -> set[str]:
    """The requirement names the extras ``names`` bring, self-references followed."""
    found, todo = set(), list(names)
    while todo:
        for requirement in extras[todo.pop()]:
            name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
            if name == "parface-sdk":
                todo.extend(re.search(r"\[(.*)\]", requirement).group(1).split(","))
            else:
                found.add(name)
    return found


def test_extras_never_resolve_two_onnxruntime_wheels_or_two_opencvs():
    """Static check of pyproject (a `pip install --dry-run --report` takes minutes): `[dev,gpu]`,
    `[dev,cpu]` and every extra bring one onnxruntime wheel at most and no opencv-python beside the
    core's opencv-python-headless; insightface (which requires both) is no extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert "insightface" not in extras
    combinations = [["dev", "gpu"], ["dev", "cpu"], *([name] for name in extras)]
    for names in combinations:
        brought = _extras_closure(extras, names)
        assert not {"onnxruntime", "onnxruntime-gpu"} <= brought, names
        assert not brought & {"opencv-python", "opencv-contrib-python", "insightface"}, names
    assert "onnxruntime-gpu" in _extras_closure(extras, ["dev", "gpu"])
    assert "onnxruntime" in _extras_closure(extras, ["dev", "cpu"])
