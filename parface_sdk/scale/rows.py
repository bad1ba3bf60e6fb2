"""The rows of ``parface batch``'s Parquet shards, and the ray-free work of one shard.

Every input appears exactly once, either as face rows or as one status row:

- ``status="ok"``: one row per face (``face_index`` 0, 1, ...), for videos one row per frame with
  the tracked face (``frame_index``, ``timestamp``, ``face_index`` 0);
- ``status="no_face"``: an image without a face is one row with empty face columns (a video frame
  without a face likewise, with its ``frame_index``);
- ``status="error"``: an input that failed is one row with ``error_type`` (the exception class, e.g.
  ``InvalidImageError``) and ``error`` (its one-line message).

``landmarks`` is the 68 (x, y, z) points as a list of 68 lists of 3 (for videos the tracker's
smoothed points); ``confidence`` the 68 per-point values; ``box`` ``[x0, y0, x1, y1]``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from parface_sdk.scale.shards import InputItem, Shard, _is_url

COLUMNS: dict[str, str] = {
    "input_index": "int64",
    "image_id": "string",
    "path": "string",
    "kind": "string",
    "status": "string",
    "face_index": "int32",
    "frame_index": "int64",
    "timestamp": "float64",
    "landmarks": "list<list<float32>>",
    "confidence": "list<float32>",
    "box": "list<float32>",
    "score": "float32",
    "quality": "float32",
    "image_width": "int32",
    "image_height": "int32",
    "error_type": "string",
    "error": "string",
    "model_sha256": "string",
}


def schema():
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "int32": pa.int32(),
        "string": pa.string(),
        "float64": pa.float64(),
        "float32": pa.float32(),
        "list<float32>": pa.list_(pa.float32()),
        "list<list<float32>>": pa.list_(pa.list_(pa.float32())),
    }
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS.items()])


def _base(item: InputItem, model_sha256: str, status: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(
        input_index=item.index,
        image_id=item.id,
        path=item.path,
        kind=item.kind,
        status=status,
        model_sha256=model_sha256,
    )
    return row


def error_row(item: InputItem, model_sha256: str, exc: BaseException) -> dict[str, Any]:
    row = _base(item, model_sha256, "error")
    row.update(error_type=type(exc).__name__, error=" ".join(str(exc).split()) or type(exc).__name__)
    return row


def face_row(item: InputItem, model_sha256: str, face, width: int, height: int, **extra: Any) -> dict:
    row = _base(item, model_sha256, "ok")
    row.update(
        face_index=0,
        landmarks=np.asarray(face.landmarks, np.float32).tolist(),
        confidence=np.asarray(face.confidence, np.float32).tolist(),
        box=np.asarray(face.box, np.float32).tolist(),
        score=float(face.score),
        quality=float(getattr(face, "quality", np.nan)),
        image_width=width,
        image_height=height,
    )
    row.update(extra)
    return row


def result_rows(item: InputItem, model_sha256: str, result) -> list[dict[str, Any]]:
    """The rows of one image's :class:`~parface_sdk.AlignResult`."""
    width, height = result.image_width, result.image_height
    if not result.faces:
        row = _base(item, model_sha256, "no_face")
        row.update(image_width=width, image_height=height)
        return [row]
    return [
        face_row(item, model_sha256, face, width, height, face_index=k) for k, face in enumerate(result.faces)
    ]


def read_input(path: str) -> np.ndarray:
    """An input image as RGB uint8, turned upright by EXIF: local paths through the SDK's reader,
    other filesystems' bytes through fsspec."""
    from parface_sdk.image import load_image

    if _is_url(path):
        import fsspec

        with fsspec.open(path, "rb") as stream:
            return load_image(stream.read())
    return load_image(path)


