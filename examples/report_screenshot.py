"""Screenshot of ``report.html`` for docs/img/analysis_report.png, from a synthetic clip.

A near-frontal 300-W *train* face (shared data; never the real-video footage), its left mouth
corner lowered by ``--percent`` of the inter-ocular distance during the smile (a thin-plate warp),
is written as an MP4, analysed with ``parface analyze`` (the default model, flow landmarks), and
the report is opened in Debian's chromium through Playwright (no ``playwright install``) and saved
as a PNG of the top of the page.

    python examples/report_screenshot.py [--model MODEL] [--out docs/img/analysis_report.png]
"""

import argparse
import shutil
import tempfile
from pathlib import Path

import cv2

from parface_sdk.analysis.simulate import load_subjects, make_clip
from parface_sdk.cli.main import main as parface

FPS = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
    parser.add_argument("--out", type=Path, default=Path("docs/img/analysis_report.png"))
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--percent", type=float, default=8.0)
    parser.add_argument("--height", type=int, default=1400, help="pixels of the page to keep")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    subject = load_subjects([args.shared / "data" / "300w-subset" / "train"], 1, seed=0)[0]
    frames = make_clip(subject, frames=45, fps=FPS, droop=("mouth", "left", args.percent), task=(1.0, 2.0))
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "synthetic.mp4"
        height, width = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
        for frame in frames:
            writer.write(frame)
        writer.release()
        report = Path(folder) / "report"
        command = ["analyze", str(clip), "--out", str(report), "--no-progress"]
        command += ["--task", "rest=0:1", "--task", "smile=1:2", "--task", "rest_again=2:3"]
        command += ["--model", args.model] if args.model else []
        parface(command)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1100, "height": args.height})
            page.goto((report / "report.html").as_uri())
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
