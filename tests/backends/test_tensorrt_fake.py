"""The TensorRT builder and backend logic, run against stand-ins of ``tensorrt`` and ``cuda-python``.

No GPU here, so these fakes implement the few calls the code makes (same names and signatures as
TensorRT 10 and cuda-python), with host memory as "device" memory and onnxruntime executing the
"plan". They check the glue: profile shapes, the engine-file header, buffer sizes, batch chunking,
named-tensor I/O, CUDA-graph capture and replay, FP32 pinning. Real-GPU tests: test_tensorrt.py.
"""

import ctypes
import json
import sys
import types

import numpy as np
import pytest

pytest.importorskip("onnx", reason="the export extra (onnx) is not installed")


class _Capture:
    active = None  # the list recording enqueues while a stream is being captured


def _fake_cudart():
    rt = types.ModuleType("cuda.bindings.runtime")
    ok = 0
    rt.cudaError_t = types.SimpleNamespace(cudaSuccess=ok)
    rt.cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)
    rt.cudaStreamCaptureMode = types.SimpleNamespace(cudaStreamCaptureModeGlobal=0)
    memory = {}

    def malloc(nbytes):
        block = np.zeros(nbytes, np.uint8)
        memory[block.ctypes.data] = block
        return ok, block.ctypes.data

    rt.cudaMalloc = malloc
    rt.cudaFree = lambda pointer: (memory.pop(pointer) is not None and ok,)
    rt.cudaMemcpyAsync = lambda dst, src, count, kind, stream: (ctypes.memmove(dst, src, count) and ok,)
    rt.cudaStreamCreate = lambda: (ok, 7)
    rt.cudaStreamSynchronize = rt.cudaStreamDestroy = lambda stream: (ok,)
    rt.cudaGetDeviceCount = lambda: (ok, 1)
    properties = types.SimpleNamespace(name=b"Fake GPU", major=8, minor=6)
    rt.cudaGetDeviceProperties = lambda device: (ok, properties)
    rt.cudaGetErrorString = lambda error: (ok, b"fake error")

    def begin(stream, mode):
        _Capture.active = []
        return (ok,)

    def end(stream):
        graph, _Capture.active = _Capture.active, None
        return ok, graph

    rt.cudaStreamBeginCapture, rt.cudaStreamEndCapture = begin, end
    rt.cudaGraphInstantiate = lambda graph, flags: (ok, list(graph))
    rt.cudaGraphLaunch = lambda graph, stream: ([call() for call in graph] and ok,)
    rt.cudaGraphDestroy = rt.cudaGraphExecDestroy = lambda graph: (ok,)
    return rt


def _host(pointer, shape, dtype=np.float32):
    count = int(np.prod(shape))
    return np.ctypeslib.as_array((ctypes.c_float * count).from_address(pointer)).reshape(shape).view(dtype)


class _Engine:
    def __init__(self, plan):
        from parface_sdk.backends.ort_session import make_session

        meta, onnx_bytes = plan.split(b"\n", 1)
        self.profiles = {k: [tuple(s) for s in v] for k, v in json.loads(meta[len(b"FAKEPLAN") :]).items()}
        path = _Engine.folder / "plan.onnx"
        path.write_bytes(onnx_bytes)
        self.session = make_session(path)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.names = self.inputs + [o.name for o in self.session.get_outputs()]
        self.num_io_tensors = len(self.names)
        self.runs = 0

    def get_tensor_name(self, index):
        return self.names[index]

    def get_tensor_mode(self, name):
        return "INPUT" if name in self.inputs else "OUTPUT"

    def get_tensor_dtype(self, name):
        return "float32"

    def get_tensor_profile_shape(self, name, profile):
        return self.profiles[name]

    def create_execution_context(self):
        return _Context(self)


