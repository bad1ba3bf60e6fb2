"""Align every face of a photo and save an overlay.

python examples/align_photo.py PHOTO.jpg [--model MODEL.onnx] [--out overlay.png]
"""

import argparse

import cv2

from parface_sdk import Aligner
from parface_sdk.draw import draw_result
from parface_sdk.image import load_image

parser = argparse.ArgumentParser()
parser.add_argument("photo")
parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
parser.add_argument("--out", default="overlay.png")
args = parser.parse_args()

with Aligner(args.model) as aligner:
    image = load_image(args.photo)  # RGB
    result = aligner.align(image, color="RGB")

for index, face in enumerate(result.faces):
    nose_x, nose_y, nose_z = face.landmarks[30]
    print(f"face {index}: score {face.score:.2f}, nose tip ({nose_x:.1f}, {nose_y:.1f}, {nose_z:.1f})")
cv2.imwrite(args.out, cv2.cvtColor(draw_result(image, result), cv2.COLOR_RGB2BGR))
print(f"{len(result.faces)} face(s); overlay written to {args.out}")
