"""What every command line shares: safe output files, readable error lines, exit codes, extras.

Exit codes: 0 done, 1 some inputs failed, 2 the command cannot start (bad option, missing
extra, unusable output folder), 130 interrupted (Ctrl-C). A closed pipe (``parface ... | head``)
ends the command quietly.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from parface_sdk.errors import BackendUnavailableError, ParfaceError

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def file_mode() -> int:
    """The permissions a plain ``open(path, "w")`` would give: 0o666 less the umask (0o644 typically)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, so writers pick the same format) that is
    renamed onto ``path`` when the block succeeds and deleted when it fails: no partial files."""
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".partial{path.suffix}")
    os.close(handle)
    temporary = Path(name)
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


def guarded(prog: str, command: Callable[[], int | None]) -> int:
    """Run a command's body with the exit codes above: interrupts, closed pipes and typed errors
    that escape it become one line on stderr, never a traceback."""
    try:
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
        if type(exc).__name__ != "ValidationError":
            raise
        print(f"{prog}: {error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
