"""``parface batch``: align many images (and videos) on Ray Data, into Parquet shards.

One Ray Data row per shard (:mod:`parface_sdk.scale.shards`); ``map_batches`` runs them on a pool
of actors, each holding one :class:`~parface_sdk.Aligner`, and each shard's rows
(:mod:`parface_sdk.scale.rows`) are written by the actor as one Parquet file, atomically. Faults:

- an actor that dies (killed, out of memory) is restarted by Ray and its shard retried
  (Ray Data's actor pools restart actors and retry their tasks); a shard file appears only when
  complete and has a fixed name, so a retry never duplicates rows;
- a job that stops (Ctrl-C, a lost cluster) is finished by running the same command again: shards
  whose file exists are skipped.

Ray is imported here only when a job starts; the SDK's runtime never imports it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parface_sdk.scale import require_ray, start_ray
from parface_sdk.scale.shards import (
    BatchIncompleteError,
    Shard,
    list_inputs,
    plan_shards,
    prepare_plan,
    write_table_atomically,
)

logger = logging.getLogger(__name__)

# Test hook: "SHARD:MARKER" makes the actor that takes shard SHARD exit abruptly (os._exit) the first
# time, creating the file MARKER so the retry goes through. Read in the driver, passed to actors.
CRASH_HOOK_ENV = "PARFACE_BATCH_CRASH_ONCE"


@dataclass
class BatchReport:
    inputs: int = 0
    shards: int = 0
    skipped_shards: int = 0
    rows: int = 0
    faces: int = 0
    no_face: int = 0
    errors: int = 0
    seconds: float = 0.0
    out: str = ""
    shard_seconds: list[float] = field(default_factory=list)

    def line(self) -> str:
        done = self.shards - self.skipped_shards
        return (
            f"{self.inputs} inputs in {self.shards} shards ({done} written, {self.skipped_shards} already "
            f"there): {self.faces} face rows, {self.no_face} without a face, {self.errors} failed; "
            f"{self.seconds:.1f} s -> {self.out}"
        )


class ShardWorker:
    """A Ray Data actor: one Aligner, one shard per call, written atomically to ``out``."""

    def __init__(
        self,
        out: str,
        model: str | None,
        options: dict[str, Any],
        batch_size: int,
        crash_hook: str | None = None,
    ):
        from parface_sdk.aligner import Aligner
        from parface_sdk.geometry import sha256_of
        from parface_sdk.options import AlignerOptions

        self.out = Path(out)
        self.batch_size = batch_size
        self.aligner = Aligner(model, AlignerOptions(**options))
        self.aligner.detector  # noqa: B018  load it now: a misconfigured one fails at start
        self.model_sha256 = sha256_of(self.aligner.model_path)
        self.crash_hook = crash_hook

    def _maybe_crash(self, shard: Shard) -> None:
        if not self.crash_hook:
            return
        index, marker = self.crash_hook.split(":", 1)
        if int(index) == shard.index and not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            os._exit(1)  # a killed worker: no cleanup, no exception, the process is gone

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        from parface_sdk.scale.rows import shard_table

        summary: dict[str, list] = {k: [] for k in ("shard", "rows", "faces", "no_face", "errors", "seconds")}
        for text in batch["shard"]:
            shard = Shard.from_json(str(text))
            target = self.out / shard.file_name
            self._maybe_crash(shard)
            table, seconds = shard_table(self.aligner, shard, self.model_sha256, self.batch_size)
            if not target.exists():  # a retried task whose first try finished writing: keep that one
                write_table_atomically(table, target)
            statuses = table.column("status").to_pylist()
            summary["shard"].append(shard.index)
            summary["rows"].append(table.num_rows)
            summary["faces"].append(statuses.count("ok"))
            summary["no_face"].append(statuses.count("no_face"))
            summary["errors"].append(statuses.count("error"))
            summary["seconds"].append(seconds)
        return summary


def _settings(model: str | None, options: dict[str, Any], shard_size: int) -> dict[str, Any]:
    """What changes the rows: the model file's hash and the Aligner options."""
    from parface_sdk.geometry import sha256_of
    from parface_sdk.models import default_model_path

    backend = options.get("backend", "auto")
    path = model or default_model_path("torch" if backend in ("torch", "torch-frame") else "onnxruntime")
    return {"model_sha256": sha256_of(path), "options": options, "shard_size": shard_size}


