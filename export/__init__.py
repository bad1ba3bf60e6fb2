"""Export ParFace checkpoints to self-describing ONNX models and TensorRT engines."""
