"""The TensorRT engine file: a small JSON header, then the serialized TensorRT plan.

Layout: the 8 magic bytes ``PFTRT001``, the header length as a little-endian uint32, the header
(UTF-8 JSON: ParFace spec, TensorRT version, GPU name and compute capability, precision, batch
range), then the plan bytes. A plan only runs on the TensorRT version and GPU architecture it was
built for; :func:`check_compatible` turns a mismatch into :class:`EngineMismatchError` with the
command that rebuilds it. Pure Python: readable without TensorRT (``parface export`` inspects it).
"""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from parface_sdk.errors import EngineMismatchError, ModelLoadError, ModelNotFoundError
from parface_sdk.spec import ModelSpec

logger = logging.getLogger(__name__)

MAGIC = b"PFTRT001"
_LENGTH = struct.Struct("<I")


class EngineHeader(BaseModel):
    """What an engine was built from and for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec: ModelSpec
    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "major.minor", e.g. "8.6"
    precision: str = "fp16"
    min_batch: int = 1
    max_batch: int = 1
    max_frame: tuple[int, int] | None = None  # (height, width), frame graphs only
    source_onnx_sha256: str | None = None


def write_engine_file(path: str | Path, header: EngineHeader, plan: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = header.model_dump_json().encode("utf-8")
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(MAGIC + _LENGTH.pack(len(encoded)) + encoded)
        handle.write(bytes(plan))
    temporary.replace(path)
    return path


def read_engine_header(path: str | Path) -> tuple[EngineHeader, int]:
    """The header and the byte offset where the plan starts."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"no TensorRT engine at {path}")
    with open(path, "rb") as handle:
        prefix = handle.read(len(MAGIC) + _LENGTH.size)
        if len(prefix) < len(MAGIC) + _LENGTH.size or not prefix.startswith(MAGIC):
            raise ModelLoadError(
                f"{path} is not a parface-sdk engine (no {MAGIC.decode()} header); build one with "
                "`parface export tensorrt MODEL.onnx`"
            )
        (length,) = _LENGTH.unpack(prefix[len(MAGIC) :])
        raw = handle.read(length)
    if len(raw) != length:
        raise ModelLoadError(f"{path}: the engine header is truncated; rebuild the engine")
    try:
        data: Any = json.loads(raw.decode("utf-8"))
        spec = ModelSpec.from_json(json.dumps(data.pop("spec")), source=str(path))
        header = EngineHeader(spec=spec, **data)
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
        raise ModelLoadError(f"{path}: unreadable engine header ({exc}); rebuild the engine") from exc
    return header, len(MAGIC) + _LENGTH.size + length


def read_engine_file(path: str | Path) -> tuple[EngineHeader, bytes]:
    header, offset = read_engine_header(path)
    with open(path, "rb") as handle:
        handle.seek(offset)
        plan = handle.read()
    if not plan:
        raise ModelLoadError(f"{path}: the engine has a header but no TensorRT plan; rebuild it")
    return header, plan


def rebuild_hint(header: EngineHeader) -> str:
    return (
        "rebuild it on this machine from the ONNX model: "
        f"`parface export tensorrt MODEL.onnx --max-batch {header.max_batch}"
        f"{' --fp32' if header.precision == 'fp32' else ''}`"
    )


def check_compatible(
    path: str | Path, header: EngineHeader, tensorrt_version: str, gpu_name: str, compute_capability: str
) -> None:
    """Raise EngineMismatchError unless the engine was built by this TensorRT for this GPU family."""
    if header.tensorrt_version != tensorrt_version:
        raise EngineMismatchError(
            f"{path} was built with TensorRT {header.tensorrt_version}, this machine has "
            f"{tensorrt_version}; TensorRT plans only load in the version that built them: "
            + rebuild_hint(header)
        )
    if header.compute_capability != compute_capability:
        raise EngineMismatchError(
            f"{path} was built for {header.gpu_name} (compute capability {header.compute_capability}), "
            f"this GPU is {gpu_name} ({compute_capability}): " + rebuild_hint(header)
        )
    if header.gpu_name != gpu_name:
        logger.warning(
            "%s was built on %s and runs on %s (same compute capability %s); it loads, but its "
            "kernels were timed on the other GPU: %s",
            path,
            header.gpu_name,
            gpu_name,
            compute_capability,
            rebuild_hint(header),
        )
