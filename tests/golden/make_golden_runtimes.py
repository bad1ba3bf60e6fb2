"""Write the golden outputs of the other runtimes and of the tracker (tests/golden/runtimes.json).

Like make_golden.py, rerun this only when the shipped model changes, never to make a failing
golden test pass after a code change. It pins, on the bundled astronaut photo with its given box:

- ``torch``: the torch backend on the shipped safetensors (crop graph, CPU);
- ``torch_frame``: the torch frame backend (the crop on the device's side) on the same file;
- ``onnx_frame``: the shipped network exported as a frame graph, run by onnxruntime;
- ``tracker``: :class:`FaceTracker` with the default (onnxruntime) model over a short synthetic clip
  of the astronaut shifted by a few pixels per frame (arrays, so no video codec is involved).

    python tests/golden/make_golden_runtimes.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
IMAGE = "examples/data/astronaut.jpg"
ASTRONAUT_BOX = [176.0, 83.0, 270.0, 180.0]
# Per frame: the (dx, dy) shift of the astronaut photo in the tracker clip.
CLIP_SHIFTS = [(0, 0), (0, 0), (2, 1), (2, 1), (6, 3), (30, 10), (30, 10)]


def clip_frames() -> list[np.ndarray]:
    """The tracker clip: BGR frames of the astronaut photo, shifted by ``CLIP_SHIFTS``."""
    import cv2

    image = cv2.imread(str(REPO / IMAGE))
    return [np.roll(image, (dy, dx), axis=(0, 1)) for dx, dy in CLIP_SHIFTS]


def _face(face) -> dict:
    return {
        "landmarks": np.round(face.landmarks, 4).tolist(),
        "confidence": np.round(face.confidence, 5).tolist(),
        "box": np.round(face.box, 3).tolist(),
    }


def run_backend(model: Path | None, backend: str, recrop: bool) -> list[dict]:
    from parface_sdk import Aligner, AlignerOptions

    options = AlignerOptions(backend=backend, threads=1, recrop=recrop)
    with Aligner(model, options) as aligner:
        result = aligner.align(REPO / IMAGE, boxes=[ASTRONAUT_BOX])
    return [_face(f) for f in result.faces]


def export_frame_graph(folder: Path) -> Path:
    import torch

    from parface_export.onnx_export import export_onnx
    from parface_sdk.models import default_model_path
    from parface_sdk.nn.checkpoint import load_checkpoint

    torch.set_num_threads(1)
    net = load_checkpoint(default_model_path("torch"))
    return export_onnx(net, folder / "shipped-frame.onnx", graph="frame")


def run_tracker() -> list[dict]:
    from parface_sdk import Aligner, AlignerOptions
    from parface_sdk.video import FaceTracker

    frames = []
    with Aligner(None, AlignerOptions(threads=1)) as aligner:
        tracker = FaceTracker(aligner, color="BGR")
        for index, frame in enumerate(clip_frames()):
            tracked = tracker.update(frame, index / 25.0)
            frames.append(
                {
                    "detected": tracked.detected,
                    "face": None if tracked.face is None else _face(tracked.face),
                    "landmarks": None
                    if tracked.landmarks is None
                    else np.round(tracked.landmarks, 4).tolist(),
                }
            )
    return frames


def main() -> int:
    from parface_sdk.models import default_model_path, sha256_of

    with tempfile.TemporaryDirectory() as tmp:
        frame_onnx = export_frame_graph(Path(tmp))
        payload = {
            "image": IMAGE,
            "given_box": ASTRONAUT_BOX,
            "model_sha256": sha256_of(default_model_path()),
            "torch_sha256": sha256_of(default_model_path("torch")),
            "clip_shifts": CLIP_SHIFTS,
            "cases": {
                "torch": run_backend(None, "torch", False),
                "torch_recrop": run_backend(None, "torch", True),
                "torch_frame": run_backend(None, "torch-frame", True),
                "onnx_frame": run_backend(frame_onnx, "onnxruntime", True),
            },
            "tracker": run_tracker(),
        }
    (GOLDEN / "runtimes.json").write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {GOLDEN / 'runtimes.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
