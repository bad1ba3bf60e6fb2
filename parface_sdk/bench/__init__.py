"""`parface-bench` internals: timed stage runs, the peak FLOP/s probe and the JSON report.

Entry point: :func:`parface_sdk.cli.bench.main`. Imports nothing heavy until a run starts.
"""