def image_rows(aligner, items: list[InputItem], model_sha256: str, batch_size: int) -> list[dict]:
    """Rows of images, decoded here and aligned ``batch_size`` images per ``align_batch`` call."""
    rows: dict[int, list[dict]] = {}
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        decoded: list[tuple[InputItem, np.ndarray]] = []
        for item in chunk:
            try:
                decoded.append((item, read_input(item.path)))
            except Exception as exc:  # noqa: BLE001  every failure is a row, never a lost shard
                rows[item.index] = [error_row(item, model_sha256, exc)]
        if not decoded:
            continue
        try:
            results = aligner.align_batch([image for _, image in decoded], color="RGB")
        except Exception:  # noqa: BLE001  one bad image: find it, keep the others
            results = []
            for _item, image in decoded:
                try:
                    results.append(aligner.align(image, color="RGB"))
                except Exception as exc:  # noqa: BLE001
                    results.append(exc)
        for (item, _), result in zip(decoded, results):
            if isinstance(result, BaseException):
                rows[item.index] = [error_row(item, model_sha256, result)]
            else:
                rows[item.index] = result_rows(item, model_sha256, result)
    return [row for item in items for row in rows[item.index]]


def video_rows(aligner, item: InputItem, model_sha256: str) -> list[dict]:
    """One row per frame of a video, from the SDK's face tracker; one error row if it fails."""
    rows: list[dict] = []
    try:
        for frame in aligner.track(item.path, progress=False):
            extra = {"frame_index": frame.index, "timestamp": float(frame.timestamp)}
            result = frame.result
            if frame.face is None:
                row = _base(item, model_sha256, "no_face")
                row.update(image_width=result.image_width, image_height=result.image_height, **extra)
            else:
                row = face_row(
                    item, model_sha256, frame.face, result.image_width, result.image_height, **extra
                )
                if frame.landmarks is not None:
                    row["landmarks"] = np.asarray(frame.landmarks, np.float32).tolist()
            rows.append(row)
    except Exception as exc:  # noqa: BLE001
        return [error_row(item, model_sha256, exc)]
    if not rows:
        return [_base(item, model_sha256, "no_face")]
    return rows


def shard_rows(aligner, shard: Shard, model_sha256: str, batch_size: int) -> list[dict]:
    """Every row of ``shard``, in input order."""
    images = [item for item in shard.items if item.kind == "image"]
    rows = image_rows(aligner, images, model_sha256, batch_size) if images else []
    for item in shard.items:
        if item.kind == "video":
            rows.extend(video_rows(aligner, item, model_sha256))
    return sorted(rows, key=lambda row: row["input_index"])  # stable: faces and frames keep their order


def shard_table(aligner, shard: Shard, model_sha256: str, batch_size: int):
    import pyarrow as pa

    started = time.perf_counter()
    rows = shard_rows(aligner, shard, model_sha256, batch_size)
    table = pa.Table.from_pylist(rows, schema=schema())
    return table, time.perf_counter() - started


def summarize(rows: list[dict]) -> dict[str, int]:
    statuses = [row["status"] for row in rows]
    return {
        "rows": len(rows),
        "faces": statuses.count("ok"),
        "no_face": statuses.count("no_face"),
        "errors": statuses.count("error"),
    }


def check_exactly_once(table, count: int) -> list[str]:
    """Problems with ``table`` (all shards read back) against the rule above, for ``count`` inputs;
    empty when every input appears exactly once."""
    problems: list[str] = []
    by_input: dict[int, list[tuple]] = {}
    for index, status, face, frame in zip(
        table.column("input_index").to_pylist(),
        table.column("status").to_pylist(),
        table.column("face_index").to_pylist(),
        table.column("frame_index").to_pylist(),
    ):
        by_input.setdefault(index, []).append((status, face, frame))
    missing = sorted(set(range(count)) - set(by_input))
    if missing:
        problems.append(f"inputs missing: {missing[:20]}")
    extra = sorted(set(by_input) - set(range(count)))
    if extra:
        problems.append(f"unknown inputs: {extra[:20]}")
    for index, entries in by_input.items():
        statuses = {status for status, _, _ in entries}
        if "error" in statuses and len(entries) != 1:
            problems.append(f"input {index}: an error row beside other rows")
        keys = [(frame, face) for _, face, frame in entries]
        if len(set(keys)) != len(keys):
            problems.append(f"input {index}: duplicated rows {keys}")
    return problems
