"""Seeded fuzz cases for parface-sdk and a runner that classifies what each case did.

Every case is generated from ``random.Random(seed)``, so a run is reproducible. A case says what
the right answer is (``expect``):

- ``"error"``: the input is bad: the right answer is a typed error (a ``ParfaceError``; for a
  command line, a documented exit code with one readable line) or an empty result;
- ``"ok"``: the input is fine: it must succeed (an empty face list is fine for a face-less image);
- ``"any"``: either is right (a truncated JPEG may still decode), as long as nothing crashes.

The runner sorts each case into one outcome: ``typed_error``, ``empty_result``, ``ok``,
``traceback`` (an untyped exception, or a command line printing a traceback or "unexpected
error"), ``noisy`` (a command-line error that printed more than our own lines: library noise),
``silent_wrong`` (a bad input accepted, or NaN / absurd numbers in a result), ``false_error``
(a good input refused), ``hang`` (over the time limit); and separately counts ``left_over`` files
(temporary or partial files, or outputs that a failed command must not leave).

Used by ``tests/fuzz/test_fuzz_fast.py`` (a fast subset in the default test run) and
``benchmarks/fuzz_run.py`` (the full run, >= 1,000 cases, JSON summary per category).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
FACE_IMAGE = REPO / "examples" / "data" / "astronaut.jpg"

OUTCOMES = (
    "typed_error",
    "empty_result",
    "ok",
    "traceback",
    "noisy",
    "silent_wrong",
    "false_error",
    "hang",
)
FAILURES = ("traceback", "noisy", "silent_wrong", "false_error", "hang")
LEFT_OVER_PATTERNS = (".pf-", ".partial", ".tmp")


class SilentWrong(Exception):
    """Raised by a case's check: the call returned, but the answer is wrong."""


class CaseTimeout(BaseException):
    """The case ran past its time limit (a hang)."""


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@dataclass
class Case:
    category: str
    name: str
    expect: str  # "error", "ok" or "any"
    action: Callable[[Env], Any]
    check: Callable[[Any], None] | None = None  # raises SilentWrong
    workdir: Path | None = None  # scanned for left-over files afterwards
    forbidden: tuple[Path, ...] = ()  # outputs that must not exist after an error
    timeout: float = 120.0


@dataclass
class Outcome:
    case: Case
    outcome: str
    left_over: list[str] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0


# -- the environment the cases share ----------------------------------------------------------


class Env:
    """Shared state: one Aligner, sample files, scratch folders, an optional tiny tmpfs."""

    def __init__(self, root: Path, heavy: bool = True):
        self.heavy = heavy  # cases that take seconds (torch, ONNX export); off for the fast subset
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        face = cv2.imread(str(FACE_IMAGE))
        # the astronaut photo cut to her face and shrunk: fast to align
        self.face_bgr = np.ascontiguousarray(cv2.resize(face[0:260, 120:380], (200, 200)))
        self.face_rgb = np.ascontiguousarray(self.face_bgr[:, :, ::-1])
        self.face_png = cv2.imencode(".png", self.face_bgr)[1].tobytes()
        self.face_jpg = cv2.imencode(".jpg", self.face_bgr)[1].tobytes()
        self._aligner = None
        self._counter = 0
        self.tmpfs: Path | None = None
        self.readonly: Path | None = None
        self.mount_reason = ""
        self._video: Path | None = None
        self._long_video: Path | None = None
        self._onnx: Path | None = None

    @property
    def aligner(self):
        if self._aligner is None:
            from parface_sdk import Aligner

            self._aligner = Aligner(threads=1)
        return self._aligner

    def fresh(self, name: str = "case") -> Path:
        self._counter += 1
        folder = self.root / f"{name}{self._counter:05d}"
        folder.mkdir(parents=True)
        return folder

    def video(self, frames: int = 6, size: int = 160, name: str = "clip.mp4") -> Path:
        if self._video is not None and frames == 6 and size == 160:
            return self._video
        path = self.root / f"{frames}x{size}_{name}"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (size, size))
        base = cv2.resize(self.face_bgr, (size, size))
        for index in range(frames):
            shift = np.float32([[1, 0, index % 3], [0, 1, 0]])
            writer.write(cv2.warpAffine(base, shift, (size, size), borderMode=cv2.BORDER_REPLICATE))
        writer.release()
        if frames == 6 and size == 160:
            self._video = path
        return path

    def onnx_model(self) -> Path:
        from parface_sdk.models import default_model_path

        return default_model_path("onnxruntime")

    def mount_tmpfs(self) -> None:
        """A 64 KiB tmpfs (a full disk) and a read-only tmpfs, when this process may mount."""
        if self.tmpfs is not None or self.mount_reason:
            return
        full, readonly = self.root / "tmpfs_full", self.root / "tmpfs_ro"
        full.mkdir(exist_ok=True)
        readonly.mkdir(exist_ok=True)
        try:
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)],
                check=True,
                capture_output=True,
                timeout=20,
            )
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(readonly)],
                check=True,
                capture_output=True,
                timeout=20,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self.mount_reason = f"cannot mount a tmpfs here ({exc}); full-disk and read-only cases skipped"
            self.unmount()
            return
        self.tmpfs, self.readonly = full, readonly

    def unmount(self) -> None:
        for folder in (self.root / "tmpfs_full", self.root / "tmpfs_ro"):
            if os.path.ismount(folder):
                subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=20)
        self.tmpfs = self.readonly = None

    def close(self) -> None:
        if self._aligner is not None:
            self._aligner.close()
        self.unmount()


# -- running one case ---------------------------------------------------------------------------


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def expire(signum, frame):
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _empty(result: Any) -> bool:
    from parface_sdk.results import AlignResult

    if isinstance(result, AlignResult):
        return not result.faces
    if isinstance(result, list) and result and all(isinstance(r, AlignResult) for r in result):
        return all(not r.faces for r in result)
    return False


def _our_line(line: str) -> bool:
    """A line the command lines print on purpose (errors, warnings, notes, progress bars)."""
    line = line.strip()
    return (
        not line
        or line.startswith(("parface", "WARNING ", "INFO ", "note:", "wrote ", "report "))
        or "%|" in line
    )


