"""The fast subset of the fuzz suite (tests/fuzz/fuzz_cases.py), in the default test run.

The full run (>= 1,000 cases) is ``python benchmarks/fuzz_run.py``. Each category here runs a few
dozen seeded cases and asserts: no traceback, no library noise around a command-line error, no
silent wrong answer, no good input refused, no hang, and no partial or temporary file left.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("onnxruntime", reason="the cpu extra is not installed")

from fuzz_cases import Env, generate, run_case, summarize  # noqa: E402

FAST = {
    "files": 40,
    "arrays": 50,
    "boxes": 40,
    "options": 40,
    "timestamps": 8,
    "videos": 8,
    "cli": 16,
    "outputs": 4,
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    environment = Env(tmp_path_factory.mktemp("fuzz"), heavy=False)
    yield environment
    environment.close()


@pytest.mark.parametrize("category", list(FAST))
def test_fuzz_fast(env, category):
    if category == "outputs" and os.geteuid() != 0:
        pytest.skip("full-disk and read-only cases mount a tmpfs, which needs root")
    cases = generate({category: FAST[category]}, env, seed=1)
    assert len(cases) >= FAST[category] * 0.8
    summary = summarize([run_case(case, env) for case in cases])
    failures = summary["failures"]
    assert not failures, "\n".join(
        f"{f['outcome']}: {f['case']}: {f['detail']} {f['left_over'] or ''}" for f in failures[:20]
    )
    share = summary["total"]["error_typed_or_empty_share"]
    assert share in (None, 1.0)
