"""Every config.pbtxt `parface export triton` can write, parsed by Triton's own protobuf schema
(tritonclient's model_config_pb2, the ModelConfig message the server reads)."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("onnx", reason="the export extra (onnx) is not installed")
model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2",
    reason='tritonclient is not installed (pip install "parface-sdk[triton]"); Triton\'s schema is not here',
)
from google.protobuf import text_format  # noqa: E402

from parface_export.triton import export_triton_repository, triton_config  # noqa: E402
from parface_sdk.errors import InvalidOptionError  # noqa: E402
from parface_sdk.spec import ModelSpec  # noqa: E402

ModelConfig = model_config_pb2.ModelConfig


def parse(text: str):
    return text_format.Parse(text, ModelConfig())


def _accelerator(config):
    accelerators = config.optimization.execution_accelerators.gpu_execution_accelerator
    return dict(accelerators[0].parameters) if accelerators else None


GRAPHS = ["crop", "frame"]
TENSORRT = [{}, {"tensorrt": True}, {"tensorrt_fp16": True}, {"trt_engine_cache": '/cache/"trt" engines'}]
BATCHING = [{}, {"dynamic_batching": False}, {"preferred_batch_sizes": [2, 64, 8], "max_queue_delay_us": 100}]


@pytest.mark.parametrize(
    ("graph", "trt", "batching", "gpu"), list(itertools.product(GRAPHS, TENSORRT, BATCHING, [True, False]))
)
def test_every_config_parses_with_tritons_schema(graph, trt, batching, gpu):
    spec = ModelSpec.for_variant("tiny", graph=graph)
    if (trt and not gpu) or (graph == "frame" and batching.get("dynamic_batching")):
        with pytest.raises(InvalidOptionError):
            triton_config(spec, "m", 16, gpu=gpu, **trt, **batching)
        return
    config = parse(triton_config(spec, "m", 16, gpu=gpu, **trt, **batching))
    assert config.platform == "onnxruntime_onnx"
    assert config.instance_group[0].kind == (
        model_config_pb2.ModelInstanceGroup.KIND_GPU if gpu else model_config_pb2.ModelInstanceGroup.KIND_CPU
    )
    assert all(t.data_type == model_config_pb2.TYPE_FP32 for t in [*config.input, *config.output])
    if graph == "crop":
        assert config.max_batch_size == 16
        assert config.HasField("dynamic_batching") == (batching.get("dynamic_batching") is not False)
        if "preferred_batch_sizes" in batching:
            assert list(config.dynamic_batching.preferred_batch_size) == [2, 8]
            assert config.dynamic_batching.max_queue_delay_microseconds == 100
    else:
        assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    parameters = _accelerator(config)
    assert (parameters is not None) == bool(trt)
    if parameters:
        assert parameters["precision_mode"] == ("FP16" if "tensorrt_fp16" in trt else "FP32")
        if "trt_engine_cache" in trt:
            assert parameters["trt_engine_cache_enable"] == "1"
            assert parameters["trt_engine_cache_path"] == '/cache/"trt" engines'
        if graph == "crop":
            assert parameters["trt_profile_min_shapes"] == "crops:1x3x64x64"
            assert parameters["trt_profile_max_shapes"] == "crops:16x3x64x64"
        else:
            assert parameters["trt_profile_min_shapes"] == "frame:1x3x64x64,transforms:1x2x3"
            assert parameters["trt_profile_opt_shapes"] == "frame:1x3x720x1280,transforms:1x2x3"
            assert parameters["trt_profile_max_shapes"] == "frame:1x3x1080x1920,transforms:16x2x3"
    assert ModelSpec.from_json(config.parameters["parface_spec"].string_value).graph == graph


def test_frame_profile_follows_max_frame():
    spec = ModelSpec.for_variant("tiny", graph="frame")
    config = parse(triton_config(spec, "m", 4, tensorrt=True, max_frame=(480, 640)))
    assert _accelerator(config)["trt_profile_max_shapes"] == "frame:1x3x480x640,transforms:4x2x3"
    assert _accelerator(config)["trt_profile_opt_shapes"] == "frame:1x3x480x640,transforms:1x2x3"


def test_written_repository_parses(tiny_onnx, tmp_path):
    folder = export_triton_repository(
        tiny_onnx, tmp_path / "repo", 8, tensorrt_fp16=True, trt_engine_cache="/models/cache"
    )
    config = parse((folder / "config.pbtxt").read_text())
    assert config.name == "parface_tiny" and _accelerator(config)["trt_engine_cache_path"] == "/models/cache"


def test_cli_options_reach_the_config(tiny_onnx, tmp_path, capsys):
    from parface_sdk.cli.main import main

    out = tmp_path / "repo"
    args = ["export", "triton", str(tiny_onnx), "-o", str(out), "--max-batch", "8", "--trt"]
    assert (
        main([*args, "--trt-engine-cache", "/c", "--preferred-batch", "2", "4", "--max-queue-delay-us", "50"])
        == 0
    )
    config = parse((out / "parface_tiny" / "config.pbtxt").read_text())
    assert list(config.dynamic_batching.preferred_batch_size) == [2, 4]
    assert _accelerator(config)["trt_engine_cache_path"] == "/c"
    assert main([*args, "--no-dynamic-batching"]) == 0
    assert not parse((out / "parface_tiny" / "config.pbtxt").read_text()).HasField("dynamic_batching")
    assert main([*args, "--cpu"]) == 2
    assert "needs GPU instances" in capsys.readouterr().err