def classify_cli(result: CliResult) -> tuple[str, str]:
    if "Traceback (most recent call last)" in result.err or "unexpected error" in result.err:
        return "traceback", result.err.strip()[-400:]
    noise = [line for line in result.err.splitlines() if not _our_line(line)]
    if result.code == 0:
        return ("noisy", noise[0][:200]) if noise else ("ok", "")
    if result.code not in (1, 2, 3, 130):
        return "traceback", f"undocumented exit code {result.code}: {result.err.strip()[-300:]}"
    if noise:
        return "noisy", noise[0][:200]
    if not any(line.strip() for line in result.err.splitlines()):
        return "traceback", f"exit {result.code} without a word on stderr"
    return "typed_error", result.err.strip().splitlines()[-1][:200]


def left_overs(case: Case) -> list[str]:
    found = []
    if case.workdir is not None and case.workdir.exists():
        for path in case.workdir.rglob("*"):
            if any(pattern in path.name for pattern in LEFT_OVER_PATTERNS):
                found.append(str(path.relative_to(case.workdir)))
    return found


def run_case(case: Case, env: Env) -> Outcome:
    from parface_sdk.errors import ParfaceError

    started = time.perf_counter()
    detail = ""
    try:
        with _time_limit(case.timeout):
            result = case.action(env)
            if isinstance(result, CliResult):
                outcome, detail = classify_cli(result)
                if outcome == "ok" and case.check is not None:
                    case.check(result)
            else:
                outcome = "empty_result" if _empty(result) else "ok"
                if outcome == "ok" and case.check is not None:
                    case.check(result)
    except CaseTimeout:
        outcome, detail = "hang", f"over {case.timeout:g} s"
    except SilentWrong as exc:
        outcome, detail = "silent_wrong", str(exc)[:300]
    except ParfaceError as exc:
        outcome, detail = "typed_error", f"{type(exc).__name__}: {exc}"[:300]
    except Exception as exc:  # noqa: BLE001  the point: anything untyped is a finding
        outcome, detail = "traceback", f"{type(exc).__name__}: {exc}"[:300]
    if case.expect == "error" and outcome == "ok":
        outcome, detail = "silent_wrong", detail or "a bad input was accepted"
    if case.expect == "ok" and outcome == "typed_error":
        outcome = "false_error"
    left = left_overs(case)
    if outcome in ("typed_error", "empty_result", "traceback", "noisy", "hang"):
        left += [str(path) for path in case.forbidden if path.exists()]
    return Outcome(case, outcome, left, detail, time.perf_counter() - started)


def run_cli(argv: list[str], program: str = "parface") -> CliResult:
    """A command line in this process, with descriptors 1 and 2 captured (native noise included)."""
    if program == "parface":
        from parface_sdk.cli.main import main
    else:
        from parface_sdk.cli.bench import main
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    streams = sys.stdout, sys.stderr
    with tempfile.TemporaryFile("w+b") as out, tempfile.TemporaryFile("w+b") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        # Python's own streams too (under pytest they are not descriptors 1 and 2)
        sys.stdout = open(1, "w", closefd=False, buffering=1, errors="replace")  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False, buffering=1, errors="replace")  # noqa: SIM115
        try:
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
        finally:
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        return CliResult(
            int(code or 0), out.read().decode(errors="replace"), err.read().decode(errors="replace")
        )


# -- checks ---------------------------------------------------------------------------------------


def finite_faces(result: Any) -> None:
    """Every landmark, confidence and score finite and in range; landmarks near the image."""
    from parface_sdk.results import AlignResult

    results = result if isinstance(result, list) else [result]
    for item in results:
        if not isinstance(item, AlignResult):
            continue
        for face in item.faces:
            points = np.asarray(face.landmarks)
            if not np.isfinite(points).all():
                raise SilentWrong("landmarks hold NaN or infinity")
            size = max(item.image_width, item.image_height)
            if np.abs(points[:, :2]).max() > 10 * size:
                raise SilentWrong(f"landmarks {np.abs(points).max():.3g} px away from a {size} px image")
            if not 0.0 <= face.score <= 1.0 or not np.isfinite(face.confidence).all():
                raise SilentWrong("score or confidence out of range")


