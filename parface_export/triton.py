"""A Triton Inference Server model repository for a parface-sdk ONNX model.

Writes ``<out_dir>/<name>/config.pbtxt`` and ``<out_dir>/<name>/1/model.onnx``. Crop graphs get
server-side dynamic batching (Triton joins single-face requests into batches up to
``max_batch``); frame graphs take one frame per request with its own batch of faces, so they are
served without Triton batching (``max_batch_size: 0``). With TensorRT (``--trt``, ``--trt-fp16``)
the onnxruntime backend gets an optimisation profile covering every request shape and, with
``--trt-engine-cache``, keeps its built engines across restarts. The ParFace spec is copied into the
config's ``parameters`` so clients can read the input size and normalisation from the server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from parface_sdk.backends.graph_io import CROPS_INPUT, FRAME_INPUT, TRANSFORMS_INPUT
from parface_sdk.errors import InvalidOptionError
from parface_sdk.spec import SPEC_METADATA_KEY, ModelSpec


def _tensor(name: str, dims: list[int]) -> str:
    shape = ", ".join(map(str, dims))
    return f'  {{\n    name: "{name}"\n    data_type: TYPE_FP32\n    dims: [ {shape} ]\n  }}'


def _block(kind: str, tensors: list[str]) -> str:
    return f"{kind} [\n" + ",\n".join(tensors) + "\n]"


def _profile(shapes: dict[str, list[int]]) -> str:
    """TensorRT profile shapes as onnxruntime reads them: ``name:1x3x64x64,name2:...``."""
    return ",".join(f"{name}:{'x'.join(map(str, dims))}" for name, dims in shapes.items())


def tensorrt_profiles(
    spec: ModelSpec, max_batch: int, max_frame: tuple[int, int] = (1080, 1920)
) -> dict[str, str]:
    """The TensorRT provider's optimisation profile (min / opt / max input shapes), so one engine
    covers every request: crop graphs 1 to ``max_batch`` crops; frame graphs frames up to
    ``max_frame`` (height, width) with 1 to ``max_batch`` faces each (optimised for 720p, 1 face)."""
    size = spec.input_size
    if spec.graph == "crop":
        low, opt = {"crops": [1, 3, size, size]}, {"crops": [max_batch, 3, size, size]}
        high = opt
    else:
        height, width = max_frame
        low = {"frame": [1, 3, size, size], "transforms": [1, 2, 3]}
        opt = {"frame": [1, 3, min(720, height), min(1280, width)], "transforms": [1, 2, 3]}
        high = {"frame": [1, 3, height, width], "transforms": [max_batch, 2, 3]}
    return {
        "trt_profile_min_shapes": _profile(low),
        "trt_profile_opt_shapes": _profile(opt),
        "trt_profile_max_shapes": _profile(high),
    }


def _quoted(text: str) -> str:
    # A JSON string literal (quotes and backslashes escaped) is a valid pbtxt string literal.
    return json.dumps(str(text), ensure_ascii=False)


def triton_config(
    spec: ModelSpec,
    name: str,
    max_batch: int = 32,
    *,
    gpu: bool = True,
    tensorrt_fp16: bool = False,
    instances: int = 1,
    max_queue_delay_us: int = 500,
    tensorrt: bool = False,
    trt_engine_cache: str | None = None,
    dynamic_batching: bool | None = None,
    preferred_batch_sizes: list[int] | None = None,
    max_frame: tuple[int, int] = (1080, 1920),
) -> str:
    """The text of ``config.pbtxt`` for ``spec``'s graph (protobuf text format).

    ``max_batch``: crop graphs, Triton's ``max_batch_size``; frame graphs (one frame per request,
    ``max_batch_size: 0``), the most faces per frame in the TensorRT profile.
    ``dynamic_batching``: crop graphs default on (``preferred_batch_sizes``, default 4/8/16/max,
    and ``max_queue_delay_us``); frame graphs cannot be batched by Triton (frames differ in size).
    ``tensorrt`` / ``tensorrt_fp16``: run the graph with the onnxruntime backend's TensorRT provider
    (FP32 / FP16), with an optimisation profile (:func:`tensorrt_profiles`) covering every
    request; ``trt_engine_cache`` (a folder as the server sees it) keeps the built engines there,
    so a restart does not rebuild them. Both need ``gpu``.
    """
    if max_batch < 1:
        raise InvalidOptionError(f"max_batch must be at least 1, got {max_batch}")
    tensorrt = tensorrt or tensorrt_fp16 or trt_engine_cache is not None
    if tensorrt and not gpu:
        raise InvalidOptionError(
            "TensorRT (--trt, --trt-fp16, --trt-engine-cache) needs GPU instances, not --cpu"
        )
    if dynamic_batching and spec.graph != "crop":
        raise InvalidOptionError(
            "Triton cannot batch a frame graph's requests (frames differ in size; max_batch_size 0); "
            "export a crop graph for dynamic batching"
        )
    size, count = spec.input_size, spec.num_landmarks
    batching = ""
    if spec.graph == "crop":
        header = [f'name: "{name}"', 'platform: "onnxruntime_onnx"', f"max_batch_size: {max_batch}"]
        inputs = [_tensor(CROPS_INPUT, [3, size, size])]
        outputs = [_tensor("landmarks", [count, 3]), _tensor("confidence", [count])]
        if dynamic_batching is None or dynamic_batching:
            wanted = preferred_batch_sizes or (4, 8, 16, max_batch)
            preferred = sorted({b for b in wanted if 1 <= b <= max_batch})
            batching = (
                "dynamic_batching {\n"
                + (f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]\n" if preferred else "")
                + f"  max_queue_delay_microseconds: {max_queue_delay_us}\n}}"
            )
    else:
        header = [f'name: "{name}"', 'platform: "onnxruntime_onnx"', "max_batch_size: 0"]
        inputs = [_tensor(FRAME_INPUT, [1, 3, -1, -1]), _tensor(TRANSFORMS_INPUT, [-1, 2, 3])]
        outputs = [_tensor("landmarks", [-1, count, 3]), _tensor("confidence", [-1, count])]
    kind = "KIND_GPU" if gpu else "KIND_CPU"
    parts = [
        "\n".join(header),
        _block("input", inputs),
        _block("output", outputs),
        batching,
        f"instance_group [\n  {{\n    count: {instances}\n    kind: {kind}\n  }}\n]",
    ]
    if tensorrt:
        options = {
            "precision_mode": "FP16" if tensorrt_fp16 else "FP32",
            "max_workspace_size_bytes": "2147483648",
            **tensorrt_profiles(spec, max_batch, max_frame),
        }
        if trt_engine_cache is not None:
            options.update(trt_engine_cache_enable="1", trt_engine_cache_path=str(trt_engine_cache))
        lines = "".join(
            f"        parameters {{ key: {_quoted(k)} value: {_quoted(v)} }}\n" for k, v in options.items()
        )
        parts.append(
            "optimization {\n  execution_accelerators {\n    gpu_execution_accelerator: [\n      {\n"
            '        name: "tensorrt"\n' + lines + "      }\n    ]\n  }\n}"
        )
    spec_text = _quoted(spec.to_json())
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
    **options,
) -> Path:
    """Write the model folder for ``onnx_path`` into the repository ``out_dir``; returns the folder.
    ``options``: the other keywords of :func:`triton_config` (TensorRT, engine cache, batching)."""
    from parface_export.onnx_export import read_spec

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
    text = triton_config(
        spec, name, max_batch, gpu=gpu, tensorrt_fp16=tensorrt_fp16, instances=instances, **options
    )
    out_dir = Path(out_dir)
    folder = out_dir / name
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
