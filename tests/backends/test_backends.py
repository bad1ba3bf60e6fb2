import numpy as np
import pytest

from parface_sdk.backends import available_backends, backend_for_path, create_backend
from parface_sdk.errors import ModelLoadError, ModelNotFoundError, UnsupportedShapeError


def real_crops(shared_dir, spec, count=4):
    """Crops of real 300-W train faces, normalised as the runtime does."""
    from parface_sdk import crop
    from parface_sdk.geometry import read_pts
    from parface_sdk.image import load_image

    folder = shared_dir / "data" / "300w-subset" / "train"
    batch = []
    for pts in sorted(folder.glob("*.pts"))[:count]:
        points = read_pts(pts).astype(np.float64)
        image = next(p for p in folder.glob(pts.stem + ".*") if p.suffix != ".pts")
        transform = crop.transform_from_landmarks(points, spec.input_size, spec.crop_scale)
        batch.append(crop.warp(load_image(image), transform, spec.input_size))
    return crop.normalize(np.stack(batch), spec.mean, spec.std)


def test_torch_and_onnxruntime_give_the_same_landmarks(tiny_checkpoint, tiny_onnx, shared_dir):
    torch_backend = create_backend(tiny_checkpoint)
    ort_backend = create_backend(tiny_onnx)
    assert (torch_backend.name, ort_backend.name) == ("torch", "onnxruntime")
    assert torch_backend.spec == ort_backend.spec
    crops = real_crops(shared_dir, ort_backend.spec)
    points_t, conf_t = torch_backend.run(crops)
    points_o, conf_o = ort_backend.run(crops)
    assert points_o.shape == (4, 68, 3) and conf_o.shape == (4, 68)
    assert np.abs(points_t - points_o).max() < 1e-3
    assert np.abs(conf_t - conf_o).max() < 1e-4


def test_wrong_crop_shape_is_a_typed_error(tiny_onnx):
    backend = create_backend(tiny_onnx)
    with pytest.raises(UnsupportedShapeError, match=r"\(B, 3, 64, 64\)"):
        backend.run(np.zeros((1, 3, 32, 32), np.float32))


def test_corrupt_foreign_and_missing_models(tmp_path, tiny_onnx):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(tiny_onnx.read_bytes()[:1000])
    with pytest.raises(ModelLoadError):
        create_backend(corrupt)
    with pytest.raises(ModelNotFoundError):
        create_backend(tmp_path / "missing.onnx")
    with pytest.raises(ModelLoadError):
        create_backend(tmp_path / "model.xyz")
    bad_checkpoint = tmp_path / "bad.safetensors"
    bad_checkpoint.write_bytes(b"garbage")
    pytest.importorskip("torch")
    with pytest.raises(ModelLoadError):
        create_backend(bad_checkpoint)


def test_foreign_onnx_without_spec(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ModelLoadError, match="not a parface-sdk model"):
        create_backend(path)


def test_suffix_registry():
    assert backend_for_path("a.onnx") == "onnxruntime"
    assert backend_for_path("a.safetensors") == "torch"
    assert backend_for_path("a.engine") == "tensorrt"


@pytest.mark.parametrize("name", ["onnxruntime", "torch", "torch-frame"])
def test_backend_name_is_its_registry_name(name, tiny_onnx, tiny_checkpoint):
    model = tiny_onnx if name == "onnxruntime" else tiny_checkpoint
    backend = create_backend(model, backend=name)
    assert backend.name == name and name in available_backends()
    backend.close()
