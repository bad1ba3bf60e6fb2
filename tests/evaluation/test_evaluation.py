"""Evaluation sets (shapes and conventions of the shared files), the runner and the report."""

import csv
import json

import numpy as np
import pytest

from parface_sdk.evaluation import (
    DatasetError,
    EvalDataset,
    Sample,
    build_report,
    evaluate,
    load_dataset,
)
from parface_sdk.evaluation.report import format_table, write_outputs
from parface_sdk.results import AlignResult, Face


@pytest.fixture(scope="module")
def data_dir(shared_dir):
    return shared_dir / "data"


def _benchmark(data_dir):
    with np.load(data_dir / "aflw2000-3d-test" / "gt_all_2000.npz") as arrays:
        return {key: arrays[key] for key in ("names", "pt3d_68", "pose_para")}


# -- datasets --------------------------------------------------------------------------------


def test_aflw_folder_reads_mat_as_68x3_with_yaw(data_dir):
    dataset = load_dataset("aflw2000-3d", data_dir / "aflw2000-3d-subset")
    assert len(dataset) == 26 and dataset.has_3d and dataset.has_yaw
    bench = _benchmark(data_dir)
    rows = {str(name): row for row, name in enumerate(bench["names"])}
    for sample in dataset.samples:
        assert sample.landmarks.shape == (68, 3) and sample.landmarks.dtype == np.float32
        # the .mat holds 3 x 68; transposed it equals its row of the benchmark array, bit for bit
        np.testing.assert_array_equal(sample.landmarks, bench["pt3d_68"][rows[sample.name]].T)
    by_name = {s.name: s for s in dataset.samples}
    assert by_name["image00181"].yaw == pytest.approx(79.42, abs=0.01)  # reconstructed: index.csv
    assert by_name["image00251"].yaw == pytest.approx(-54.69, abs=0.01)  # official: Pose_Para


def test_aflw_depth_points_towards_the_camera(data_dir):
    dataset = load_dataset("aflw2000-3d", data_dir / "aflw2000-3d-subset")
    frontal = [s for s in dataset.samples if abs(s.yaw) < 20]
    # the nose tip (30) sits in front of the mean depth, the jaw ends (0, 16) behind it
    for sample in frontal:
        z = sample.landmarks[:, 2] - sample.landmarks[:, 2].mean()
        assert z[30] > 0 and z[0] < 0 and z[16] < 0, sample.name


def test_aflw_full_benchmark_has_2000_faces_and_3ddfa_bins(data_dir):
    from parface_sdk.evaluation.metrics import yaw_bin

    for root in (data_dir, data_dir / "aflw2000-3d-test"):
        dataset = load_dataset("aflw2000-3d-full", root)
        assert len(dataset) == 2000 and dataset.has_3d and dataset.has_yaw
    names = [s.name for s in dataset.samples]
    assert names == sorted(names) and len(set(names)) == 2000
    bins = [yaw_bin(s.yaw) for s in dataset.samples]
    assert [bins.count(b) for b in ("0-30", "30-60", "60-90")] == [1312, 383, 305]
    locations = {s.image.parent.name for s in dataset.samples}
    assert locations == {"test", "aflw2000-3d-subset"}
    bench = _benchmark(data_dir)
    sample = dataset.samples[0]
    np.testing.assert_array_equal(sample.landmarks, bench["pt3d_68"][0].T)
    assert sample.yaw == pytest.approx(np.degrees(bench["pose_para"][0, 1]), abs=1e-4)


def test_pts_of_the_benchmark_are_shifted_to_0_based(data_dir):
    from parface_sdk.landmark_files import read_pts

    bench = _benchmark(data_dir)
    points = read_pts(data_dir / "aflw2000-3d-test" / "test" / "image00002.pts")
    assert points.shape == (68, 2)
    np.testing.assert_allclose(points, bench["pt3d_68"][0, :2].T, atol=1e-4)