# -- generators -----------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header (with a right CRC) claims ``width`` x ``height`` but holds a few bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def file_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """Corrupt and odd image files and bytes, and paths that cannot be read."""
    cases: list[Case] = []

    def align_path(path: Path) -> Callable[[Env], Any]:
        return lambda e: e.aligner.align(path)

    def align_bytes(data: bytes) -> Callable[[Env], Any]:
        return lambda e: e.aligner.align(data)

    fixed: list[tuple[str, str, Callable[[Path], Path]]] = []

    def write(name: str, data: bytes) -> Callable[[Path], Path]:
        def make(folder: Path) -> Path:
            path = folder / name
            path.write_bytes(data)
            return path

        return make

    def symlink_loop(folder: Path) -> Path:
        (folder / "a.jpg").symlink_to(folder / "b.jpg")
        (folder / "b.jpg").symlink_to(folder / "a.jpg")
        return folder / "a.jpg"

    def dangling(folder: Path) -> Path:
        (folder / "gone.jpg").symlink_to(folder / "nothing-here.jpg")
        return folder / "gone.jpg"

    def fifo(folder: Path) -> Path:
        os.mkfifo(folder / "pipe.jpg")
        return folder / "pipe.jpg"

    def unix_socket(folder: Path) -> Path:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(folder / "s.png"))
        server.close()
        return folder / "s.png"

    def folder_named_jpg(folder: Path) -> Path:
        (folder / "dir.jpg").mkdir()
        return folder / "dir.jpg"

    def under_a_file(folder: Path) -> Path:
        (folder / "file.jpg").write_bytes(env.face_jpg)
        return folder / "file.jpg" / "x.jpg"

    def float_tiff(scale: float) -> Callable[[Path], Path]:
        def make(folder: Path) -> Path:
            path = folder / f"float{scale:g}.tif"
            cv2.imwrite(str(path), env.face_bgr.astype(np.float32) * (scale / 255.0))
            return path

        return make

    def long_name(folder: Path) -> Path:
        path = folder / ("n" * 240 + ".png")
        path.write_bytes(env.face_png)
        return path

    fixed += [
        ("error", "png-claims-2gpx", write("big.png", png_claiming(50000, 50000))),
        ("error", "png-claims-1.1gpx", write("big2.png", png_claiming(33000, 33000))),
        ("error", "png-claims-4gpx-wide", write("wide.png", png_claiming(2_000_000, 2000))),
        ("error", "empty-file", write("empty.jpg", b"")),
        ("error", "text-as-jpg", write("text.jpg", b"hello, not an image\n" * 20)),
        ("error", "symlink-loop", symlink_loop),
        ("error", "dangling-symlink", dangling),
        ("error", "fifo", fifo),
        ("error", "unix-socket", unix_socket),
        ("error", "folder-named-jpg", folder_named_jpg),
        ("error", "path-under-a-file", under_a_file),
        ("error", "missing", lambda folder: folder / "missing.jpg"),
        ("error", "proc-self-mem", lambda folder: Path("/proc/self/mem")),
        ("ok", "float-tiff-0-255", float_tiff(255.0)),
        ("ok", "float-tiff-0-1", float_tiff(1.0)),
        ("ok", "long-name", long_name),
        ("ok", "png", write("face.png", env.face_png)),
        ("ok", "jpg", write("face.jpg", env.face_jpg)),
        (
            "ok",
            "gray-png",
            write(
                "gray.png", cv2.imencode(".png", cv2.cvtColor(env.face_bgr, cv2.COLOR_BGR2GRAY))[1].tobytes()
            ),
        ),
        (
            "ok",
            "png16",
            write("deep.png", cv2.imencode(".png", env.face_bgr.astype(np.uint16) * 257)[1].tobytes()),
        ),
        (
            "ok",
            "rgba-png",
            write(
                "rgba.png", cv2.imencode(".png", cv2.cvtColor(env.face_bgr, cv2.COLOR_BGR2BGRA))[1].tobytes()
            ),
        ),
        ("ok", "tiny-png", write("tiny.png", cv2.imencode(".png", env.face_bgr[:1, :1])[1].tobytes())),
        ("ok", "bmp", write("face.bmp", cv2.imencode(".bmp", env.face_bgr)[1].tobytes())),
    ]
    for expect, name, make in fixed:
        if len(cases) >= count:
            break
        folder = env.fresh("file")
        try:
            path = make(folder)
        except OSError as exc:  # e.g. no unix sockets here
            cases.append(Case("files", f"{name}-skipped", "any", lambda e, x=str(exc): [], workdir=folder))
            continue
        cases.append(Case("files", name, expect, align_path(path), finite_faces, workdir=folder))
        if (
            expect == "error"
            and not str(path).startswith("/proc")
            and path.is_file()
            and path.stat().st_size < 10_000
        ):
            data = path.read_bytes()
            cases.append(Case("files", f"{name}-bytes", expect, align_bytes(data), finite_faces))
    mutations = ("truncate", "flip", "header-only", "random", "zero-head", "splice")
    while len(cases) < count:
        base = rng.choice([env.face_jpg, env.face_png])
        kind = rng.choice(mutations)
        data = bytearray(base)
        expect = "any"
        if kind == "truncate":
            data = data[: rng.randint(0, len(data) - 1)]
            expect = "error" if len(data) < 64 else "any"
        elif kind == "flip":
            for _ in range(rng.randint(1, 40)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == "header-only":
            data = data[: rng.randint(2, 40)]
            expect = "error"
        elif kind == "random":
            data = bytearray(rng.randbytes(rng.randint(1, 5000)))
            expect = "error"
        elif kind == "zero-head":
            data[: rng.randint(4, 64)] = b"\x00" * len(data[: rng.randint(4, 64)])
            expect = "error" if data[:4] == b"\x00\x00\x00\x00" else "any"
        else:  # a PNG header on JPEG data, or the reverse
            other = env.face_png if base is env.face_jpg else env.face_jpg
            data = bytearray(other[: rng.randint(8, 100)]) + data[rng.randint(8, 100) :]
        as_file = rng.random() < 0.5
        name = f"{kind}-{len(cases)}"
        if as_file:
            folder = env.fresh("file")
            path = folder / rng.choice(["x.jpg", "x.png", "x.webp", "x.tif", "x.bmp"])
            path.write_bytes(bytes(data))
            cases.append(Case("files", name, expect, align_path(path), finite_faces, workdir=folder))
        else:
            cases.append(Case("files", name, expect, align_bytes(bytes(data)), finite_faces))
    return cases[:count]


_DTYPES = [
    "uint8",
    "uint16",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
    "bool",
    "complex64",
]
_SHAPES = ["hw", "hw1", "hw2", "hw3", "hw4", "hw5", "0w3", "h0", "flat", "4d", "scalar", "1x1x3", "tall"]
_VALUES = ["unit", "byte", "nan", "inf", "negative", "big"]
_COLORS = [None, "RGB", "bgr", "Rgb", "xyz", "", 3, b"RGB"]


def _array(env: Env, dtype: str, shape: str, values: str) -> np.ndarray:
    face = env.face_rgb.astype(np.float64)  # 0..255
    gray = face.mean(axis=2)
    base = {
        "hw": gray,
        "hw1": gray[:, :, None],
        "hw2": face[:, :, :2],
        "hw3": face,
        "hw4": np.dstack([face, np.full(gray.shape, 255.0)]),
        "hw5": np.dstack([face, face[:, :, :2]]),
        "0w3": face[:0],
        "h0": gray[:, :0],
        "flat": gray.ravel(),
        "4d": face[None],
        "scalar": np.array(7.0),
        "1x1x3": face[:1, :1],
        "tall": np.repeat(gray[:, :1], 3, axis=1).repeat(200, axis=0),
    }[shape]
    array = base / 255.0 if values == "unit" else base.copy()
    if values == "nan" and array.size:
        array.flat[len(array.flat) // 2] = np.nan
    elif values == "inf" and array.size:
        array.flat[0] = np.inf
    elif values == "negative" and array.size:
        array = array - 300.0
    elif values == "big" and array.size:
        array = array * 1000.0
    if dtype == "bool":
        return array > 100
    if np.dtype(dtype).kind in "iu":
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(array, posinf=0, neginf=0).astype(dtype)
    return array.astype(dtype)


def _array_expect(array: np.ndarray, color: Any) -> str:
    """The oracle: which arrays the SDK documents as valid images."""
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or (array.size and (array.min() < 0 or array.max() > 255)):
            return "error"
    elif array.dtype not in (np.uint8, np.uint16):
        return "error"
    shape = array.shape
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (3, 4)) or 0 in shape:
        return "error"
    if color is not None and (not isinstance(color, str) or color.upper() not in ("RGB", "BGR")):
        return "error"
    if len(shape) == 3 and color is None:
        return "error"
    return "ok"


def array_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """Arrays of every dtype, shape, value range and colour option."""
    cases = []
    for index in range(count):
        dtype, shape, values = rng.choice(_DTYPES), rng.choice(_SHAPES), rng.choice(_VALUES)
        if rng.random() < 0.4:  # many valid ones too
            dtype, values = (
                rng.choice(["uint8", "uint16", "float32", "float64"]),
                rng.choice(["unit", "byte"]),
            )
            shape = rng.choice(["hw", "hw1", "hw3", "hw4", "1x1x3", "tall"])
        color = rng.choice(_COLORS)
        try:
            array = _array(env, dtype, shape, values)
        except (ValueError, TypeError):
            continue
        if values == "byte" and array.dtype == np.uint16:
            array = array * 257
        expect = _array_expect(array, color)
        if rng.random() < 0.1 and array.ndim >= 2:
            array = array[::-1, ::2]  # a non-contiguous view
            expect = _array_expect(array, color)
        name = f"{dtype}-{shape}-{values}-{color!r}-{index}"
        cases.append(
            Case(
                "arrays", name, expect, lambda e, a=array, c=color: e.aligner.align(a, color=c), finite_faces
            )
        )
    return cases


def box_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """Caller boxes and landmarks: absurd, non-finite, off the image, misshapen; and valid ones."""
    cases = []
    size = env.face_rgb.shape[0]
    good = np.array([45.0, 50.0, 160.0, 175.0])
    kinds = [
        "valid", "valid", "jitter", "nan", "inf", "1e30", "tiny", "zero", "inverted", "outside",
        "huge", "large-ok", "wrong-shape", "strings", "ragged", "count-mismatch", "empty",
        "lm-valid", "lm-offset", "lm-nan", "lm-point", "lm-scale", "lm-shape",
    ]  # fmt: skip
    for index in range(count):
        kind = rng.choice(kinds)
        expect = "error"
        boxes: Any = None
        if kind in ("valid", "jitter"):
            jitter = rng.uniform(-15, 15) if kind == "jitter" else 0
            boxes = [list(good + jitter)]
            expect = "ok"
        elif kind == "nan":
            box = list(good)
            box[rng.randrange(4)] = math.nan
            boxes = [box]
        elif kind == "inf":
            box = list(good)
            box[rng.randrange(4)] = rng.choice([math.inf, -math.inf, 1e39])
            boxes = [box]
        elif kind == "1e30":
            boxes = (
                [[-1e30, -1e30, 1e30, 1e30]] if rng.random() < 0.5 else [[0, 0, 1e30 * rng.random(), 1e30]]
            )
        elif kind == "tiny":
            x, y = rng.uniform(0, size - 5), rng.uniform(0, size - 5)
            side = rng.uniform(0.01, 3.5)
            boxes = [[x, y, x + side, y + side]]
        elif kind == "zero":
            boxes = [[50, 50, 50, 50]]
        elif kind == "inverted":
            boxes = [[160, 175, 45, 50]]
        elif kind == "outside":
            offset = rng.choice([-1, 1]) * rng.uniform(size + 10, 5000)
            boxes = [list(good + offset)]
        elif kind == "huge":
            side = size * rng.uniform(9, 1e6)
            boxes = [[-side / 2, -side / 2, side / 2, side / 2]]
        elif kind == "large-ok":
            side = size * rng.uniform(1.0, 3.0)
            boxes = [[100 - side / 2, 100 - side / 2, 100 + side / 2, 100 + side / 2]]
            expect = "ok"
        elif kind == "wrong-shape":
            boxes = rng.choice([[1, 2, 3], [[1, 2, 3, 4, 5]], np.zeros((2, 2, 4)), [[[1, 2, 3, 4]]]])
        elif kind == "strings":
            boxes = rng.choice([[["a", "b", "c", "d"]], "0 0 10 10", [[None, 1, 2, 3]]])
        elif kind == "ragged":
            boxes = [[1, 2, 3, 4], [1, 2]]
        elif kind == "count-mismatch":
            cases.append(
                Case(
                    "boxes",
                    f"{kind}-{index}",
                    "error",
                    lambda e: e.aligner.align_batch(
                        [e.face_rgb, e.face_rgb], boxes=[[list(good)]], color="RGB"
                    ),
                )
            )
            continue
        elif kind == "empty":
            boxes, expect = [], "ok"
        if kind.startswith("lm-"):
            points = _reference_landmarks(env)
            if kind == "lm-valid":
                expect = "ok"
            elif kind == "lm-offset":
                points = points.copy()
                points[:, 0] += rng.choice([-1, 1]) * rng.uniform(400, 5000)
                points[:, 1] += rng.uniform(-5000, 5000)
            elif kind == "lm-nan":
                points = points.copy()
                points[rng.randrange(len(points)), rng.randrange(2)] = rng.choice([math.nan, math.inf])
            elif kind == "lm-point":
                points = np.repeat(points[:1], 68, axis=0)
            elif kind == "lm-scale":
                points = points * rng.uniform(1e4, 1e8)
            else:
                points = rng.choice([points[:, :1], points.ravel(), points[:1]])
            cases.append(
                Case(
                    "boxes",
                    f"{kind}-{index}",
                    expect,
                    lambda e, p=points: e.aligner.align_from_landmarks(e.face_rgb, [p], color="RGB"),
                    finite_faces,
                )
            )
            continue
        check = finite_faces if expect == "ok" else _no_face_from_bad_box
        cases.append(
            Case(
                "boxes",
                f"{kind}-{index}",
                expect,
                lambda e, b=boxes: e.aligner.align(e.face_rgb, boxes=b, color="RGB"),
                check,
            )
        )
    return cases


def _no_face_from_bad_box(result: Any) -> None:
    finite_faces(result)
    raise SilentWrong("landmarks returned for an absurd box")


_REFERENCE: dict[int, np.ndarray] = {}


def _reference_landmarks(env: Env) -> np.ndarray:
    if id(env) not in _REFERENCE:
        faces = env.aligner.align(env.face_rgb, color="RGB").faces
        _REFERENCE[id(env)] = np.asarray(faces[0].landmarks if faces else np.zeros((68, 3)) + 100)
    return _REFERENCE[id(env)].copy()


_BAD_ALIGNER_OPTIONS: dict[str, list[Any]] = {
    "backend": ["tensorflow", 3, None, "", "torch2", "auto "],
    "device": ["gpu", "cuda:0", 1, "", None, "metal"],
    "detector": ["mtcnn", 5, "", "blaze face", None],
    "detector_model": ["/nonexistent/model.onnx", 12, "/"],
    "score_threshold": [-0.1, 1.5, math.nan, math.inf, "high", None],
    "max_faces": [0, -1, 1.5, "many", math.nan],
    "batch_size": [0, -3, math.nan, 2.5, "x", None],
    "threads": [0, -1, 1.5, "two", math.inf],
    "precision": ["fp8", "int8", "", 16],
    "min_quality": [-1, 2, math.nan, "x", math.inf],
    "recrop": ["maybe", 2, [], "yes please"],
    "refine": [True],  # not an option (the second crop pass is "recrop")
    "foo": [1],
}
_GOOD_ALIGNER_OPTIONS: list[dict[str, Any]] = [
    {"device": "CPU"},
    {"device": "Cpu", "backend": "ONNXRUNTIME"},
    {"detector": "BlazeFace"},
    {"detector": "blazeface-short-range"},
    {"score_threshold": 0.3, "max_faces": 2},
    {"precision": "FP32", "threads": 1},
    {"min_quality": 0.0},
]
_BAD_TRACK_OPTIONS: dict[str, list[Any]] = {
    "redetect_interval": [-1, 1.5, "often", math.nan],
    "fps": [0, -5, math.nan, math.inf, "30fps"],
    "color": ["xyz", 3, ""],
    "box": [(math.nan, 0, 10, 10), (0, 0, math.inf, 10), (1, 2, 3), "box"],
    "min_confidence": [2, -1, math.nan],
    "relative_confidence": [1.5, math.nan],
    "crop_hold": [-0.1, math.inf],
    "max_frames": [0, -2, 2.5],
    "smoothing": ["kalman", None, 1],
    "min_cutoff": [0, -1, math.nan],
    "beta": [-1, math.inf],
    "bogus": [1],
}


def option_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """Bad (and good) option values of AlignerOptions, Aligner(**options) and TrackOptions, and
    bad model / detector files."""
    from parface_sdk.options import AlignerOptions
    from parface_sdk.video.tracker import TrackOptions

    cases = []
    detector_files = _detector_files(env)
    for index in range(count):
        roll = rng.random()
        if roll < 0.45:
            key = rng.choice(list(_BAD_ALIGNER_OPTIONS))
            value = rng.choice(_BAD_ALIGNER_OPTIONS[key])
            via = rng.choice(["options", "aligner"])
            if via == "options":
                action = lambda e, k=key, v=value: AlignerOptions(**{k: v})  # noqa: E731
            else:
                action = lambda e, k=key, v=value: _make_and_close(**{k: v})  # noqa: E731
            cases.append(Case("options", f"aligner-{via}-{key}={value!r}-{index}", "error", action))
        elif roll < 0.75:
            key = rng.choice(list(_BAD_TRACK_OPTIONS))
            value = rng.choice(_BAD_TRACK_OPTIONS[key])
            cases.append(
                Case(
                    "options",
                    f"track-{key}={value!r}-{index}",
                    "error",
                    lambda e, k=key, v=value: TrackOptions(**{k: v}),
                )
            )
        elif roll < 0.77 and env.heavy:
            cases.append(
                Case("options", f"readme-aligner-backend-torch-{index}", "ok", _torch_aligner, finite_faces)
            )
        elif roll < 0.85:
            values = rng.choice(_GOOD_ALIGNER_OPTIONS)
            cases.append(
                Case("options", f"good-{values}-{index}", "ok", lambda e, v=values: AlignerOptions(**v))
            )
        elif roll < 0.95 and detector_files:
            name, path = rng.choice(detector_files)
            cases.append(
                Case(
                    "options",
                    f"detector-{name}-given-{path.name}-{index}",
                    "error",
                    lambda e, n=name, p=path: _align_with_detector(e, n, p),
                    finite_faces,
                )
            )
        else:
            folder = env.fresh("model")
            bad = rng.choice(["random", "empty", "folder", "missing", "text"])
            path = folder / "model.onnx"
            if bad == "random":
                path.write_bytes(rng.randbytes(rng.randint(1, 4000)))
            elif bad == "empty":
                path.write_bytes(b"")
            elif bad == "folder":
                path.mkdir()
            elif bad == "text":
                path.write_text("not a model")
            cases.append(
                Case("options", f"model-{bad}-{index}", "error", lambda e, p=path: _make_and_close(model=p))
            )
    return cases


def _torch_aligner(env: Env) -> Any:
    """``Aligner(backend="torch")`` as the README writes it (skipped without the torch extra)."""
    import importlib.util

    from parface_sdk import Aligner

    if importlib.util.find_spec("torch") is None:
        return []
    with Aligner(backend="torch", threads=1) as aligner:
        if aligner.quality_threshold is None:
            raise SilentWrong("the shipped torch model lost its quality_threshold")
        return aligner.align(env.face_rgb, color="RGB")


def _make_and_close(model: Any = None, **options: Any) -> Any:
    from parface_sdk import Aligner

    aligner = Aligner(model, **options)
    aligner.close()
    return aligner.options


def _detector_files(env: Env) -> list[tuple[str, Path]]:
    """(detector name, the model file of another detector)."""
    from parface_sdk.detect.blazeface import VARIANTS, WEIGHTS_DIR

    short = WEIGHTS_DIR / VARIANTS["short_range"].file
    back = WEIGHTS_DIR / VARIANTS["back"].file
    pairs = [("scrfd", short), ("scrfd", back), ("blazeface", short), ("blazeface_short_range", back)]
    pairs += [("yunet", short)]
    shared = Path(os.environ.get("PARFACE_SHARED", REPO.parent / "shared")) / "models"
    for name, file in (
        ("scrfd", "face_detection_yunet_2026may.onnx"),
        ("blazeface", "scrfd_500m_bnkps.onnx"),
    ):
        if (shared / file).is_file():
            pairs.append((name, shared / file))
    from parface_sdk.models import default_model_path

    pairs.append(("scrfd", default_model_path("onnxruntime")))  # the landmark model as a detector
    return pairs


def _align_with_detector(env: Env, name: str, path: Path) -> Any:
    from parface_sdk import Aligner

    with Aligner(detector=name, detector_model=path, threads=1) as aligner:
        return aligner.align(env.face_rgb, color="RGB")


_BAD_TIMESTAMPS = [
    math.nan,
    math.inf,
    -math.inf,
    "1.0",
    b"1",
    [1.0],
    True,
    np.float32("nan"),
    1 + 2j,
    object(),
]


def timestamp_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """Frame sequences with NaN, infinite, string, boolean, repeated or backward timestamps; every
    bad one must be a typed error and no later frame may carry NaN landmarks."""
    cases = []
    for index in range(count):
        frames = rng.randint(3, 6)
        times: list[Any] = [round(i * 0.1 + rng.uniform(0, 0.05), 3) for i in range(frames)]
        bad_at: set[int] = set()
        kind = rng.choice(["bad", "bad", "bad", "backward", "repeat", "good", "numpy", "none"])
        if kind == "bad":
            for _ in range(rng.randint(1, 2)):
                position = rng.randrange(frames)
                times[position] = rng.choice(_BAD_TIMESTAMPS)
                bad_at.add(position)
        elif kind == "backward" and frames > 1:
            position = rng.randrange(1, frames)
            times[position] = times[position - 1] - rng.uniform(0.001, 1)
            bad_at.add(position)
        elif kind == "repeat" and frames > 1:
            position = rng.randrange(1, frames)
            times[position] = times[position - 1]
            bad_at.add(position)
        elif kind == "numpy":
            times = [rng.choice([np.float32, np.float64, np.int64])(i) for i in range(frames)]
        elif kind == "none":
            times = [None] * frames
        expect = "error" if bad_at else "ok"
        cases.append(
            Case("timestamps", f"{kind}-{index}", expect, lambda e, t=tuple(times): _track_times(e, list(t)))
        )
    return cases


def _track_times(env: Env, times: list[Any]) -> Any:
    """Feeds every frame (continuing after a typed error, as a caller who catches it would).
    Raises the first typed error at the end; SilentWrong for NaN landmarks or an accepted bad
    timestamp."""
    from parface_sdk.errors import ParfaceError
    from parface_sdk.video.tracker import FaceTracker

    tracker = FaceTracker(env.aligner, redetect_interval=0)
    first_error: ParfaceError | None = None
    accepted_previous: float | None = None
    found = []
    for index, stamp in enumerate(times):
        try:
            tracked = tracker.update(env.face_rgb, stamp, color="RGB")
        except ParfaceError as exc:
            first_error = first_error or exc
            continue
        value = tracked.timestamp
        if not isinstance(value, float) or not math.isfinite(value):
            raise SilentWrong(f"frame {index}: timestamp {stamp!r} accepted as {value!r}")
        if accepted_previous is not None and value <= accepted_previous:
            raise SilentWrong(f"frame {index}: timestamp {value} after {accepted_previous} accepted")
        accepted_previous = value
        if tracked.landmarks is not None:
            if not np.isfinite(tracked.landmarks).all():
                raise SilentWrong(f"frame {index}: NaN landmarks after timestamps {times[: index + 1]}")
            found.append(tracked)
    if first_error is not None:
        raise first_error
    return found


def video_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """Corrupt, truncated, empty and odd video files and folders through ``track``."""
    cases = []
    clip = env.video()
    data = clip.read_bytes()
    for index in range(count):
        kind = rng.choice(
            [
                "valid",
                "truncate",
                "truncate",
                "flip",
                "random",
                "empty",
                "image",
                "text",
                "folder",
                "missing",
                "images-folder",
            ]
        )
        folder = env.fresh("video")
        path = folder / rng.choice(["v.mp4", "v.avi", "v.mov"])
        expect = "any"
        if kind == "valid":
            shutil.copyfile(clip, path)
            expect = "ok"
        elif kind == "truncate":
            path.write_bytes(data[: rng.randint(0, len(data) - 1)])
        elif kind == "flip":
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 200)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            path.write_bytes(bytes(mutated))
        elif kind == "random":
            path.write_bytes(rng.randbytes(rng.randint(1, 20000)))
            expect = "error"
        elif kind == "empty":
            path.write_bytes(b"")
            expect = "error"
        elif kind == "image":
            path.write_bytes(env.face_jpg)
        elif kind == "text":
            path.write_text("not a video\n" * 100)
            expect = "error"
        elif kind == "folder":
            path = folder / "frames"
            path.mkdir()
            expect = "error"
        elif kind == "missing":
            path = folder / "missing.mp4"
            expect = "error"
        else:
            path = folder / "frames"
            path.mkdir()
            for frame in range(3):
                (path / f"{frame:03d}.png").write_bytes(env.face_png)
            expect = "ok"
        cases.append(
            Case(
                "videos",
                f"{kind}-{index}",
                expect,
                lambda e, p=path: _track_file(e, p),
                _finite_track,
                workdir=folder,
            )
        )
    return cases


