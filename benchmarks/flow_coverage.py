"""Frames the optical flow loses, and what the fallback to the model's landmarks recovers.

Synthetic clips of near-frontal 300-W train faces (shared data): a still face, a wide symmetric
smile (both mouth corners up 12 % IOD, the case where the flow's appearance check fails most) and a
one-sided 8 % local droop. Each clip is tracked once; the model's landmarks are followed by flow
with ``lost="drop"`` (the old behaviour: frames where the flow lost a decision point are left out)
and ``lost="model"`` (the default: they take the model's landmarks), and the frames used per clip
are counted.

    python benchmarks/flow_coverage.py [--model MODEL] [--people 3]
"""

import argparse
from pathlib import Path

import numpy as np

from parface_sdk import Aligner, AlignerOptions
from parface_sdk.analysis.clip import track_landmarks
from parface_sdk.analysis.flow import flow_landmarks
from parface_sdk.analysis.simulate import load_subjects, make_clip

FPS = 15.0
CLIPS = {
    "still": {},
    "smile 12 %": {"expression": ("smile", 12.0)},
    "local droop 8 %": {"droop": ("mouth", "left", 8.0), "warp": "local"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    subjects = load_subjects([args.shared / "data" / "300w-subset" / "train"], args.people, seed=0)
    print("| clip | frames with a face | used, lost frames dropped | used, lost frames from the model |")
    print("|---|---|---|---|")
    with Aligner(args.model, AlignerOptions(threads=1)) as aligner:
        for name, options in CLIPS.items():
            counts = np.zeros(3, dtype=int)
            for index, subject in enumerate(subjects):
                frames = make_clip(subject, frames=args.frames, fps=FPS, seed=index, **options)
                landmarks, _ = track_landmarks(
                    aligner, [(i / FPS, f) for i, f in enumerate(frames)], fps=FPS, color="BGR"
                )
                found = np.isfinite(landmarks).all(axis=(1, 2))
                counts[0] += int(found.sum())
                for column, lost in ((1, "drop"), (2, "model")):
                    followed, _ = flow_landmarks(frames, landmarks, color="BGR", lost=lost)
                    counts[column] += int(np.isfinite(followed).all(axis=(1, 2)).sum())
            print(f"| {name} ({len(subjects)} clips) | {counts[0]} | {counts[1]} | {counts[2]} |", flush=True)


if __name__ == "__main__":
    main()
