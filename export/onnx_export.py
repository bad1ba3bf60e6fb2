"""Export the landmark network to one ONNX graph: normalised crops in, 68x3 landmarks out."""

from __future__ import annotations

from pathlib import Path

from parface_sdk.backends.base import CONFIDENCE_OUTPUT, CROPS_INPUT, LANDMARKS_OUTPUT
from parface_sdk.spec import SPEC_METADATA_KEY, ModelSpec


def export_onnx(net, path: str | Path, opset: int = 17, spec: ModelSpec | None = None) -> Path:
    """Trace ``net`` with a dynamic batch axis and write the spec into the model metadata."""
    import onnx
    import torch

    spec = spec or net.spec
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = net.eval().cpu()
    example = torch.zeros(2, 3, spec.input_size, spec.input_size)
    temporary = path.with_suffix(path.suffix + ".tmp")
    with torch.inference_mode():
        torch.onnx.export(
            net,
            (example,),
            str(temporary),
            input_names=[CROPS_INPUT],
            output_names=[LANDMARKS_OUTPUT, CONFIDENCE_OUTPUT],
            dynamic_axes={CROPS_INPUT: {0: "batch"}, LANDMARKS_OUTPUT: {0: "batch"},
                          CONFIDENCE_OUTPUT: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    model = onnx.load(str(temporary))
    entry = model.metadata_props.add()
    entry.key, entry.value = SPEC_METADATA_KEY, spec.to_json()
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    temporary.unlink(missing_ok=True)
    return path