def test_300w_common_subset(data_dir):
    dataset = load_dataset("300w-common", data_dir)
    assert len(dataset) == 554 and not dataset.has_3d and not dataset.has_yaw
    assert sum(s.name.startswith("helen_") for s in dataset.samples) == 330
    sample = dataset.samples[0]
    assert sample.landmarks.shape == (68, 2) and sample.image.is_file()
    raw = np.loadtxt(sample.image.with_suffix(".pts"), skiprows=3, max_rows=68)
    np.testing.assert_allclose(sample.landmarks, raw - 1.0, atol=1e-5)


def test_300w_folders_pool_with_repeated_roots(data_dir):
    dataset = load_dataset("300w", [data_dir / "300w-lfpw" / "test", data_dir / "300w-subset" / "test"])
    assert len(dataset) == 554
    assert len(dataset.subset(10)) == 10 and dataset.subset(10).samples[0] == dataset.samples[0]


def test_manifest_csv_and_json(data_dir, tmp_path):
    folder = data_dir / "300w-subset" / "test"
    stems = sorted(p.stem for p in folder.glob("*.pts"))[:2]
    with (tmp_path / "set.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "landmarks", "yaw"])
        for stem in stems:
            writer.writerow([str(folder / f"{stem}.jpg"), str(folder / f"{stem}.pts"), "12.5"])
    from_csv = load_dataset("manifest", tmp_path / "set.csv")
    assert len(from_csv) == 2 and from_csv.samples[0].yaw == 12.5
    inline = [
        {"image": str(s.image), "landmarks": s.landmarks.tolist(), "name": s.name} for s in from_csv.samples
    ]
    (tmp_path / "set.json").write_text(json.dumps({"faces": inline}))
    from_json = load_dataset("manifest", tmp_path / "set.json")
    np.testing.assert_array_equal(from_json.samples[1].landmarks, from_csv.samples[1].landmarks)


def test_missing_roots_raise_dataset_errors(tmp_path):
    for kind in ("aflw2000-3d", "aflw2000-3d-full", "300w", "300w-common", "manifest"):
        with pytest.raises(DatasetError):
            load_dataset(kind, tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("ibug", tmp_path)


# -- runner with a stub aligner: conventions end to end ---------------------------------------


class OracleAligner:
    """Returns the ground truth itself (z centred, optionally flipped); its detector finds nothing."""

    def __init__(self, depth_sign=1.0):
        self.depth_sign = depth_sign

    def _face(self, landmarks):
        points = np.array(landmarks, np.float32)
        points[:, 2] = self.depth_sign * (points[:, 2] - points[:, 2].mean())
        box = np.concatenate([points[:, :2].min(0), points[:, :2].max(0)])
        return Face(landmarks=points, confidence=np.ones(68), box=box, score=1.0, transform=np.eye(2, 3))

    def align_from_landmarks(self, image, landmarks, color="BGR"):
        return AlignResult(faces=[self._face(landmarks[0])], image_width=450, image_height=450)

    def align(self, image, color="BGR"):
        return AlignResult(faces=[], image_width=450, image_height=450)


def _three_aflw(data_dir):
    return load_dataset("aflw2000-3d", data_dir / "aflw2000-3d-subset").subset(3)


def test_perfect_predictions_score_zero_and_flipped_depth_does_not(data_dir):
    dataset = _three_aflw(data_dir)
    gt_run = evaluate(OracleAligner(), dataset, crops=("gt",), progress=False)[0]
    assert gt_run.nme.max() < 1e-6 and gt_run.gte.max() < 1e-6  # mean depth matched
    flipped = evaluate(OracleAligner(depth_sign=-1.0), dataset, progress=False)[0]
    assert flipped.nme.max() < 1e-6 and flipped.gte.min() > 0.05


def test_detector_misses_are_failures(data_dir):
    dataset = _three_aflw(data_dir)
    runs = evaluate(OracleAligner(), dataset, crops=("gt", "detector"), progress=False)
    report = build_report(runs)
    missed = report["results"]["detector"]
    assert missed["detected"] == 0 and missed["nme"]["missed"] == 3
    assert missed["nme"]["failure_rate"] == 100.0 and missed["nme"]["auc"] == 0.0
    assert missed["nme"]["mean"] is None
    assert all(face["nme"] is None and not face["detected"] for face in report["per_face"]["detector"])
    assert report["results"]["gt"]["nme"]["failure_rate"] == 0.0
    json.dumps(report, allow_nan=False)


def test_inner51_nme_ignores_the_jaw(data_dir):
    import numpy as np

    from parface_sdk.evaluation.report import inner_nme

    dataset = _three_aflw(data_dir)
    run = evaluate(OracleAligner(), dataset, crops=("gt",), progress=False)[0]
    # Move only the 17 jaw points of the predictions: the 68-point NME grows, the inner one not.
    run.point_nme[:, :17] = 0.05
    run.nme[:] = run.point_nme.mean(axis=1)
    assert np.allclose(inner_nme(run), 0.0, atol=1e-6)
    report = build_report([run])
    assert report["results"]["gt"]["nme_inner51"]["mean"] < 1e-4
    assert report["results"]["gt"]["nme"]["mean"] > 1.0


# -- runner with a seeded tiny model on shared images -----------------------------------------


def test_runner_with_tiny_model_writes_a_well_formed_report(data_dir, tiny_onnx, tmp_path):
    from parface_sdk import Aligner

    dataset = _three_aflw(data_dir)
    with Aligner.from_pretrained(tiny_onnx, detector="blazeface") as aligner:
        runs = evaluate(aligner, dataset, crops=("gt", "detector"), progress=False)
    report = build_report(runs, {"model": str(tiny_onnx)})
    written = write_outputs(runs, report, tmp_path, plots=True)
    loaded = json.loads(written["report"].read_text())
    assert loaded["schema"] == "parface-eval/1" and loaded["faces"] == 3
    assert set(loaded["results"]) == {"gt", "detector"}
    gt = loaded["results"]["gt"]
    assert gt["faces"] == 3 and gt["detected"] == 3 and gt["nme"]["mean"] > 0
    assert gt["gte"]["mean"] > 0 and len(gt["per_landmark"]["nme"]) == 68
    assert set(gt["yaw_bins"]) == {"0-30", "30-60", "60-90"}
    assert [f["name"] for f in loaded["per_face"]["gt"]] == [s.name for s in dataset.samples]
    with np.load(written["predictions"]) as arrays:
        assert arrays["gt_pred"].shape == (3, 68, 3) and arrays["gt_gt"].shape == (3, 68, 3)
    if "ced" in written:
        assert written["ced"].stat().st_size > 1000
    assert "NME" in format_table(loaded)


def test_cli_main_runs_end_to_end(data_dir, tiny_onnx, tmp_path, capsys):
    from parface_sdk.cli.evaluate import main

    out = tmp_path / "eval"
    code = main(
        [
            "--dataset",
            "300w-common",
            "--root",
            str(data_dir),
            "--model",
            str(tiny_onnx),
            "--crop",
            "gt",
            "--limit",
            "3",
            "--out",
            str(out),
            "--no-plots",
            "--no-progress",
        ]
    )
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["faces"] == 3 and report["results"]["gt"]["gte"] is None
    assert "300w-common" in capsys.readouterr().out


def test_cli_reports_a_bad_root(tmp_path, capsys):
    from parface_sdk.cli.evaluate import main

    assert main(["--dataset", "300w", "--root", str(tmp_path / "nowhere"), "--no-progress"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_subset_spreads_evenly():
    points = np.zeros((68, 2), np.float32)
    dataset = EvalDataset("x", tuple(Sample(str(i), None, points) for i in range(7)))
    assert [s.name for s in dataset.subset(3).samples] == ["0", "3", "6"]
