"""The benchmark report: latency statistics, the machine, library versions, JSON and a table."""

from __future__ import annotations

import os
import platform
import sys
import time
from importlib import metadata
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

REPORT_SCHEMA = "parface-bench/1"
LIBRARIES = (
    "parface-sdk",
    "numpy",
    "opencv-python-headless",
    "onnxruntime",
    "onnxruntime-gpu",
    "torch",
    "tensorrt",
    "onnx",
)


class StageStats(BaseModel):
    """Latency of one stage over the timed frames, in milliseconds."""

    model_config = ConfigDict(frozen=True)

    median_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    count: int

    @classmethod
    def of(cls, seconds: list[float]) -> StageStats:
        ms = np.asarray(seconds, dtype=np.float64) * 1e3
        return cls(
            median_ms=float(np.median(ms)),
            p95_ms=float(np.percentile(ms, 95)),
            p99_ms=float(np.percentile(ms, 99)),
            mean_ms=float(ms.mean()),
            min_ms=float(ms.min()),
            count=len(ms),
        )


class BenchReport(BaseModel):
    """Everything one ``parface-bench`` run measured; ``model_dump_json`` is the recorded file."""

    model_config = ConfigDict(frozen=True)

    schema_version: str = REPORT_SCHEMA
    created: str
    scenario: dict[str, Any]
    model: dict[str, Any]
    stages: dict[str, StageStats]
    stage_notes: dict[str, str]
    throughput: dict[str, float]
    aligner: dict[str, Any] | None = None
    peak: dict[str, Any] | None = None
    fraction_of_peak: float | None = None
    machine: dict[str, Any]
    versions: dict[str, str]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as handle:
            kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
        return round(kib / (1 << 20), 1)
    except (OSError, StopIteration, ValueError):
        return None


def machine_info(device: str, threads: int | None) -> dict[str, Any]:
    """The machine the numbers belong to, and how busy it was when the run started."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "device": device,
        "threads": threads,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }
    if hasattr(os, "getloadavg"):
        info["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]
    return info


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def render_table(report: BenchReport) -> str:
    """A plain-text table of the report (rich renders it in colour when installed)."""
    rows = [(name, stats) for name, stats in report.stages.items()]
    scenario = report.scenario
    model = report.model
    title = (
        f"parface-bench: {scenario['engine']} on {scenario['device']}, variant {model['variant']} "
        f"({model['label']}), batch {scenario['batch']}, {scenario['frames']} frames"
    )
    lines = [title, f"{'stage':<26}{'median ms':>11}{'p95 ms':>10}{'p99 ms':>10}"]
    lines += [f"{name:<26}{s.median_ms:>11.3f}{s.p95_ms:>10.3f}{s.p99_ms:>10.3f}" for name, s in rows]
    for name, note in report.stage_notes.items():
        lines.append(f"  {name}: {note}")
    throughput = report.throughput
    lines.append(
        f"network: {throughput['network_ms_per_face']:.3f} ms/face, "
        f"{throughput['faces_per_s_network']:.1f} faces/s; end to end "
        f"{throughput['faces_per_s_end_to_end']:.1f} faces/s"
    )
    if report.aligner:
        aligner = report.aligner
        lines.append(
            f"Aligner.align on the {scenario['image_size'][0]}x{scenario['image_size'][1]} frame, "
            f"{aligner['faces']} face(s): median {aligner['median_ms']:.2f} ms, p95 "
            f"{aligner['p95_ms']:.2f} ms (recrop on, the default); one pass (recrop off): "
            f"median {aligner['single_pass']['median_ms']:.2f} ms"
        )
    if report.peak and report.fraction_of_peak is not None:
        lines.append(
            f"model {model['gflops_per_face']:.3f} GFLOP/face; peak {report.peak['gflops']:.1f} "
            f"GFLOP/s ({report.peak['method']}); the network reaches "
            f"{100 * report.fraction_of_peak:.1f} % of it"
        )
    return "\n".join(lines)


def print_table(report: BenchReport) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(render_table(report))
        return
    table = Table(title=render_table(report).splitlines()[0])
    for column in ("stage", "median ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name, s in report.stages.items():
        table.add_row(name, f"{s.median_ms:.3f}", f"{s.p95_ms:.3f}", f"{s.p99_ms:.3f}")
    console = Console(file=sys.stdout)
    console.print(table)
    for line in render_table(report).splitlines()[2 + len(report.stages) :]:
        console.print(line, highlight=False, soft_wrap=True)
