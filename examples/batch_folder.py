"""Align a folder of images in batches and write one JSON file per image.

python examples/batch_folder.py FOLDER OUT_DIR [--model MODEL.onnx]
"""

import argparse
from pathlib import Path

from parface_sdk import Aligner, AlignerOptions

parser = argparse.ArgumentParser()
parser.add_argument("folder", type=Path)
parser.add_argument("out", type=Path)
parser.add_argument("--model", default=None)
args = parser.parse_args()

paths = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
args.out.mkdir(parents=True, exist_ok=True)
with Aligner(args.model, AlignerOptions(batch_size=32)) as aligner:
    for start in range(0, len(paths), 8):
        chunk = paths[start : start + 8]
        for path, result in zip(chunk, aligner.align_batch(chunk)):
            (args.out / f"{path.stem}.json").write_text(result.to_json())
            print(f"{path.name}: {len(result.faces)} face(s)")
