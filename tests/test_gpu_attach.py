"""A GPU that was asked for and does not attach is an error naming what is missing, never a CPU run."""

import types

import pytest

from parface_sdk.backends import ort_session
from parface_sdk.errors import BackendUnavailableError


class _FakeSession:
    """An onnxruntime session whose CUDA provider failed to load: only the CPU attached."""

    def __init__(self, path, sess_options=None, providers=None):
        self.requested = providers

    def get_providers(self):
        return ["CPUExecutionProvider"]


def _fake_onnxruntime(available):
    onnxruntime = pytest.importorskip("onnxruntime")
    fake = types.SimpleNamespace(
        __version__="fake",
        SessionOptions=onnxruntime.SessionOptions,
        GraphOptimizationLevel=onnxruntime.GraphOptimizationLevel,
        get_available_providers=lambda: list(available),
        InferenceSession=_FakeSession,
    )
    return fake


def test_cuda_that_does_not_attach_names_the_missing_library(monkeypatch, tiny_onnx):
    fake = _fake_onnxruntime(["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort_session, "import_onnxruntime", lambda: fake)
    monkeypatch.setattr(ort_session, "missing_libraries", lambda provider: ["libcudnn.so.9"])
    with pytest.raises(BackendUnavailableError, match=r"CUDAExecutionProvider.*libcudnn\.so\.9"):
        ort_session.make_session(tiny_onnx, device="cuda")
    # The CPU asks for nothing more.
    assert ort_session.make_session(tiny_onnx, device="cpu").get_providers() == ["CPUExecutionProvider"]


def test_cuda_missing_from_the_onnxruntime_build_is_an_error(monkeypatch, tiny_onnx):
    fake = _fake_onnxruntime(["CPUExecutionProvider"])
    monkeypatch.setattr(ort_session, "import_onnxruntime", lambda: fake)
    with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu"):
        ort_session.make_session(tiny_onnx, device="cuda")


def test_the_real_cpu_build_refuses_cuda(tiny_onnx):
    """On this CPU-only onnxruntime a CUDA request fails at creation, through the Aligner too."""
    onnxruntime = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    from parface_sdk import Aligner

    with pytest.raises(BackendUnavailableError, match="CUDAExecutionProvider"):
        Aligner.from_pretrained(tiny_onnx, device="cuda")


def test_missing_libraries_probes_the_loader():
    assert ort_session.missing_libraries("CPUExecutionProvider") == []
    missing = ort_session.missing_libraries("TensorrtExecutionProvider")
    assert set(missing) <= {"libnvinfer.so.10", "libnvinfer_plugin.so.10", "libnvonnxparser.so.10"}
