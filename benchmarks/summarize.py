"""Markdown tables from parface-bench JSON reports (used by run_cpu_reports.sh and the docs).

python benchmarks/summarize.py benchmarks/reports/cpu/*.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _row(report: dict) -> str:
    scenario, stages, throughput = report["scenario"], report["stages"], report["throughput"]
    fraction = report.get("fraction_of_peak")
    depth = stages.get("depth", {}).get("median_ms")
    aligner = report.get("aligner") or {}
    cells = [
        report["model"]["variant"],
        scenario["engine"],
        str(scenario["batch"]),
        str(scenario["threads"]),
        f"{throughput['network_ms_per_face']:.2f}",
        f"{throughput['faces_per_s_network']:.0f}",
        f"{stages['network']['p95_ms']:.2f}",
        f"{depth:.2f}" if depth is not None else "in graph",
        f"{stages['detect']['median_ms']:.2f}" if "detect" in stages else "-",
        f"{stages['end_to_end']['median_ms']:.2f}",
        f"{throughput['faces_per_s_end_to_end']:.0f}",
        f"{aligner['median_ms']:.1f} / {aligner['single_pass']['median_ms']:.1f}" if aligner else "-",
        f"{100 * fraction:.0f} %" if fraction is not None else "-",
        " ".join(str(v) for v in report["machine"].get("load_average_at_start", [])),
    ]
    return "| " + " | ".join(cells) + " |"


def summarize(paths: list[Path]) -> str:
    reports = [json.loads(path.read_text()) for path in sorted(paths)]
    if not reports:
        return "no reports\n"
    first = reports[0]
    peaks = {r["scenario"]["threads"]: r["peak"]["gflops"] for r in reports if r.get("peak")}
    peak_text = ", ".join(
        f"{value:.0f} GFLOP/s on {threads} thread(s)"
        for threads, value in sorted(peaks.items(), key=lambda item: item[0] or 0)
    )
    header = [
        f"Machine: {first['machine']['cpu']}, {first['machine']['logical_cpus']} logical CPUs; measured peak "
        f"(best fp32 matmul): {peak_text or 'not measured'}.",
        f"Models: {first['model']['label']}. Frame: {first['scenario']['image']} "
        f"({first['scenario']['image_size'][0]}x{first['scenario']['image_size'][1]}), "
        f"detector {first['scenario']['detector']}.",
        "",
        "| variant | engine | batch | threads | network ms/face | faces/s (network) | network p95 ms (batch) "
        "| depth head ms (batch) | detect ms | end-to-end ms | faces/s (end to end) "
        "| Aligner.align ms (recrop / one pass) | % of peak | load at start |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + [_row(report) for report in reports]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("reports", nargs="+", type=Path)
    print(summarize(parser.parse_args().reports), end="")


if __name__ == "__main__":
    main()
