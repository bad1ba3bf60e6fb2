"""Write the golden outputs of the shipped default model (tests/golden/*.json).

Rerun this only when the shipped model changes (``parface_sdk/models/``), never to make a failing
golden test pass after a code change: the golden tests exist to catch numeric drift in the
runtime (image decoding, detection, cropping, backend, decoding), so a runtime refactor must leave
them passing unchanged.

    python tests/golden/make_golden.py            # astronaut + the shared face (if ../shared exists)

Each case pins the options it ran with (``refine``: the ``recrop`` option; detector), so changing
a default does not change what a case measures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from parface_sdk.geometry import read_pts

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "tests"))
from shared_data import SHARED  # noqa: E402  (the one shared-data path, honouring PARFACE_SHARED)

# (name, image path relative to its root, root: "repo" or "shared", .pts for the given box)
FACES = [
    ("astronaut", "examples/data/astronaut.jpg", "repo", None),
    (
        "shared_afw",
        "data/300w-subset/train/afw_1051618982_1.jpg",
        "shared",
        "data/300w-subset/train/afw_1051618982_1.pts",
    ),
]
# The astronaut's box, in image pixels, for the given-box case (it has no annotation).
ASTRONAUT_BOX = [176.0, 83.0, 270.0, 180.0]
CASES = [  # (case name, use the detector, refine)
    ("box", False, False),
    ("box_refine", False, True),
    ("detector", True, True),
]


def face_box(root: str, pts: str | None) -> list[float]:
    if pts is None:
        return ASTRONAUT_BOX
    points = read_pts(SHARED / pts).astype(np.float64)
    return [float(v) for v in (*points.min(0), *points.max(0))]


def image_path(root: str, relative: str) -> Path:
    return (REPO if root == "repo" else SHARED) / relative


def run_case(image: Path, box: list[float] | None, refine: bool) -> dict:
    from parface_sdk import Aligner, AlignerOptions

    with Aligner(None, AlignerOptions(recrop=refine, threads=1)) as aligner:  # the shipped model
        result = aligner.align(image, boxes=None if box is None else [box])
    return {
        "faces": [
            {
                "landmarks": np.round(f.landmarks, 4).tolist(),
                "confidence": np.round(f.confidence, 5).tolist(),
                "box": np.round(f.box, 3).tolist(),
                "score": round(f.score, 5),
            }
            for f in result.faces
        ],
    }


def main() -> int:
    from parface_sdk.models import MANIFEST, default_model_path, sha256_of

    written = 0
    for name, relative, root, pts in FACES:
        image = image_path(root, relative)
        if not image.is_file():
            print(f"skip {name}: {image} not found", file=sys.stderr)
            continue
        box = face_box(root, pts)
        payload = {
            "image": relative,
            "root": root,
            "given_box": box,
            "model_sha256": sha256_of(default_model_path()),
            "manifest": json.loads(MANIFEST.read_text()).get("files", {}).get("onnxruntime", {}).get("file"),
            "cases": {
                case: {
                    "detector": detector,
                    "refine": refine,
                    **run_case(image, None if detector else box, refine),
                }
                for case, detector, refine in CASES
            },
        }
        (GOLDEN / f"{name}.json").write_text(json.dumps(payload, indent=1) + "\n")
        written += 1
        print(f"wrote {GOLDEN / (name + '.json')}")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
