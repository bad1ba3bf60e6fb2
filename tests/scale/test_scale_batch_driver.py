"""The `parface batch` driver and its shard worker in this process, with Ray's part replaced by a
loop (so this runs in seconds, and also where a local Ray cannot start): resume after a failed job,
one-line errors, every input exactly once."""

from __future__ import annotations

import pytest

pytest.importorskip("ray.data", reason='the ray extra is not installed (pip install "parface-sdk[ray]")')

from parface_sdk.cli.main import main  # noqa: E402
from parface_sdk.scale import batch  # noqa: E402


def _in_process(fail_after: int | None = None):
    """A stand-in for batch._run_shards: the same ShardWorker, called here; ``fail_after`` shards
    done, it raises the way a Ray job that lost its cluster would."""

    def run(ray, todo, out, model, options, actors, batch_size, *rest):
        report = rest[-1]
        worker = batch.ShardWorker(str(out.resolve()), model, options, batch_size)
        for done, shard in enumerate(todo):
            if fail_after is not None and done == fail_after:
                raise RuntimeError(
                    "ray.exceptions.RaySystemError: System error: the cluster is gone\nTraceback: ..."
                )
            summary = worker({"shard": [shard.to_json()]})
            report.rows += summary["rows"][0]
            report.faces += summary["faces"][0]
            report.no_face += summary["no_face"][0]
            report.errors += summary["errors"][0]

    return run


def test_a_failed_job_is_finished_by_a_rerun(image_folder, tmp_path, monkeypatch, capsys):
    from parface_sdk.scale.rows import check_exactly_once

    out = tmp_path / "out"
    args = ["batch", str(image_folder), "--out", str(out), "--shard-size", "5", "--no-progress"]
    monkeypatch.setattr(batch, "_run_shards", _in_process(fail_after=1))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "the batch job failed: RuntimeError: " in err and "the cluster is gone" in err
    assert "2 of 3 shards were not written" in err and "run the same command again" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in out.glob("part-*")) == ["part-000000.parquet"]

    monkeypatch.setattr(batch, "_run_shards", _in_process())
    assert main(args) == 1  # broken.jpg
    err = capsys.readouterr().err
    assert "12 inputs in 3 shards (2 written, 1 already there)" in err
    assert check_exactly_once(batch.read_results(out), 12) == []

    assert main([*args[:-1], "--shard-size", "4", "--no-progress"]) == 2  # another plan, same folder
    assert "other inputs or settings" in capsys.readouterr().err


def test_bad_arguments_stop_before_ray(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(image_folder), "--out", str(out), "--model", str(tmp_path / "x.onnx")]) == 2
    assert "no model file" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "no such file, folder or manifest" in capsys.readouterr().err
    assert main(["batch", str(image_folder), "--out", str(out), "--actors", "0"]) == 2
    assert "--actors must be at least 1" in capsys.readouterr().err
