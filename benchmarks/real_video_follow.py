"""Do the landmarks follow one side of a real face? Model movement against optical flow on real
footage (``../shared/data/real-video``, no labels; never copied into the project).

    python benchmarks/real_video_follow.py --out benchmarks/reports/real_video_follow_v4.json \
        [--model MODEL] [--clips liveportrait_d6 liveportrait_d9 liveportrait_d14 liveportrait_d18] \
        [--sheets /work/runs/real_video_sheets]

Every frame is aligned on its own (the default ``Aligner``: detector, both crop passes). Between
consecutive frames, pyramidal Lucas-Kanade flow carries the model's points of frame t into frame
t + 1 (forward-backward error <= 0.5 px, else the pair is skipped for that point). Head motion is
removed from both the flow's and the model's movement with the similarity transform that the
flow gives on rigid points (nose 27-35, eye corners 36, 39, 42, 45), and the non-rigid movement is
summed over the clip in inter-ocular units (|36-45|): one track per side for the mouth corner
(48 / 54), the brow (mean of 17-21 / 22-26) and the upper lid (mean of 37-38 / 43-44).

One-sided events: windows of 4-30 frames where the flow moves one side by >= 4 % IOD and the
other by at most 30 % of that (the largest first, never overlapping, per region). For each event:

- ``follow``: the model's movement of the moving side along the flow's direction, over the flow's
  movement (1 is perfect; the target is >= 0.8);
- ``still_drag``: how far the model moves the side the flow holds still, % IOD (target <= 2 %).

Short-range flow is a reference, not ground truth: it drifts little over a window of <= 1 s but
can slip on a lid that closes over the eye. Contact sheets (the window's first and last frame with
both tracks drawn) hold the footage's pixels, so they go to ``--sheets`` outside the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CLIPS = ["liveportrait_d6", "liveportrait_d9", "liveportrait_d14", "liveportrait_d18"]
RIGID = [27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45]
REGIONS = {
    "mouth": ((48,), (54,)),
    "brow": ((17, 18, 19, 20, 21), (22, 23, 24, 25, 26)),
    "eyelid": ((37, 38), (43, 44)),
}
WINDOWS = (4, 8, 15, 30)
MIN_MOVE, STILL_RATIO = 0.04, 0.3


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    if len(source) < 3:
        return None
    matrix, _ = cv2.estimateAffinePartial2D(
        source.astype(np.float32), target.astype(np.float32), method=cv2.LMEDS
    )
    return matrix


def landmarks_per_frame(video: Path, aligner, max_frames: int | None):
    """(frames as grey images, (T, 68, 2) landmarks of the largest face or NaN)."""
    capture = cv2.VideoCapture(str(video))
    greys, points = [], []
    while max_frames is None or len(greys) < max_frames:
        ok, frame = capture.read()
        if not ok:
            break
        faces = aligner.align(frame, color="BGR").faces
        if faces:
            face = max(faces, key=lambda f: float(np.prod(f.box[2:] - f.box[:2])))
            points.append(face.landmarks[:, :2].astype(np.float64))
        else:
            points.append(np.full((68, 2), np.nan))
        greys.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    capture.release()
    return greys, np.stack(points) if points else np.zeros((0, 68, 2))


def tracks(greys, points):
    """Cumulative non-rigid movement per region side, flow and model: dict -> (T, 2) arrays (IOD)."""
    count = len(greys)
    keys = [(region, side) for region in REGIONS for side in (0, 1)]
    flow = {k: np.zeros((count, 2)) for k in keys}
    model = {k: np.zeros((count, 2)) for k in keys}
    lk = dict(
        winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)
    )
    for t in range(count - 1):
        step_flow = {k: np.zeros(2) for k in keys}
        step_model = {k: np.zeros(2) for k in keys}
        now, then = points[t], points[t + 1]
        if np.isfinite(now).all() and np.isfinite(then).all():
            start = now.astype(np.float32).reshape(-1, 1, 2)
            ahead, ok1, _ = cv2.calcOpticalFlowPyrLK(greys[t], greys[t + 1], start, None, **lk)
            back, ok2, _ = cv2.calcOpticalFlowPyrLK(greys[t + 1], greys[t], ahead, None, **lk)
            good = (
                (ok1.ravel() == 1)
                & (ok2.ravel() == 1)
                & (np.linalg.norm(back - start, axis=2).ravel() <= 0.5)
            )
            ahead = ahead.reshape(-1, 2).astype(np.float64)
            rigid = [i for i in RIGID if good[i]]
            matrix = _similarity(now[rigid], ahead[rigid])
            iod = float(np.linalg.norm(now[45] - now[36]))
            if matrix is not None and iod > 1.0:
                carried = now @ matrix[:, :2].T + matrix[:, 2]  # where rigid head motion takes each point
                for region, sides in REGIONS.items():
                    for side in (0, 1):
                        index = list(sides[side])
                        if not good[index].all():
                            continue
                        step_flow[region, side] = (ahead[index] - carried[index]).mean(axis=0) / iod
                        step_model[region, side] = (then[index] - carried[index]).mean(axis=0) / iod
        for k in keys:
            flow[k][t + 1] = flow[k][t] + step_flow[k]
            model[k][t + 1] = model[k][t] + step_model[k]
    return flow, model


def events(flow, model, region: str, count: int) -> list[dict]:
    candidates = []
    for length in WINDOWS:
        for start in range(0, count - length):
            end = start + length
            moves = [flow[region, side][end] - flow[region, side][start] for side in (0, 1)]
            sizes = [float(np.linalg.norm(m)) for m in moves]
            moving = int(np.argmax(sizes))
            if sizes[moving] >= MIN_MOVE and sizes[1 - moving] <= STILL_RATIO * sizes[moving]:
                candidates.append((sizes[moving], start, end, moving))
    chosen: list[tuple] = []
    for size, start, end, moving in sorted(candidates, reverse=True):
        if all(end <= s or start >= e for _, s, e, _ in chosen):
            chosen.append((size, start, end, moving))
    out = []
    for size, start, end, moving in sorted(chosen, key=lambda c: c[1]):
        direction = (flow[region, moving][end] - flow[region, moving][start]) / size
        model_move = model[region, moving][end] - model[region, moving][start]
        still = model[region, 1 - moving][end] - model[region, 1 - moving][start]
        flow_still = flow[region, 1 - moving][end] - flow[region, 1 - moving][start]
        out.append(
            {
                "start": int(start), "end": int(end), "moving_side": ("image-left", "image-right")[moving],
                "flow_move_pct": 100 * size, "follow": float(model_move @ direction / size),
                "still_drag_pct": 100 * float(np.linalg.norm(still)),
                "flow_still_pct": 100 * float(np.linalg.norm(flow_still)),
            }
        )  # fmt: skip
    return out


def summary(rows: list[dict]) -> dict:
    if not rows:
        return {"events": 0}
    follow = np.array([r["follow"] for r in rows])
    drag = np.array([r["still_drag_pct"] for r in rows])
    return {
        "events": len(rows),
        "follow_median": float(np.median(follow)),
        "follow_mean": float(np.mean(follow)),
        "follow_at_least_0.8": float(np.mean(follow >= 0.8)),
        "still_drag_median_pct": float(np.median(drag)),
        "still_drag_within_2pct": float(np.mean(drag <= 2.0)),
    }


def contact_sheet(video: Path, points, event: dict, region: str, path: Path) -> None:
    capture = cv2.VideoCapture(str(video))
    tiles = []
    for index in (event["start"], event["end"]):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if not ok:
            return
        for x, y in points[index]:
            if np.isfinite(x):
                cv2.circle(frame, (int(round(x)), int(round(y))), 2, (0, 255, 0), -1)
        for i in (p for side in REGIONS[region] for p in side):
            cv2.circle(frame, tuple(int(round(v)) for v in points[index][i]), 4, (0, 0, 255), 1)
        tiles.append(frame)
    capture.release()
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.hstack(tiles))


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    from parface_sdk import Aligner

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--clips", nargs="+", default=CLIPS)
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument(
        "--sheets", type=Path, default=None, help="contact sheets (footage pixels): outside the repo"
    )
    args = parser.parse_args(argv)
    report: dict = {"model": args.model or "shipped default", "method": __doc__.split("\n\n")[2], "clips": {}}
    every: dict[str, list] = {region: [] for region in REGIONS}
    with Aligner(args.model) as aligner:
        for clip in args.clips:
            video = SHARED / "data" / "real-video" / f"{clip}.mp4"
            greys, points = landmarks_per_frame(video, aligner, args.max_frames)
            flow, model = tracks(greys, points)
            entry = {"frames": len(greys), "frames_with_face": int(np.isfinite(points[:, 0, 0]).sum())}
            for region in REGIONS:
                rows = events(flow, model, region, len(greys))
                entry[region] = {"summary": summary(rows), "events": rows}
                every[region] += rows
                if args.sheets is not None:
                    for k, row in enumerate(sorted(rows, key=lambda r: -r["flow_move_pct"])[:3]):
                        contact_sheet(video, points, row, region, args.sheets / f"{clip}_{region}_{k}.jpg")
            report["clips"][clip] = entry
            print(clip, {r: entry[r]["summary"] for r in REGIONS}, flush=True)
    report["all"] = {region: summary(rows) for region, rows in every.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    for region, value in report["all"].items():
        print(region, value)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
