"""The Triton model repository: layout, and config.pbtxt parsed by protobuf against Triton's schema.

The schema is the subset of Triton's ``model_config.proto`` the exporter writes (same message,
field and enum names), so the text is checked by protobuf's own text-format parser: a typo in a
field name, a wrong enum value or an unbalanced brace fails the test.
"""

import json

import pytest

pytest.importorskip("onnx", reason="the export extra (onnx) is not installed")
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format  # noqa: E402

from parface_export.triton import export_triton_repository, triton_config  # noqa: E402
from parface_sdk.spec import ModelSpec  # noqa: E402

F = descriptor_pb2.FieldDescriptorProto
TRITON_DATA_TYPES = {"TYPE_INVALID": 0, "TYPE_BOOL": 1, "TYPE_UINT8": 2, "TYPE_FP16": 10, "TYPE_FP32": 11}
SCALARS = {"string": F.TYPE_STRING, "int32": F.TYPE_INT32, "int64": F.TYPE_INT64, "uint64": F.TYPE_UINT64}


def _message(file, name, fields, nested=()):
    message = (
        file.message_type.add(name=name)
        if isinstance(file, descriptor_pb2.FileDescriptorProto)
        else file.nested_type.add(name=name)
    )
    for entry in nested:
        entry(message)
    for number, (field, kind, repeated) in enumerate(fields, start=1):
        spec = message.field.add(
            name=field, number=number, label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
        )
        if kind in SCALARS:
            spec.type = SCALARS[kind]
        elif kind.startswith("enum:"):
            spec.type, spec.type_name = F.TYPE_ENUM, kind[5:]
        else:
            spec.type, spec.type_name = F.TYPE_MESSAGE, kind
    return message


def _map_entry(name, value_kind):
    def add(message):
        entry = _message(message, name, [("key", "string", False), ("value", value_kind, False)])
        entry.options.map_entry = True

    return add


def model_config_class():
    file = descriptor_pb2.FileDescriptorProto(
        name="triton_subset.proto", package="inference", syntax="proto3"
    )
    data_type = file.enum_type.add(name="DataType")
    for name, number in TRITON_DATA_TYPES.items():
        data_type.value.add(name=name, number=number)
    _message(file, "ModelParameter", [("string_value", "string", False)])
    tensor = [
        ("name", "string", False),
        ("data_type", "enum:.inference.DataType", False),
        ("dims", "int64", True),
    ]
    _message(file, "ModelInput", tensor)
    _message(file, "ModelOutput", tensor)
    group = _message(
        file,
        "ModelInstanceGroup",
        [("count", "int32", False), ("kind", "enum:.inference.ModelInstanceGroup.Kind", False)],
    )
    kind = group.enum_type.add(name="Kind")
    for number, name in enumerate(["KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"]):
        kind.value.add(name=name, number=number)
    _message(
        file,
        "ModelDynamicBatching",
        [("preferred_batch_size", "int32", True), ("max_queue_delay_microseconds", "uint64", False)],
    )
    _message(
        file,
        "Accelerator",
        [("name", "string", False), ("parameters", ".inference.Accelerator.ParametersEntry", True)],
        nested=[_map_entry("ParametersEntry", "string")],
    )
    _message(file, "ExecutionAccelerators", [("gpu_execution_accelerator", ".inference.Accelerator", True)])
    _message(
        file,
        "ModelOptimizationPolicy",
        [("execution_accelerators", ".inference.ExecutionAccelerators", False)],
    )
    _message(
        file,
        "ModelConfig",
        [
            ("name", "string", False),
            ("platform", "string", False),
            ("max_batch_size", "int32", False),
            ("input", ".inference.ModelInput", True),
            ("output", ".inference.ModelOutput", True),
            ("instance_group", ".inference.ModelInstanceGroup", True),
            ("dynamic_batching", ".inference.ModelDynamicBatching", False),
            ("optimization", ".inference.ModelOptimizationPolicy", False),
            ("parameters", ".inference.ModelConfig.ParametersEntry", True),
        ],
        nested=[_map_entry("ParametersEntry", ".inference.ModelParameter")],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("inference.ModelConfig"))


def parse(text):
    return text_format.Parse(text, model_config_class()())


def test_crop_graph_repository(tiny_onnx, tmp_path):
    folder = export_triton_repository(tiny_onnx, tmp_path / "repo", max_batch=16, tensorrt_fp16=True)
    assert folder == tmp_path / "repo" / "parface_tiny"
    assert (folder / "1" / "model.onnx").read_bytes() == tiny_onnx.read_bytes()
    config = parse((folder / "config.pbtxt").read_text())
    assert (config.name, config.platform, config.max_batch_size) == ("parface_tiny", "onnxruntime_onnx", 16)
    assert [(i.name, list(i.dims)) for i in config.input] == [("crops", [3, 64, 64])]
    assert [(o.name, list(o.dims)) for o in config.output] == [("landmarks", [68, 3]), ("confidence", [68])]
    fp32 = TRITON_DATA_TYPES["TYPE_FP32"]
    assert all(t.data_type == fp32 for t in [*config.input, *config.output])
    assert list(config.dynamic_batching.preferred_batch_size) == [4, 8, 16]
    assert config.instance_group[0].kind == 1  # KIND_GPU
    accelerator = config.optimization.execution_accelerators.gpu_execution_accelerator[0]
    assert accelerator.name == "tensorrt" and accelerator.parameters["precision_mode"] == "FP16"
    spec = ModelSpec.from_json(config.parameters["parface_spec"].string_value)
    assert spec.variant == "tiny" and spec.graph == "crop"


def test_frame_graph_config_has_no_server_batching():
    spec = ModelSpec.for_variant("tiny", graph="frame", training={"note": 'naïve "quoted" \\ text'})
    config = parse(triton_config(spec, "parface_tiny_frame", gpu=False))
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert [(i.name, list(i.dims)) for i in config.input] == [
        ("frame", [1, 3, -1, -1]),
        ("transforms", [-1, 2, 3]),
    ]
    assert list(config.output[0].dims) == [-1, 68, 3]
    assert config.instance_group[0].kind == 2  # KIND_CPU
    text = config.parameters["parface_spec"].string_value
    assert json.loads(text)["training"]["note"] == 'naïve "quoted" \\ text'


def test_a_typo_would_be_caught():
    with pytest.raises(text_format.ParseError):
        parse('name: "x"\nmax_batch: 4\n')
