"""Scale-out: batch jobs on Ray Data (:mod:`.batch`), an HTTP endpoint on Ray Serve (:mod:`.serve`)
and the ray-free helpers they share with ``parface align --shard`` (:mod:`.shards`).

Nothing here imports ray at import time: :func:`require_ray` imports it when a job starts and
raises :class:`~parface_sdk.errors.BackendUnavailableError` naming the ``[ray]`` extra when it is
missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from parface_sdk.errors import BackendUnavailableError

RAY_EXTRA_HINT = 'pip install "parface-sdk[ray]"'


def require_ray(*submodules: str, purpose: str = "this command") -> ModuleType:
    """``ray`` (and ``ray.<submodule>`` for each of ``submodules``, e.g. ``"data"``, ``"serve"``),
    imported; a typed error naming the extra when any is missing."""
    try:
        ray = importlib.import_module("ray")
        for name in submodules:
            importlib.import_module(f"ray.{name}")
    except ImportError as exc:
        raise BackendUnavailableError(
            f"{purpose} needs Ray ({exc.name or 'ray'} is not installed); install it with: {RAY_EXTRA_HINT}"
        ) from exc
    return ray
