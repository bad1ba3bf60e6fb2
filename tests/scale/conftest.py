"""Scale-out fixtures: a small input folder built from the example photo (no shared data needed),
and a bounded runner for `parface` in a child process (its own Ray, killed as a group on timeout)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASTRONAUT = REPO / "examples" / "data" / "astronaut.jpg"
# Local Ray on 127.0.0.1 only; read when ray is imported, so set before any test imports it.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def _variants():
    import cv2
    import numpy as np

    image = cv2.imread(str(ASTRONAUT))
    yield "astronaut.jpg", None
    yield "flipped.png", cv2.flip(image, 1)
    for scale in (0.5, 0.6, 0.75, 0.9):
        yield f"scaled_{scale}.jpg", cv2.resize(image, None, fx=scale, fy=scale)
    yield "padded.jpg", cv2.copyMakeBorder(image, 80, 80, 80, 80, cv2.BORDER_CONSTANT, value=(40, 40, 40))
    yield "crop.jpg", image[40:480, 60:470]
    yield "darker.jpg", (image * 0.6).astype(np.uint8)
    yield "sub/gray.png", cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    yield "blank.png", np.full((200, 300, 3), 128, np.uint8)  # no face
    yield "broken.jpg", b"not an image"  # fails to decode


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    """12 inputs: 10 views of the example face, a blank image (no face) and a corrupt file."""
    import cv2

    folder = tmp_path_factory.mktemp("scale_inputs")
    for name, image in _variants():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if image is None:
            path.write_bytes(ASTRONAUT.read_bytes())
        elif isinstance(image, bytes):
            path.write_bytes(image)
        else:
            cv2.imwrite(str(path), image)
    return folder


@pytest.fixture(scope="session")
def aligner():
    from parface_sdk import Aligner, AlignerOptions

    with Aligner(None, AlignerOptions(threads=1)) as instance:
        yield instance


def run_parface(args: list[str], timeout: float, env: dict[str, str] | None = None):
    """``python -m parface_sdk.cli.main ARGS`` in its own process group; the whole group (Ray's
    daemons included) is killed if it runs past ``timeout``. Returns the CompletedProcess."""
    child_env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "parface_sdk.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"parface {' '.join(args)} ran past {timeout} s\n{err[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