def _track_file(env: Env, path: Path) -> Any:
    from parface_sdk.video import track

    frames = list(track(env.aligner, path, max_frames=8))
    if not frames:
        raise SilentWrong("a video with no frame gave no error")
    return frames


def _finite_track(frames: Any) -> None:
    for tracked in frames:
        if tracked.landmarks is not None and not np.isfinite(tracked.landmarks).all():
            raise SilentWrong(f"frame {tracked.index}: NaN landmarks")
        if not math.isfinite(tracked.timestamp):
            raise SilentWrong(f"frame {tracked.index}: timestamp {tracked.timestamp}")


# -- command lines ----------------------------------------------------------------------------


def cli_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """Bad option values and output folders of parface align / video / analyze / export and
    parface-bench, run in this process with stderr captured (library noise included)."""
    model = str(env.onnx_model())

    def image(folder: Path) -> str:
        path = folder / "face.png"
        path.write_bytes(env.face_png)
        return str(path)

    def video(folder: Path) -> str:
        path = folder / "clip.mp4"
        shutil.copyfile(env.video(), path)
        return str(path)

    def a_file(folder: Path) -> str:
        path = folder / "a-file"
        path.write_text("x")
        return str(path)

    analyze_bad = {
        "--scale-mm": ["-1", "0", "nan", "inf", "-inf"],
        "--fps": ["0", "nan", "inf", "-2"],
        "--task": [
            "smile=nan:nan",
            "smile=3:1",
            "=1:2",
            "smile",
            "smile=a:b",
            "smile=-1:2",
            "smile=inf:5",
            "x=1:nan",
        ],
        "--max-frames": ["0", "-1"],
        "--redetect-interval": ["-5"],
        "--min-confidence": ["2", "nan", "-0.5"],
        "--device": ["gpu", "cuda:7"],
        "--backend": ["tensorflow"],
        "--detector": ["mtcnn"],
    }
    video_bad = {
        "--max-frames": ["0", "-3"],
        "--redetect-interval": ["-1"],
        "--min-confidence": ["1.5", "nan"],
        "--device": ["GPU0"],
        "--detector-model": ["/nonexistent.onnx"],
    }
    export_bad = [
        (["onnx", "seeded:light", "--opset", "5"], "error"),
        (["onnx", "seeded:light", "--opset", "99"], "error"),
        (["onnx", "seeded:light", "--opset", "16"], "error"),
        (["onnx", "seeded:light", "--opset", "abc"], "error"),
        (["onnx", "seeded:nonsense"], "error"),
        (["onnx", "/nonexistent.safetensors"], "error"),
        (["onnx", "seeded:light", "--parity", "/nonexistent-folder"], "error"),
        (["tensorrt", model, "--max-frame", "abc"], "error"),
        (["tensorrt", model, "--max-frame", "0x0"], "error"),
        (["tensorrt", model, "--max-frame", "-5x10"], "error"),
        (["tensorrt", model, "--max-batch", "0"], "error"),
        (["tensorrt", model, "--opt-batch", "99"], "error"),
        (["tensorrt", model, "--workspace-gib", "nan"], "error"),
        (["tensorrt", "/nonexistent.onnx"], "error"),
        (["info", "/nonexistent.onnx"], "error"),
    ]
    triton_bad = [
        ["--instances", "-1"],
        ["--instances", "0"],
        ["--max-batch", "0"],
        ["--max-batch", "-3"],
        ["--name", "../../x"],
        ["--name", "/abs/x"],
        ["--name", "a/b"],
        ["--name", ".hidden"],
        ["--name", ".."],
        ["--name", ""],
        ["--name", "x" * 300],
    ]
    bench_bad = [
        ["--threads", "-1"],
        ["--batch", "0"],
        ["--frames", "0"],
        ["--warmup", "-1"],
        ["--model", "/nonexistent.onnx"],
        ["--image", "/nonexistent.png"],
        ["--engine", "bogus"],
        ["--variant", "bogus", "--frames", "1", "--warmup", "0", "--no-peak", "--no-aligner"],
        ["--threads", "abc"],
    ]
    cases = []
    for _ in range(count):
        folder = env.fresh("cli")
        out = folder / "out"
        roll = rng.random()
        program, expect = "parface", "error"
        forbidden: tuple[Path, ...] = ()
        if roll < 0.25:
            option = rng.choice(list(analyze_bad))
            argv = [
                "analyze",
                image(folder),
                image(folder),
                "--out",
                str(out),
                "--no-progress",
                option,
                rng.choice(analyze_bad[option]),
            ]
            forbidden = (out / "summary.json",)
        elif roll < 0.4:
            option = rng.choice(list(video_bad))
            argv = [
                "video",
                video(folder),
                "--out",
                str(out),
                "--no-progress",
                option,
                rng.choice(video_bad[option]),
            ]
        elif roll < 0.55:
            arguments, expect = rng.choice(export_bad)
            argv = ["export", *arguments]
            if arguments[0] in ("onnx", "tensorrt"):
                argv += ["-o", str(out / "m.onnx")]
            forbidden = (out / "m.onnx",)
        elif roll < 0.7:
            extra = rng.choice(triton_bad)
            argv = ["export", "triton", model, "-o", str(out), *extra]
        elif roll < 0.8:
            program = "parface-bench"
            argv = rng.choice(bench_bad)
        else:
            kind = rng.choice(
                [
                    "align-out-file",
                    "video-out-file",
                    "analyze-out-file",
                    "bench-json-dir",
                    "triton-out-file",
                    "align-missing",
                    "align-empty-dir",
                    "align-fifo-dir",
                    "video-missing",
                    "analyze-missing",
                ]
            )
            if kind == "align-out-file":
                argv = ["align", image(folder), "--out", a_file(folder)]
            elif kind == "video-out-file":
                argv = ["video", video(folder), "--out", a_file(folder), "--no-progress"]
            elif kind == "analyze-out-file":
                argv = ["analyze", image(folder), "--out", a_file(folder), "--no-progress"]
            elif kind == "bench-json-dir":
                program, argv = "parface-bench", ["--json", str(folder), "--frames", "1", "--warmup", "0"]
            elif kind == "triton-out-file":
                argv = ["export", "triton", model, "-o", a_file(folder)]
            elif kind == "align-missing":
                argv = ["align", str(folder / "missing.jpg"), "--out", str(out)]
            elif kind == "align-fifo-dir":
                (folder / "pipes").mkdir()
                os.mkfifo(folder / "pipes" / "a.jpg")
                argv = ["align", str(folder / "pipes"), "--out", str(out)]
            elif kind == "align-empty-dir":
                (folder / "empty").mkdir()
                argv = ["align", str(folder / "empty"), "--out", str(out)]
            elif kind == "video-missing":
                argv = ["video", str(folder / "missing.mp4"), "--out", str(out), "--no-progress"]
            else:
                argv = ["analyze", str(folder / "missing.mp4"), "--out", str(out), "--no-progress"]
        name = f"{program} {' '.join(a if len(a) < 40 else '...' + a[-30:] for a in argv)}"
        cases.append(
            Case(
                "cli",
                name,
                expect,
                lambda e, a=argv, p=program: run_cli(a, p),
                workdir=folder,
                forbidden=forbidden,
            )
        )
    return cases