class _Context:
    def __init__(self, engine):
        self.engine, self.shapes, self.addresses = engine, {}, {}

    def set_input_shape(self, name, shape):
        self.shapes[name] = tuple(shape)

    def get_tensor_shape(self, name):
        batch = self.shapes[self.engine.inputs[-1]][0]
        return (batch, 68, 3) if name == "landmarks" else (batch, 68)

    def set_tensor_address(self, name, pointer):
        self.addresses[name] = pointer

    def _run(self):
        feeds = {n: _host(self.addresses[n], self.shapes[n]).copy() for n in self.engine.inputs}
        landmarks, confidence = self.engine.session.run(["landmarks", "confidence"], feeds)
        _host(self.addresses["landmarks"], landmarks.shape)[...] = landmarks
        _host(self.addresses["confidence"], confidence.shape)[...] = confidence
        self.engine.runs += 1

    def execute_async_v3(self, stream):
        assert isinstance(stream, int)
        shapes = dict(self.shapes)
        if _Capture.active is not None:  # replay with the shapes of capture time
            _Capture.active.append(lambda: (self.shapes.update(shapes), self._run()))
        else:
            self._run()
        return True


def _fake_tensorrt(version="10.0.0"):
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.float32, trt.float16 = "float32", "float16"
    trt.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda self, level=2: None})
    trt.TensorIOMode = types.SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT")
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
    trt.BuilderFlag = types.SimpleNamespace(FP16="FP16", PREFER_PRECISION_CONSTRAINTS="PREFER")
    trt.nptype = lambda dtype: np.float32
    trt.Runtime = lambda logger: types.SimpleNamespace(deserialize_cuda_engine=_Engine)
    trt.built = {}

    class Layer:
        def __init__(self, name):
            self.name, self.precision, self.num_outputs, self.types = name, None, 1, {}

        def get_output(self, index):
            return types.SimpleNamespace(dtype="float32")

        def set_output_type(self, index, dtype):
            self.types[index] = dtype

    class Network:
        layers = []
        num_layers = property(lambda self: len(self.layers))
        get_layer = lambda self, index: self.layers[index]  # noqa: E731

    class Parser:
        num_errors = 0

        def __init__(self, network, logger):
            self.network = network

        def parse_from_file(self, path):
            import onnx

            self.network.onnx = open(path, "rb").read()
            self.network.layers = [Layer(n.name) for n in onnx.load(path).graph.node]
            trt.built["layers"] = self.network.layers
            return True

    class Config:
        def __init__(self):
            self.flags, self.profiles, self.cache = set(), [], None

        def set_memory_pool_limit(self, pool, size):
            trt.built["workspace"] = size

        def set_flag(self, flag):
            self.flags.add(flag)

        def add_optimization_profile(self, profile):
            self.profiles.append(profile)

        def create_timing_cache(self, data):
            return bytearray(data)

        def set_timing_cache(self, cache, ignore_mismatch):
            self.cache = cache

        def get_timing_cache(self):
            return types.SimpleNamespace(serialize=lambda: bytes(self.cache) + b"+timing")

    class Profile(dict):
        def set_shape(self, name, low, opt, high):
            self[name] = [low, opt, high]

    class Builder:
        def __init__(self, logger):
            pass

        create_network = lambda self, flags: Network()  # noqa: E731
        create_builder_config = lambda self: Config()  # noqa: E731
        create_optimization_profile = lambda self: Profile()  # noqa: E731

        def build_serialized_network(self, network, config):
            trt.built["flags"] = config.flags
            return b"FAKEPLAN" + json.dumps(config.profiles[0]).encode() + b"\n" + network.onnx

    trt.Builder, trt.OnnxParser = Builder, Parser
    return trt


@pytest.fixture
def fake_gpu(monkeypatch, tmp_path):
    trt, rt = _fake_tensorrt(), _fake_cudart()
    bindings = types.ModuleType("cuda.bindings")
    bindings.runtime = rt
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setitem(sys.modules, "cuda", types.ModuleType("cuda"))
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
    monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", rt)
    _Engine.folder = tmp_path
    return trt


