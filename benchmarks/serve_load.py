"""Load test of `parface serve`: throughput and latency at 1, 4 and 16 concurrent clients.

Starts a local Ray Serve deployment on 127.0.0.1 (or uses ``--url``), POSTs shared 300-W *train*
images (or ``--folder``) from N client threads, ``--requests`` requests per level, and reports
requests/s, p50 and p99 latency per level. Every answer is checked against the in-process
``Aligner.align`` of the same bytes: same number of faces, landmarks within ``--tolerance`` px
(the server aligns batches of images, whose faces share network calls; the maximum difference is
reported too). Bounded: ``--timeout`` seconds per request, ``--requests`` per level.

    python benchmarks/serve_load.py --images 16 --requests 48 --replicas 1 --max-batch 8 \
        --json benchmarks/reports/serve_load.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("PARFACE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "data"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, data: bytes, timeout: float) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, body, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _compare(answer: dict, expected: dict) -> tuple[bool, float]:
    """(same number of faces, max landmark difference in px)."""
    if len(answer["faces"]) != len(expected["faces"]):
        return False, float("inf")
    diff = 0.0
    for got, want in zip(answer["faces"], expected["faces"]):
        diff = max(diff, float(np.abs(np.array(got["landmarks"]) - np.array(want["landmarks"])).max()))
    return True, diff


def run_level(url, payloads, expected, clients, requests, timeout, tolerance) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    max_diff = 0.0
    lock = threading.Lock()

    def one(k: int) -> None:
        nonlocal max_diff
        name = list(payloads)[k % len(payloads)]
        status, body, seconds = _post(url, payloads[name], timeout)
        with lock:
            latencies.append(seconds)
            if status != 200:
                failures.append(f"{name}: HTTP {status} {body[:200]!r}")
                return
            same, diff = _compare(json.loads(body), expected[name])
            max_diff = max(max_diff, diff)
            if not same or diff > tolerance:
                failures.append(f"{name}: answer differs from the in-process result (max {diff:.3g} px)")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": requests,
        "seconds": round(wall, 3),
        "requests_per_s": round(requests / wall, 2),
        "latency_p50_ms": round(1000 * _percentile(latencies, 50), 1),
        "latency_p99_ms": round(1000 * _percentile(latencies, 99), 1),
        "latency_mean_ms": round(1000 * statistics.fmean(latencies), 1),
        "max_landmark_diff_px": max_diff,
        "answers_equal_in_process": not failures,
        "failures": failures[:10],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=SHARED / "data" / "300w-subset" / "train")
    parser.add_argument("--images", type=int, default=16, help="distinct images sent (cycled)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency level")
    parser.add_argument("--url", default=None, help="an already running `parface serve` (default: start one)")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--batch-wait-ms", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="max landmark difference, px")
    parser.add_argument("--note", default="", help="free text stored in the report (machine load, ...)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from parface_sdk import Aligner, AlignerOptions

    folder = args.folder if args.folder.is_dir() else EXAMPLE
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[
        : args.images
    ]
    payloads = {p.name: p.read_bytes() for p in files}
    with Aligner(None, AlignerOptions(threads=1)) as aligner:
        expected = {name: aligner.align(data).to_dict() for name, data in payloads.items()}

    started_ray, url = None, args.url
    if url is None:
        from parface_sdk.scale.serve import build_app, start

        port = _free_port()
        app = build_app(
            replicas=args.replicas, max_batch=args.max_batch, batch_wait_s=args.batch_wait_ms / 1000
        )
        started_ray = start(app, port=port, replicas=args.replicas)
        url = f"http://127.0.0.1:{port}/"
    try:
        _post(url, next(iter(payloads.values())), args.timeout)  # warm-up
        levels = []
        for clients in args.clients:
            level = run_level(url, payloads, expected, clients, args.requests, args.timeout, args.tolerance)
            print(
                f"{clients:>3} clients: {level['requests_per_s']:7.2f} req/s, "
                f"p50 {level['latency_p50_ms']:.0f} ms, p99 {level['latency_p99_ms']:.0f} ms, "
                f"equal: {level['answers_equal_in_process']}",
                file=sys.stderr,
            )
            levels.append(level)
    finally:
        if started_ray is not None:
            from parface_sdk.scale.serve import stop

            stop(started_ray)
    report = {
        "benchmark": "serve_load",
        "folder": str(folder),
        "images": len(payloads),
        "replicas": args.replicas,
        "max_batch": args.max_batch,
        "batch_wait_ms": args.batch_wait_ms,
        "tolerance_px": args.tolerance,
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "note": args.note,
        "levels": levels,
    }
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0 if all(level["answers_equal_in_process"] for level in levels) else 1


if __name__ == "__main__":
    sys.exit(main())
