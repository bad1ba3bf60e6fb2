"""Export ParFace checkpoints to self-describing ONNX models, TensorRT engines and Triton repositories.

A few short functions, each also behind ``parface export``:

- :func:`parface_export.onnx_export.export_onnx` / ``export_checkpoint`` / ``read_spec``: crop or frame graph,
  float32 or float16 weights, spec in the metadata;
- :func:`parface_export.parity.check_parity` / ``check_frame_parity``: differences against PyTorch
  on real faces;
- :func:`parface_export.tensorrt_build.build_engine`: a TensorRT 10 engine with the parface-sdk header;
- :func:`parface_export.triton.export_triton_repository`: ``config.pbtxt`` + ``1/model.onnx``.
"""
