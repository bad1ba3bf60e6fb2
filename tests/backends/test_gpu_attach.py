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
    assert set(missing) <= set(ort_session.provider_libraries("TensorrtExecutionProvider"))


@pytest.mark.parametrize(
    ("version", "cudart", "cufft"),
    [
        ("1.27.0", "libcudart.so.13", "libcufft.so.12"),  # the [gpu] extra's CUDA 13 line
        ("1.31.2", "libcudart.so.13", "libcufft.so.12"),
        ("1.22.0", "libcudart.so.12", "libcufft.so.11"),
        ("1.18.1", "libcudart.so.11.0", "libcufft.so.10"),
    ],
)
def test_libraries_follow_the_installed_onnxruntime(monkeypatch, version, cudart, cufft):
    """The CUDA libraries probed are those of the onnxruntime-gpu build that is installed."""
    monkeypatch.setattr(ort_session.metadata, "version", lambda name: version)
    cuda = ort_session.provider_libraries("CUDAExecutionProvider")
    assert cudart in cuda and cufft in cuda and "libcuda.so.1" in cuda
    tensorrt = ort_session.provider_libraries("TensorrtExecutionProvider")
    assert "libnvinfer.so.10" in tensorrt and cudart in tensorrt
    probed = []

    def fake_cdll(name):
        probed.append(name)
        raise OSError(name)

    monkeypatch.setattr("ctypes.CDLL", fake_cdll)
    assert ort_session.missing_libraries("CUDAExecutionProvider") == probed == list(cuda)


def test_error_names_the_cuda_line_of_the_installed_onnxruntime(monkeypatch, tiny_onnx):
    fake = _fake_onnxruntime(["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort_session, "import_onnxruntime", lambda: fake)
    monkeypatch.setattr(ort_session.metadata, "version", lambda name: "1.28.0")
    monkeypatch.setattr("ctypes.CDLL", lambda name: (_ for _ in ()).throw(OSError(name)))
    with pytest.raises(BackendUnavailableError, match=r"libcudart\.so\.13.*CUDA 13 / cuDNN 9.*1\.28\.0"):
        ort_session.make_session(tiny_onnx, device="cuda")
