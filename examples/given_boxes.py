"""Skip detection: align faces inside boxes you already have (e.g. from your own detector).

python examples/given_boxes.py PHOTO.jpg X0 Y0 X1 Y1 [--model MODEL.onnx]
"""

import argparse

from parface_sdk import Aligner

parser = argparse.ArgumentParser()
parser.add_argument("photo")
parser.add_argument("box", nargs=4, type=float, metavar=("X0", "Y0", "X1", "Y1"))
parser.add_argument("--model", default=None)
args = parser.parse_args()

with Aligner(args.model) as aligner:
    result = aligner.align(args.photo, boxes=[args.box])
face = result.faces[0]
print(f"68 x 3 landmarks, mean confidence {face.confidence.mean():.2f}")
print(result.to_json()[:200], "...")
