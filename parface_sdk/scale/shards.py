"""Inputs, deterministic shards and atomic shard files: the ray-free half of ``parface batch``,
and the ``--shard I/N`` split of ``parface align``.

Inputs (:func:`list_inputs`) are a folder (walked recursively, sorted), a glob (``"photos/**/*.jpg"``,
sorted), a single file, or a manifest: a ``.csv`` or ``.parquet`` file with a ``path`` column (and
optionally an ``id`` column), read through fsspec, so ``s3://``, ``gs://`` or any filesystem fsspec
knows works where its package is installed. Relative manifest paths are relative to the manifest's
folder. A manifest's rows keep their order.

The input list is cut into shards (:func:`plan_shards`): consecutive runs of ``shard_size`` images,
and one shard per video. Shard ``k`` is written to ``OUT/part-<k>.parquet`` atomically (a hidden
temporary name, then a rename), so a file that exists is complete. ``OUT/_plan.json`` records a
fingerprint of the inputs and settings: a rerun with the same ones skips finished shards, a rerun
with other ones is refused rather than mixing two runs in one folder.
"""

from __future__ import annotations

import glob as globbing
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from parface_sdk.errors import InvalidOptionError, ParfaceError
from parface_sdk.geometry import IMAGE_SUFFIXES

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
MANIFEST_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")
PLAN_FILE = "_plan.json"
PLAN_VERSION = 1


class PlanMismatchError(InvalidOptionError):
    """The output folder holds shards of a run over other inputs or settings."""


@dataclass(frozen=True)
class InputItem:
    """One input: ``index`` is its position in the whole list (the key every output row carries)."""

    index: int
    path: str
    id: str
    kind: str  # "image" or "video"


@dataclass(frozen=True)
class Shard:
    index: int
    items: tuple[InputItem, ...]

    @property
    def file_name(self) -> str:
        return shard_file_name(self.index)

    def to_json(self) -> str:
        return json.dumps({"index": self.index, "items": [asdict(item) for item in self.items]})

    @classmethod
    def from_json(cls, text: str) -> Shard:
        data = json.loads(text)
        return cls(data["index"], tuple(InputItem(**item) for item in data["items"]))


def shard_file_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


