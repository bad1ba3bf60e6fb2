"""What every command line shares: safe output files, readable error lines, exit codes, extras.

Exit codes: 0 done, 1 some inputs failed, 2 the command cannot start (bad option, missing
extra, unusable output folder), 3 (``parface-bench``) the engine is not available here,
130 interrupted (Ctrl-C or SIGTERM). A closed pipe (``parface ... | head``) ends the command
quietly. Every error is one line on stderr; OpenCV, libpng and FFmpeg are silenced.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from parface_sdk.errors import BackendUnavailableError, ParfaceError

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``parface video: error: ...; see --help``), exit 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {' '.join(message.split())}; see {self.prog} --help\n")


def file_mode() -> int:
    """The permissions a plain ``open(path, "w")`` would give: 0o666 less the umask (0o644 typically)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def temporary_beside(path: str | os.PathLike) -> Path:
    """A new empty hidden file beside ``path`` with a short random name and ``path``'s suffix
    (writers pick their format by it): ``.pf-1a2b3c4d.partial.mp4``. Short, so a target name near
    the file system's 255-byte limit never fails for its temporary name only."""
    path = Path(path)
    suffix = path.suffix if len(path.suffix.encode()) <= 16 else ""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".pf-", suffix=f".partial{suffix}")
    os.close(handle)
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, so writers pick the same format) that is
    renamed onto ``path`` when the block succeeds and deleted when it fails: no partial files."""
    path = Path(path)
    temporary = temporary_beside(path)
    try:
        yield temporary
        os.chmod(temporary, file_mode())  # mkstemp makes 0600 files
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open`` that writes a temporary file and renames it onto ``path`` only on success."""
    with atomic_path(path) as temporary, open(temporary, mode, **kwargs) as stream:
        yield stream


@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """A hidden temporary folder inside ``folder`` (created if missing) to write a whole set of
    outputs into; on success its files are moved into ``folder`` (each by an atomic rename,
    replacing older files of the same name), on any error (Ctrl-C included) it is deleted, so
    ``folder`` holds either the complete new outputs or what it held before."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=folder, prefix=".pf-"))
    try:
        yield temporary
        for source in sorted(temporary.rglob("*")):
            target = folder / source.relative_to(temporary)
            if source.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                os.chmod(source, file_mode())
                os.replace(source, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """All of ``data`` at ``path`` or, on any error, nothing (the old file, if any, stays)."""
    with atomic_open(path, "wb") as stream:
        stream.write(data)


def prepare_output_folder(folder: Path) -> None:
    """Create ``folder``, or raise a ParfaceError saying why it cannot hold outputs."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out {folder} is a file; pass a folder (it is created if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {folder}: {exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"the output folder {folder} is not writable; pass another --out")


class OutputError(ParfaceError, OSError):
    """An output file or folder cannot be written (read-only, a file in the way, disk full)."""


def describe_os_error(exc: OSError) -> str:
    """``[Errno 28] No space left on device: 'x'`` as ``No space left on device``, and so on."""
    return exc.strerror or str(exc)


def error_line(exc: BaseException) -> str:
    """One readable line for an error; pydantic validation errors become ``field: message`` items."""
    errors = getattr(exc, "errors", None)
    if callable(errors) and type(exc).__name__ == "ValidationError":
        parts = []
        for error in errors():
            where = ".".join(str(p) for p in error.get("loc", ())) or "value"
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{where.replace('_', '-')}: {message} (got {error.get('input')!r})")
        return "invalid option: " + "; ".join(parts)
    return " ".join(str(exc).split()) or type(exc).__name__


def require_extra(modules: dict[str, str], extra: str, purpose: str) -> None:
    """Raise :class:`BackendUnavailableError` naming ``pip install "parface-sdk[extra]"`` when any
    of ``modules`` (import name -> pip name) is missing, before any work starts."""
    missing = [pip_name for name, pip_name in modules.items() if importlib.util.find_spec(name) is None]
    if missing:
        raise BackendUnavailableError(
            f"{purpose} needs {', '.join(missing)}, which is not installed; "
            f'install it with: pip install "parface-sdk[{extra}]"'
        )


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a container stop) raises ``KeyboardInterrupt`` like Ctrl-C, so every
    writer's clean-up runs; the previous handler is restored afterwards."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave the signal alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def guarded(prog: str, command: Callable[[], int | None]) -> int:
    """Run a command's body with the exit codes above: interrupts (Ctrl-C, SIGTERM), closed pipes
    and errors that escape it become one line on stderr, never a traceback; native libraries'
    log lines are silenced."""
    from parface_sdk.quiet import silence_native_logs

    silence_native_logs()
    try:
        with sigterm_as_interrupt():
            return int(command() or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (`| head`) left: point stdout at /dev/null so the exit flush does not fail too.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except ParfaceError as exc:
        print(f"{prog}: {error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"{prog}: {error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: {where}{describe_os_error(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: still one line, with a way to see the traceback
        if os.environ.get("PARFACE_TRACEBACK"):
            raise
        print(
            f"{prog}: unexpected error ({type(exc).__name__}: {error_line(exc)}); "
            "set PARFACE_TRACEBACK=1 for the traceback and please report it",
            file=sys.stderr,
        )
        return EXIT_FAILED