def output_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """Outputs that cannot be written: read-only folders, a full disk, names near the 255-byte
    limit; nothing partial or temporary may be left behind."""
    env.mount_tmpfs()
    cases = []
    model = str(env.onnx_model())
    for index in range(count):
        folder = env.fresh("out")
        kind = rng.choice(
            [
                "long-name",
                "long-name",
                "readonly",
                "full-align",
                "full-video",
                "full-analyze",
                "full-triton",
                "full-bench",
                "full-export",
            ]
        )
        if kind != "long-name" and env.tmpfs is None:
            cases.append(Case("outputs", f"{kind}-skipped: {env.mount_reason}", "any", lambda e: []))
            continue
        if kind == "long-name":
            length = rng.randint(200, 250)
            image = folder / ("n" * (length - 4) + ".png")
            image.write_bytes(env.face_png)
            argv = ["align", str(image), "--out", str(folder / "out"), "--draw"]
            expect, workdir = "any", folder
        elif kind == "readonly":
            target = env.readonly / f"sub{index}"
            command = rng.choice(["align", "video", "analyze", "triton"])
            argv = _writer_argv(env, command, folder, target, model)
            expect, workdir = "error", folder
        else:
            _fill(env.tmpfs, leave=rng.choice([0, 512, 4096, 20000]))
            target = env.tmpfs / f"o{index}"
            command = kind.removeprefix("full-")
            if command == "export" and not env.heavy:
                command = "align"
            argv = _writer_argv(env, command, folder, target, model)
            expect, workdir = "any", env.tmpfs
        program = "parface-bench" if argv and argv[0] == "--json" else "parface"
        cases.append(
            Case(
                "outputs",
                f"{kind} {' '.join(a if len(a) < 40 else '...' + a[-30:] for a in argv)}",
                expect,
                lambda e, a=argv, p=program: run_cli(a, p),
                workdir=workdir,
            )
        )
    return cases