def _is_url(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def _kind(path: str) -> str:
    suffix = os.path.splitext(path.split("?", 1)[0])[1].lower()
    return "video" if suffix in VIDEO_SUFFIXES else "image"


def _is_media(path: str) -> bool:
    suffix = os.path.splitext(path)[1].lower()
    return suffix in IMAGE_SUFFIXES or suffix in VIDEO_SUFFIXES


def read_manifest(source: str) -> list[tuple[str, str]]:
    """``(path, id)`` rows of a CSV or Parquet manifest with a ``path`` column (fsspec paths)."""
    import fsspec
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    try:
        with fsspec.open(source, "rb") as stream:
            if source.lower().endswith(".csv"):
                table = pa_csv.read_csv(stream)
            else:
                table = pq.read_table(stream)
    except (OSError, ValueError) as exc:
        raise InvalidOptionError(f"cannot read the manifest {source}: {' '.join(str(exc).split())}") from exc
    if "path" not in table.column_names:
        raise InvalidOptionError(
            f"the manifest {source} has no 'path' column (columns: {', '.join(table.column_names)})"
        )
    paths = [str(p) for p in table.column("path").to_pylist() if p is not None and str(p) != ""]
    ids = [str(i) for i in table.column("id").to_pylist()] if "id" in table.column_names else list(paths)
    base = None if _is_url(source) else Path(source.removeprefix("file://")).parent
    rows = []
    for path, ident in zip(paths, ids):
        if base is not None and not _is_url(path) and not os.path.isabs(path.removeprefix("file://")):
            path = str(base / path)
        rows.append((path.removeprefix("file://"), ident))
    return rows


def list_inputs(sources: list[str | os.PathLike]) -> list[InputItem]:
    """Every input of ``sources`` (folders, globs, files, manifests) once, in a fixed order."""
    rows: list[tuple[str, str]] = []
    for source in map(str, sources):
        local = source.removeprefix("file://")
        if source.lower().endswith(MANIFEST_SUFFIXES) and (_is_url(source) or os.path.isfile(local)):
            rows.extend(read_manifest(source))
        elif os.path.isdir(local):
            root = Path(local)
            for path in sorted(root.rglob("*")):
                if path.is_file() and _is_media(path.name):
                    rows.append((str(path), path.relative_to(root).as_posix()))
        elif any(char in source for char in "*?["):
            if _is_url(source):
                import fsspec

                fs, _, matches = fsspec.get_fs_token_paths(source)
                protocol = source.split("://", 1)[0]
                rows.extend((f"{protocol}://{m}", f"{protocol}://{m}") for m in sorted(matches))
            else:
                matches = sorted(m for m in globbing.glob(local, recursive=True) if os.path.isfile(m))
                rows.extend((m, m) for m in matches)
        elif _is_url(source) or os.path.isfile(local):
            rows.append((local, os.path.basename(local.rstrip("/"))))
        else:
            raise InvalidOptionError(
                f"{source}: no such file, folder or manifest, and no glob pattern; pass a folder, a glob "
                "in quotes ('photos/*.jpg'), or a .csv / .parquet manifest with a 'path' column"
            )
    items: list[InputItem] = []
    seen: set[str] = set()
    for path, ident in rows:
        key = path if _is_url(path) else os.path.realpath(path)
        if key in seen:
            continue  # the same file twice (a folder and a glob inside it)
        seen.add(key)
        items.append(InputItem(len(items), path, ident, _kind(path)))
    return items


def plan_shards(items: list[InputItem], shard_size: int) -> list[Shard]:
    """Consecutive runs of ``shard_size`` images, and a shard of its own for every video."""
    if shard_size < 1:
        raise InvalidOptionError(f"--shard-size must be at least 1, got {shard_size}")
    shards: list[Shard] = []
    pending: list[InputItem] = []

    def flush() -> None:
        if pending:
            shards.append(Shard(len(shards), tuple(pending)))
            pending.clear()

    for item in items:
        if item.kind == "video":
            flush()
            shards.append(Shard(len(shards), (item,)))
            continue
        pending.append(item)
        if len(pending) == shard_size:
            flush()
    flush()
    return shards


def plan_fingerprint(shards: list[Shard], settings: dict[str, Any]) -> str:
    """A hash of the shard plan (every input's path, id and shard) and the settings that change rows."""
    digest = hashlib.sha256()
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for shard in shards:
        digest.update(shard.to_json().encode())
    return digest.hexdigest()


def prepare_plan(out: Path, shards: list[Shard], settings: dict[str, Any]) -> list[Shard]:
    """Record the plan in ``out`` (or check it against the one there) and return the shards still
    to do: those without their file. Stray temporary files of killed writers are removed."""
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = plan_fingerprint(shards, settings)
    plan_path = out / PLAN_FILE
    if plan_path.is_file():
        recorded = json.loads(plan_path.read_text())
        if recorded.get("fingerprint") != fingerprint:
            raise PlanMismatchError(
                f"{out} holds the shards of a run over other inputs or settings ({PLAN_FILE}); "
                "pass a new --out, or delete that folder to start over"
            )
    else:
        from parface_sdk.cli.common import write_atomically

        plan = {
            "version": PLAN_VERSION,
            "fingerprint": fingerprint,
            "inputs": sum(len(s.items) for s in shards),
            "shards": len(shards),
            "settings": settings,
        }
        write_atomically(plan_path, json.dumps(plan, indent=1, default=str).encode())
    for stray in out.glob(".part-*.partial*"):
        stray.unlink(missing_ok=True)
    return [shard for shard in shards if not (out / shard.file_name).is_file()]


def write_table_atomically(table, path: Path) -> None:
    """A pyarrow table as Parquet at ``path``: complete, or not there at all."""
    import pyarrow.parquet as pq

    from parface_sdk.cli.common import atomic_path

    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


# -- `parface align --shard I/N` ---------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 <= I < N) as ``(I, N)``; a typed error saying what to pass otherwise."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        index, count = -1, 0
    if count < 1 or not 0 <= index < count:
        raise InvalidOptionError(f"--shard takes I/N with 0 <= I < N (e.g. 0/4 ... 3/4), got {text!r}")
    return index, count


def in_shard(name: str, index: int, count: int) -> bool:
    """Whether the input called ``name`` (an output name, stable across machines) is in shard
    ``index`` of ``count``: a hash of the name, so every process decides alone, the same way,
    whatever order it listed the files in."""
    value = int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big")
    return value % count == index


class BatchIncompleteError(ParfaceError):
    """Some shards were not written (a worker failed beyond its retries); a rerun finishes them."""