def run_batch(
    inputs: list[str | os.PathLike],
    out: str | os.PathLike,
    *,
    model: str | os.PathLike | None = None,
    options: dict[str, Any] | None = None,
    actors: int = 2,
    batch_size: int = 8,
    shard_size: int = 64,
    cpus_per_actor: float = 1.0,
    num_gpus: float = 0.0,
    address: str | None = None,
    progress: bool = True,
    verbose: bool = False,
) -> BatchReport:
    """Align every input of ``inputs`` into ``out/part-*.parquet``; see the module docstring.

    ``options`` are :class:`~parface_sdk.AlignerOptions` fields (``threads`` defaults to the
    actor's CPUs). Raises :class:`BatchIncompleteError` when shards are left unwritten.
    """
    from parface_sdk.options import AlignerOptions

    ray = require_ray("data", purpose="parface batch", local=address is None)
    started = time.perf_counter()
    out = Path(out)
    options = dict(options or {})
    options.setdefault("threads", max(1, int(cpus_per_actor)))
    options = AlignerOptions(**options).model_dump(mode="json", exclude_defaults=True)
    model = None if model is None else str(model)
    if model is not None and not Path(model).is_file():
        from parface_sdk.errors import ModelNotFoundError

        raise ModelNotFoundError(f"no model file at {model}; pass an existing .onnx / .safetensors file")
    items = list_inputs(list(inputs))
    shards = plan_shards(items, shard_size)
    todo = prepare_plan(out, shards, _settings(model, options, shard_size))
    report = BatchReport(inputs=len(items), shards=len(shards), skipped_shards=len(shards) - len(todo))
    report.out = str(out)
    failure = None
    if todo:
        try:
            _run_shards(
                ray, todo, out, model, options, actors, batch_size, cpus_per_actor, num_gpus, address,
                progress, verbose, report,
            )  # fmt: skip
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001  Ray's errors carry remote tracebacks: keep one line
            failure = exc
    missing = [s.index for s in shards if not (out / s.file_name).is_file()]
    if missing or failure is not None:
        reason = f": {_cause_line(failure)}" if failure is not None else ""
        raise BatchIncompleteError(
            f"the batch job failed{reason}; {len(missing)} of {len(shards)} shards were not written "
            f"(first: {missing[:5]}); run the same command again to finish them"
        ) from failure
    if report.skipped_shards:  # count the rows of shards written by an earlier run too
        pending = {s.index for s in todo}
        _count_existing(out, [s for s in shards if s.index not in pending], report)
    report.seconds = time.perf_counter() - started
    return report


def _cause_line(exc: BaseException) -> str:
    """The root cause of a (possibly Ray-wrapped) error as ``Type: message``, on one line."""
    cause = exc
    while getattr(cause, "cause", None) is not None and cause.cause is not cause:  # RayTaskError
        cause = cause.cause
    while cause.__cause__ is not None:
        cause = cause.__cause__
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Traceback", "File ", "^"))]
    return f"{type(cause).__name__}: {(useful or lines or [''])[-1][:300]}"


def _count_existing(out: Path, shards: list[Shard], report: BatchReport) -> None:
    import pyarrow.parquet as pq

    for shard in shards:
        statuses = pq.read_table(out / shard.file_name, columns=["status"]).column("status").to_pylist()
        report.rows += len(statuses)
        report.faces += statuses.count("ok")
        report.no_face += statuses.count("no_face")
        report.errors += statuses.count("error")


def _run_shards(
    ray, todo, out, model, options, actors, batch_size, cpus_per_actor, num_gpus, address, progress, verbose,
    report,
) -> None:  # fmt: skip
    import ray.data
    from tqdm import tqdm

    actors = max(1, min(actors, len(todo)))
    started_here = start_ray(ray, address, actors * cpus_per_actor, actors * num_gpus, verbose)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = progress and verbose
        context.print_on_execution_start = verbose
        dataset = ray.data.from_items([{"shard": s.to_json()} for s in todo], override_num_blocks=len(todo))
        remote_args: dict[str, Any] = {"num_cpus": cpus_per_actor}
        if num_gpus:
            remote_args["num_gpus"] = num_gpus
        mapped = dataset.map_batches(
            ShardWorker,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=actors),
            fn_constructor_kwargs={
                "out": str(out.resolve()),
                "model": model,
                "options": options,
                "batch_size": batch_size,
                "crash_hook": os.environ.get(CRASH_HOOK_ENV),
            },
            **remote_args,
        )
        bar = tqdm(total=sum(len(s.items) for s in todo), unit="input", desc="batch", disable=not progress)
        sizes = {s.index: len(s.items) for s in todo}
        with bar:
            for row in mapped.iter_rows():
                bar.update(sizes.get(int(row["shard"]), 0))
                report.rows += int(row["rows"])
                report.faces += int(row["faces"])
                report.no_face += int(row["no_face"])
                report.errors += int(row["errors"])
                report.shard_seconds.append(float(row["seconds"]))
    finally:
        if started_here:
            ray.shutdown()


def read_results(out: str | os.PathLike, columns: list[str] | None = None):
    """All shards of ``out`` as one pyarrow table, in input order (hidden temporaries ignored)."""
    import pyarrow.parquet as pq

    from parface_sdk.scale.rows import schema

    files = sorted(Path(out).glob("part-*.parquet"))
    if not files:
        return schema().empty_table().select(columns) if columns else schema().empty_table()
    table = pq.ParquetDataset([str(f) for f in files], schema=schema()).read(columns=columns)
    return table