def _writer_argv(env: Env, command: str, folder: Path, target: Path, model: str) -> list[str]:
    image = folder / "face.png"
    image.write_bytes(env.face_png)
    if command == "align":
        return ["align", str(image), "--out", str(target), "--draw"]
    if command == "video":
        clip = folder / "clip.mp4"
        shutil.copyfile(env.video(), clip)
        return ["video", str(clip), "--out", str(target), "--overlay", "--no-progress"]
    if command == "analyze":
        return ["analyze", str(image), str(image), "--out", str(target), "--no-progress"]
    if command == "bench":
        return ["--json", str(target / "r.json"), "--frames", "1", "--warmup", "0", "--no-peak", "--quiet"]
    if command == "export":
        return ["export", "onnx", "seeded:tiny", "-o", str(target / "m.onnx"), "--no-simplify"]
    return ["export", "triton", model, "-o", str(target), "--cpu"]


def _fill(tmpfs: Path, leave: int) -> None:
    """Empty the tmpfs, then fill it to ``leave`` free bytes."""
    for path in tmpfs.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    free = shutil.disk_usage(tmpfs).free
    if free > leave:
        with contextlib.suppress(OSError), open(tmpfs / "filler", "wb") as stream:
            stream.write(b"\0" * (free - leave))


def signal_cases(rng: random.Random, count: int, env: Env) -> list[Case]:
    """SIGTERM / SIGINT to a running command line (a child process): exit 130 or a finished run,
    and no partial or temporary file."""
    cases = []
    for _ in range(count):
        folder = env.fresh("signal")
        command = rng.choice(["video", "video", "analyze", "align", "export"])
        signum = rng.choice([signal.SIGTERM, signal.SIGTERM, signal.SIGINT])
        delay = rng.uniform(0.0, 2.0)
        cases.append(
            Case(
                "signals",
                f"{command}-{signal.Signals(signum).name}-{delay:.1f}s-after-the-first-output",
                "any",
                lambda e, c=command, s=signum, d=delay, f=folder: _signal_run(e, c, s, d, f),
                workdir=folder,
                timeout=150,
            )
        )
    return cases


