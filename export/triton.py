"""A Triton Inference Server model repository for a parface-sdk ONNX model.

Writes ``<out_dir>/<name>/config.pbtxt`` and ``<out_dir>/<name>/1/model.onnx``. Crop graphs get
server-side dynamic batching (Triton joins single-face requests into batches up to
``max_batch``); frame graphs take one frame per request with its own batch of faces, so they are
served without Triton batching (``max_batch_size: 0``). The ParFace spec is copied into the
config's ``parameters`` so clients can read the input size and normalisation from the server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from parface_sdk.spec import SPEC_METADATA_KEY, ModelSpec


def _tensor(name: str, dims: list[int]) -> str:
    shape = ", ".join(map(str, dims))
    return f'  {{\n    name: "{name}"\n    data_type: TYPE_FP32\n    dims: [ {shape} ]\n  }}'


def _block(kind: str, tensors: list[str]) -> str:
    return f"{kind} [\n" + ",\n".join(tensors) + "\n]"


def triton_config(
    spec: ModelSpec,
    name: str,
    max_batch: int = 32,
    *,
    gpu: bool = True,
    tensorrt_fp16: bool = False,
    instances: int = 1,
    max_queue_delay_us: int = 500,
) -> str:
    """The text of ``config.pbtxt`` for ``spec``'s graph (protobuf text format)."""
    size, count = spec.input_size, spec.num_landmarks
    if spec.graph == "crop":
        header = [f'name: "{name}"', 'platform: "onnxruntime_onnx"', f"max_batch_size: {max_batch}"]
        inputs = [_tensor("crops", [3, size, size])]
        outputs = [_tensor("landmarks", [count, 3]), _tensor("confidence", [count])]
        preferred = sorted({b for b in (4, 8, 16, max_batch) if b <= max_batch})
        batching = (
            "dynamic_batching {\n"
            f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]\n"
            f"  max_queue_delay_microseconds: {max_queue_delay_us}\n}}"
        )
    else:
        header = [f'name: "{name}"', 'platform: "onnxruntime_onnx"', "max_batch_size: 0"]
        inputs = [_tensor("frame", [1, 3, -1, -1]), _tensor("transforms", [-1, 2, 3])]
        outputs = [_tensor("landmarks", [-1, count, 3]), _tensor("confidence", [-1, count])]
        batching = ""
    kind = "KIND_GPU" if gpu else "KIND_CPU"
    parts = [
        "\n".join(header),
        _block("input", inputs),
        _block("output", outputs),
        batching,
        f"instance_group [\n  {{\n    count: {instances}\n    kind: {kind}\n  }}\n]",
    ]
    if gpu and tensorrt_fp16:
        parts.append(
            "optimization {\n  execution_accelerators {\n    gpu_execution_accelerator: [\n      {\n"
            '        name: "tensorrt"\n'
            '        parameters { key: "precision_mode" value: "FP16" }\n'
            '        parameters { key: "max_workspace_size_bytes" value: "2147483648" }\n'
            "      }\n    ]\n  }\n}"
        )
    # A JSON string literal (quotes and backslashes escaped) is a valid pbtxt string literal.
    spec_text = json.dumps(spec.to_json(), ensure_ascii=False)
    parts.append(f'parameters {{\n  key: "{SPEC_METADATA_KEY}"\n  value: {{ string_value: {spec_text} }}\n}}')
    return "\n".join(part for part in parts if part) + "\n"


def export_triton_repository(
    onnx_path: str | Path,
    out_dir: str | Path,
    max_batch: int = 32,
    *,
    name: str | None = None,
    version: int = 1,
    gpu: bool = True,
    tensorrt_fp16: bool = False,
    instances: int = 1,
) -> Path:
    """Write the model folder for ``onnx_path`` into the repository ``out_dir``; returns the folder."""
    from parface_export.onnx_export import read_spec

    from parface_sdk.errors import InvalidOptionError

    spec = read_spec(onnx_path)
    for label, value in (("max_batch", max_batch), ("instances", instances), ("version", version)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidOptionError(f"{label} must be an integer of at least 1, got {value!r}")
    if name is None:
        name = f"parface_{spec.variant}" + ("_frame" if spec.graph == "frame" else "")
    # A model name is one folder name inside the repository: never a path that leaves it.
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidOptionError(
            f"model name {name!r} must be letters, digits, '_', '-' or '.' (not starting with '.'), "
            "at most 128 characters: it is a folder inside the repository"
        )
    out_dir = Path(out_dir)
    folder = out_dir / name
    text = triton_config(spec, name, max_batch, gpu=gpu, tensorrt_fp16=tensorrt_fp16, instances=instances)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Written into a hidden folder beside the model folder and renamed in whole: never half a model.
    staging = Path(tempfile.mkdtemp(dir=out_dir, prefix=".pf-"))
    try:
        (staging / str(version)).mkdir()
        shutil.copyfile(onnx_path, staging / str(version) / "model.onnx")
        (staging / "config.pbtxt").write_text(text)
        for path in (staging, staging / str(version)):
            os.chmod(path, 0o777 & ~_umask())
        for path in (staging / "config.pbtxt", staging / str(version) / "model.onnx"):
            os.chmod(path, 0o666 & ~_umask())
        if not folder.exists():
            os.replace(staging, folder)
        else:  # keep the folder's other versions: swap in this version, then the config
            version_dir = folder / str(version)
            old = Path(tempfile.mkdtemp(dir=out_dir, prefix=".pf-old-"))
            try:
                if version_dir.exists():
                    os.replace(version_dir, old / "version")
                os.replace(staging / str(version), version_dir)
                os.replace(staging / "config.pbtxt", folder / "config.pbtxt")
            except BaseException:
                if (old / "version").exists() and not version_dir.exists():
                    os.replace(old / "version", version_dir)
                raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def _umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