def test_build_then_run_a_crop_engine(fake_gpu, tiny_onnx, tmp_path):
    from parface_export.tensorrt_build import build_engine
    from parface_sdk.backends import create_backend
    from parface_sdk.backends.engine_file import read_engine_header

    (tmp_path / "trt.cache").write_bytes(b"old")
    cache = tmp_path / "trt.cache"
    engine = build_engine(tiny_onnx, tmp_path / "tiny.engine", max_batch=4, timing_cache=cache)
    header, _ = read_engine_header(engine)
    assert (header.gpu_name, header.compute_capability) == ("Fake GPU", "8.6")
    assert header.tensorrt_version == "10.0.0"
    assert header.max_batch == 4 and header.precision == "fp16" and header.spec.variant == "tiny"
    assert (tmp_path / "trt.cache").read_bytes() == b"old+timing"
    assert fake_gpu.built["flags"] == {"FP16", "PREFER"}
    pinned = {layer.name for layer in fake_gpu.built["layers"] if layer.precision == "float32"}
    assert any("ArgMax" in name for name in pinned) and not any("/Conv" in name for name in pinned)

    crops = np.random.default_rng(0).standard_normal((10, 3, 64, 64)).astype(np.float32)
    expected = create_backend(tiny_onnx).run(crops)
    backend = create_backend(engine)
    landmarks, confidence = backend.run(crops)  # 10 faces in chunks of 4, 4, 2
    np.testing.assert_allclose(landmarks, expected[0], atol=1e-5)
    np.testing.assert_allclose(confidence, expected[1], atol=1e-6)
    assert backend._engine.runs == 3
    backend.close()


def test_cuda_graph_is_captured_once_per_shape_and_replayed(fake_gpu, tiny_onnx, tmp_path):
    from parface_export.tensorrt_build import build_engine
    from parface_sdk.backends.tensorrt import TensorRTBackend

    engine = build_engine(tiny_onnx, tmp_path / "tiny.engine", precision="fp32", max_batch=4)
    backend = TensorRTBackend(engine, cuda_graph=True)
    rng = np.random.default_rng(1)
    first, second = (rng.standard_normal((2, 3, 64, 64)).astype(np.float32) for _ in range(2))
    reference = TensorRTBackend(engine)
    for crops in (first, second, first):
        np.testing.assert_allclose(backend.run(crops)[0], reference.run(crops)[0], atol=1e-6)
    assert list(backend._graphs) == [((2, 3, 64, 64),)]
    backend.run(first[:1])
    assert len(backend._graphs) == 2
    backend.close()


def test_frame_engine_runs_frames(fake_gpu, tiny_net, tmp_path):
    from parface_export.onnx_export import export_onnx
    from parface_export.tensorrt_build import build_engine
    from parface_sdk import crop
    from parface_sdk.backends.frame_onnxruntime import FrameOnnxRuntimeBackend
    from parface_sdk.backends.tensorrt import TensorRTBackend
    from parface_sdk.errors import UnsupportedShapeError

    onnx_path = export_onnx(tiny_net, tmp_path / "frame.onnx", graph="frame")
    engine = build_engine(onnx_path, tmp_path / "frame.engine", max_batch=2, max_frame=(120, 160))
    image = np.random.default_rng(2).integers(0, 255, (100, 150, 3), dtype=np.uint8)
    transforms = np.stack([crop.similarity(np.array([75.0, 50.0]), 60 + 10 * i, 64) for i in range(3)])
    backend = TensorRTBackend(engine)
    landmarks, _ = backend.run_frame(image, transforms)
    expected, _ = FrameOnnxRuntimeBackend(onnx_path).run_frame(image, transforms)
    np.testing.assert_allclose(landmarks, expected, atol=1e-4)
    with pytest.raises(UnsupportedShapeError, match="crop graph|frame graph"):
        backend.run(np.zeros((1, 3, 64, 64), np.float32))
    with pytest.raises(UnsupportedShapeError, match="exceeds"):
        backend.run_frame(np.zeros((200, 100, 3), np.uint8), transforms)


def test_engine_from_another_tensorrt_is_refused(fake_gpu, tiny_onnx, tmp_path, monkeypatch):
    from parface_export.tensorrt_build import build_engine
    from parface_sdk.backends.tensorrt import TensorRTBackend
    from parface_sdk.errors import EngineMismatchError

    engine = build_engine(tiny_onnx, tmp_path / "tiny.engine", max_batch=2)
    monkeypatch.setattr(fake_gpu, "__version__", "10.7.0")
    with pytest.raises(EngineMismatchError, match="rebuild it on this machine"):
        TensorRTBackend(engine)
