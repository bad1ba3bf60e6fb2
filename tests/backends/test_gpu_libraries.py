"""The GPU path before the first run on a real GPU: the pip-installed CUDA / TensorRT libraries are
loaded before a GPU session, a library that is there but will not load is a typed error, and the
detector runs where the network runs. Fakes stand in for onnxruntime-gpu and TensorRT; what only a
real GPU can confirm (that onnxruntime then attaches the CUDA provider) is in benchmarks/gpu_check.py."""

import sys
import types

import numpy as np
import pytest

from parface_sdk.backends import ort_session
from parface_sdk.errors import BackendUnavailableError


def _fake_onnxruntime(calls, preload=True, preload_error=None):
    onnxruntime = pytest.importorskip("onnxruntime")

    class Session:
        def __init__(self, path, sess_options=None, providers=None):
            calls.append(("session", [name for name, _ in providers]))
            self.providers = [name for name, _ in providers]

        def get_providers(self):
            return self.providers

    def preload_dlls():
        calls.append(("preload", None))
        if preload_error is not None:
            raise preload_error

    fake = types.SimpleNamespace(
        __version__="1.27.0",
        SessionOptions=onnxruntime.SessionOptions,
        GraphOptimizationLevel=onnxruntime.GraphOptimizationLevel,
        get_available_providers=lambda: [
            "TensorrtExecutionProvider",
            "CUDAExecutionProvider",
            "CPUExecutionProvider",
        ],
        InferenceSession=Session,
    )
    if preload:
        fake.preload_dlls = preload_dlls
    return fake


@pytest.fixture()
def fake_ort(monkeypatch):
    calls = []

    def install(**kwargs):
        fake = _fake_onnxruntime(calls, **kwargs)
        monkeypatch.setattr(ort_session, "import_onnxruntime", lambda: fake)
        return fake

    return calls, install


def test_cuda_session_preloads_the_pip_cuda_libraries_first(fake_ort, tiny_onnx):
    calls, install = fake_ort
    install()
    ort_session.make_session(tiny_onnx, device="cuda")
    assert calls[0] == ("preload", None)
    assert calls[1] == ("session", ["CUDAExecutionProvider", "CPUExecutionProvider"])


def test_cpu_session_loads_no_gpu_library(fake_ort, tiny_onnx):
    calls, install = fake_ort
    install()
    ort_session.make_session(tiny_onnx, device="cpu")
    assert calls == [("session", ["CPUExecutionProvider"])]


def test_older_onnxruntime_without_preload_still_opens(fake_ort, tiny_onnx):
    calls, install = fake_ort
    install(preload=False)  # onnxruntime-gpu < 1.21 has no preload_dlls
    ort_session.make_session(tiny_onnx, device="cuda")
    assert [kind for kind, _ in calls] == ["session"]


def test_libraries_that_fail_to_load_are_installed_but_not_loadable(fake_ort, tiny_onnx):
    _calls, install = fake_ort
    install(preload_error=OSError("libcudart.so.13: version `libcudart.so.13' not found"))
    with pytest.raises(BackendUnavailableError, match=r"installed but not loadable.*libcudart\.so\.13"):
        ort_session.make_session(tiny_onnx, device="cuda")


def test_tensorrt_provider_imports_tensorrt_before_the_session(fake_ort, tiny_onnx, monkeypatch):
    calls, install = fake_ort
    install()
    loader = types.ModuleType("tensorrt")
    # set, then delete: undoing both leaves sys.modules as it was, without the fake imported below
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    monkeypatch.delitem(sys.modules, "tensorrt")

    class Finder:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorrt":
                calls.append(("import tensorrt", None))
                import importlib.machinery

                return importlib.machinery.ModuleSpec("tensorrt", _Loader())
            return None

    class _Loader:
        def create_module(self, spec):
            return loader

        def exec_module(self, module):
            pass

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    ort_session.make_session(tiny_onnx, device="tensorrt")
    kinds = [kind for kind, _ in calls]
    assert kinds == ["preload", "import tensorrt", "session"]
    assert calls[-1][1][0] == "TensorrtExecutionProvider"


def test_tensorrt_wheel_that_fails_to_load_is_a_typed_error(fake_ort, tiny_onnx, monkeypatch):
    _calls, install = fake_ort
    install()
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import raises ImportError
    monkeypatch.setattr(ort_session, "_installed", lambda name: name == "tensorrt-cu13")
    with pytest.raises(BackendUnavailableError, match="TensorRT is installed but not loadable"):
        ort_session.make_session(tiny_onnx, device="tensorrt")


def test_detector_session_gets_the_cuda_provider_on_cuda(fake_ort):
    """BlazeFace's onnxruntime session asks for the CUDA provider under device='cuda'."""
    calls, install = fake_ort
    install()
    from parface_sdk.detect.blazeface import BlazeFaceDetector

    BlazeFaceDetector(device="cuda")
    assert ("session", ["CUDAExecutionProvider", "CPUExecutionProvider"]) in calls


def test_aligner_puts_the_detector_where_the_network_runs(monkeypatch, tiny_onnx):
    """A TensorRT engine runs on the GPU with device left at 'cpu': its detector goes to cuda too."""
    import parface_sdk.detect as detect
    from parface_sdk import Aligner

    seen = {}

    def fake_create_detector(name, model_path=None, device="cpu", **kwargs):
        seen["device"] = device
        return types.SimpleNamespace(name="fake", detect=lambda image: np.zeros((0, 4), np.float32))

    monkeypatch.setattr(detect, "create_detector", fake_create_detector)
    aligner = Aligner(tiny_onnx)
    aligner.backend.device = "cuda"  # what TensorRTBackend reports whatever `device` said
    assert aligner.detector.name == "fake"
    assert seen["device"] == "cuda"


def test_cuda_graph_and_pinned_upload_are_no_ops_with_a_note_on_cpu(tiny_onnx, caplog):
    import logging

    from parface_sdk import Aligner, AlignerOptions

    with caplog.at_level(logging.INFO, logger="parface_sdk.backends"):
        aligner = Aligner(tiny_onnx, AlignerOptions(cuda_graph=True, pinned_upload=False))
    assert aligner.backend.name == "onnxruntime"
    assert "cuda_graph=True applies to ('tensorrt',) on cuda only" in caplog.text
    assert "pinned=False applies to ('torch-frame',) on cuda only" in caplog.text
    with pytest.raises(ValueError):
        AlignerOptions(cuda_graph="sometimes")


def test_cuda_graph_reaches_the_tensorrt_engine_and_pinned_the_torch_frame(monkeypatch, tmp_path):
    """What each runtime receives from AlignerOptions (the runtimes themselves are faked: only a
    GPU can replay a CUDA graph or pin memory)."""
    import parface_sdk.backends as backends

    received = {}

    def factory(name):
        def make(path, **kwargs):
            received[name] = kwargs
            return types.SimpleNamespace(spec=None)

        return make

    monkeypatch.setattr(
        backends.importlib,
        "import_module",
        lambda module: types.SimpleNamespace(
            TensorRTBackend=factory("tensorrt"), TorchFrameBackend=factory("torch-frame")
        ),
    )
    backends.create_backend(
        tmp_path / "m.engine", backend="tensorrt", device="cuda", cuda_graph=True, pinned=True
    )
    backends.create_backend(
        tmp_path / "m.safetensors", backend="torch-frame", device="cuda", cuda_graph=True, pinned=False
    )
    assert received["tensorrt"] == {"device": "cuda", "cuda_graph": True}
    assert received["torch-frame"] == {"device": "cuda", "precision": "fp32", "pinned": False}