def _signal_run(env: Env, command: str, signum: int, delay: float, folder: Path) -> CliResult:
    out = folder / "out"
    if command in ("video", "analyze"):
        clip = env.video(frames=90, size=240, name="long.mp4")
        argv = [command, str(clip), "--out", str(out), "--no-progress"]
        if command == "video":
            argv.append("--overlay")
    elif command == "export":
        out.mkdir()
        argv = ["export", "onnx", "seeded:light", "-o", str(out / "m.onnx")]
    else:
        images = folder / "images"
        images.mkdir()
        for frame in range(300):
            (images / f"{frame:03d}.png").write_bytes(env.face_png)
        argv = ["align", str(images), "--out", str(out), "--draw"]
    code = "import sys; from parface_sdk.cli.main import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    # wait until the command has started its work (an output appears), so the signal tests the
    # command's handling and not the interpreter's start-up on a loaded machine
    waited = 0.0

    def started() -> bool:  # the output folder is made after start-up; export's temporary file
        return out.is_dir() and (command != "export" or any(out.iterdir()))

    while waited < 90 and process.poll() is None and not started():
        time.sleep(0.1)
        waited += 0.1
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(signum)
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise CaseTimeout from None
    return CliResult(process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"))


# -- the suite --------------------------------------------------------------------------------

GENERATORS: dict[str, Callable[[random.Random, int, Env], list[Case]]] = {
    "files": file_cases,
    "arrays": array_cases,
    "boxes": box_cases,
    "options": option_cases,
    "timestamps": timestamp_cases,
    "videos": video_cases,
    "cli": cli_cases,
    "outputs": output_cases,
    "signals": signal_cases,
}


def generate(counts: dict[str, int], env: Env, seed: int = 0) -> list[Case]:
    cases = []
    for category, generator in GENERATORS.items():
        if counts.get(category):
            cases += generator(random.Random(f"{seed}-{category}"), counts[category], env)
    return cases


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    """Per category: cases, each outcome's count, left-over files, and the share of the cases whose
    right answer is an error that got a typed error or an empty result."""
    categories: dict[str, dict[str, Any]] = {}
    for item in outcomes:
        entry = categories.setdefault(
            item.case.category,
            {
                "cases": 0,
                **{name: 0 for name in OUTCOMES},
                "left_over": 0,
                "error_expected": 0,
                "error_typed_or_empty": 0,
            },
        )
        entry["cases"] += 1
        entry[item.outcome] += 1
        entry["left_over"] += bool(item.left_over)
        if item.case.expect == "error":
            entry["error_expected"] += 1
            entry["error_typed_or_empty"] += item.outcome in ("typed_error", "empty_result")
    total = {
        "cases": 0,
        **{name: 0 for name in OUTCOMES},
        "left_over": 0,
        "error_expected": 0,
        "error_typed_or_empty": 0,
    }
    for entry in categories.values():
        for key in total:
            total[key] += entry[key]
    for entry in [*categories.values(), total]:
        expected = entry["error_expected"]
        entry["error_typed_or_empty_share"] = (
            round(entry["error_typed_or_empty"] / expected, 4) if expected else None
        )
    failures = [
        {
            "category": o.case.category,
            "case": o.case.name,
            "outcome": o.outcome,
            "detail": o.detail,
            "left_over": o.left_over,
        }
        for o in outcomes
        if o.outcome in FAILURES or o.left_over
    ]
    return {"categories": categories, "total": total, "failures": failures}
