"""int8 ONNX models: onnxruntime static quantization (QDQ, per-channel weights), calibrated on
training faces cropped exactly as the runtime crops them from their landmarks.

Only Conv / MatMul / Gemm are quantized: the rest (the soft-argmax decode, the refiner's
GridSample, the depth head's small ops) stays float32. Calibrate on TRAINING faces only, never on
the faces you evaluate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from parface_sdk.backends.graph_io import CROPS_INPUT
from parface_sdk.spec import ModelSpec

logger = logging.getLogger(__name__)

QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def labelled_faces(folder: str | Path, exclude: Callable[[Path], bool] | None = None) -> list[Path]:
    """The images of ``folder`` with a ``.pts`` beside them, sorted, without those ``exclude`` names."""
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [p for p in paths if p.with_suffix(".pts").is_file() and not (exclude and exclude(p))]


def landmark_crops(paths: list[Path], spec: ModelSpec) -> tuple[np.ndarray, list[np.ndarray]]:
    """Normalised (K, 3, S, S) crops made as the runtime makes them (``faces_from_landmarks``, warp,
    normalize) from each face's own landmarks, and the landmarks."""
    from parface_sdk import crop, pipeline
    from parface_sdk.image import load_image
    from parface_sdk.landmark_files import read_pts

    crops, points = [], []
    for path in paths:
        image = load_image(path)
        landmarks = read_pts(path.with_suffix(".pts"))
        batch = pipeline.faces_from_landmarks([[landmarks]], spec)
        crops.append(crop.warp(image, batch.transforms[0], spec.input_size))
        points.append(landmarks)
    return crop.normalize(np.stack(crops), spec.mean, spec.std).astype(np.float32), points


def quantize_int8(
    onnx_path: str | Path,
    out_path: str | Path,
    calibration: str | Path | np.ndarray,
    limit: int = 128,
    exclude: Callable[[Path], bool] | None = None,
) -> Path:
    """Write an int8 (QDQ, per-channel) copy of the crop-graph ``onnx_path`` to ``out_path``.

    ``calibration`` is a folder of training images with ``.pts`` landmarks (the first ``limit``,
    less those ``exclude`` names) or an array of normalised crops. The model's metadata (its spec)
    is kept.
    """
    import onnx
    from onnxruntime import quantization as q

    from parface_sdk.backends.graph_io import read_onnx_spec
    from parface_sdk.backends.ort_session import make_session

    onnx_path, out_path = Path(onnx_path), Path(out_path)
    spec = read_onnx_spec(make_session(onnx_path), str(onnx_path))
    if isinstance(calibration, np.ndarray):
        crops = calibration.astype(np.float32)
    else:
        crops, _ = landmark_crops(labelled_faces(calibration, exclude)[:limit], spec)
    if not len(crops):
        raise ValueError(f"no calibration faces in {calibration}")

    class Reader(q.CalibrationDataReader):
        def __init__(self) -> None:
            self._batches: Iterator[np.ndarray] = iter(crops[i : i + 1] for i in range(len(crops)))

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {CROPS_INPUT: batch}

    q.quantize_static(
        str(onnx_path),
        str(out_path),
        Reader(),
        quant_format=q.QuantFormat.QDQ,
        per_channel=True,
        activation_type=q.QuantType.QInt8,
        weight_type=q.QuantType.QInt8,
        op_types_to_quantize=list(QUANTIZED_OPS),
        calibrate_method=q.CalibrationMethod.MinMax,
    )
    source, quantized = onnx.load(str(onnx_path)), onnx.load(str(out_path))
    kept = {entry.key for entry in quantized.metadata_props}
    for entry in source.metadata_props:  # the spec travels with the model
        if entry.key not in kept:
            quantized.metadata_props.add(key=entry.key, value=entry.value)
    onnx.save(quantized, str(out_path))
    logger.info("int8 model written to %s (%d calibration faces)", out_path, len(crops))
    return out_path
