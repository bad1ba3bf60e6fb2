"""The full fuzz run: >= 1,000 seeded cases of bad input, with a JSON summary per category.

    OMP_NUM_THREADS=1 python benchmarks/fuzz_run.py [--seed 0] [--scale 1.0] [--json FILE]

(default FILE: benchmarks/reports/fuzz.json)

The cases and their classification live in tests/fuzz/fuzz_cases.py (the default test run runs a
fast subset of them, tests/fuzz/test_fuzz_fast.py). Categories: corrupt and odd image files and
bytes (PNG headers claiming > 1 Gpx, symlink loops, FIFOs, sockets, /proc/self/mem), arrays of
every dtype / shape / range / colour option, caller boxes and landmarks, option values (Aligner,
AlignerOptions, TrackOptions, detector and model files), timestamps, video files, command-line
options and output folders, outputs on a full disk (a 64 KiB tmpfs) and a read-only mount (both
need root; skipped with the reason otherwise), and SIGTERM / SIGINT to running commands.

Per category the summary counts the cases, typed errors, empty results, successes, tracebacks,
library noise, silent wrong answers, good inputs refused, hangs and cases that left files behind,
and the share of the cases whose right answer is an error that got a typed error or an empty
result. Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fuzz"))

from fuzz_cases import Env, generate, run_case, summarize  # noqa: E402

FULL = {
    "files": 220,
    "arrays": 220,
    "boxes": 180,
    "options": 200,
    "timestamps": 60,
    "videos": 50,
    "cli": 110,
    "outputs": 24,
    "signals": 6,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every category's case count")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "reports" / "fuzz.json")
    args = parser.parse_args(argv)
    # a SIGTERM unwinds like Ctrl-C, so the tmpfs mounts are always undone
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt()))
    counts = {name: max(1, round(count * args.scale)) for name, count in FULL.items()}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="parface-fuzz-") as scratch:
        env = Env(Path(scratch))
        try:
            cases = generate(counts, env, seed=args.seed)
            outcomes = []
            for index, case in enumerate(cases):
                outcomes.append(run_case(case, env))
                if index % 100 == 99:
                    print(f"{index + 1}/{len(cases)} cases", file=sys.stderr, flush=True)
        finally:
            env.close()
        mount_note = env.mount_reason or "tmpfs mounted (64 KiB full disk, read-only mount)"
    summary = summarize(outcomes)
    slowest = max(outcomes, key=lambda o: o.seconds)
    report = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "OMP_NUM_THREADS=1 python benchmarks/fuzz_run.py "
        f"--seed {args.seed} --scale {args.scale:g}",
        "seed": args.seed,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs shared with a training job",
        "seconds": round(time.perf_counter() - started, 1),
        "slowest_case": {"case": slowest.case.name, "seconds": round(slowest.seconds, 1)},
        "mounts": mount_note,
        **summary,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str) + "\n")
    total = summary["total"]
    print(json.dumps(total, indent=1))
    print(f"wrote {args.json}")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
