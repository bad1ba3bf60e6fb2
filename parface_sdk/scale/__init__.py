"""Scale-out: batch jobs on Ray Data (:mod:`.batch`), an HTTP endpoint on Ray Serve (:mod:`.serve`)
and the ray-free helpers they share with ``parface align --shard`` (:mod:`.shards`).

Nothing here imports ray at import time: :func:`require_ray` imports it when a job starts and
raises :class:`~parface_sdk.errors.BackendUnavailableError` naming the ``[ray]`` extra when it is
missing.
"""

from __future__ import annotations

import importlib
import math
import os
from types import ModuleType

from parface_sdk.errors import BackendUnavailableError

RAY_EXTRA_HINT = 'pip install "parface-sdk[ray]"'


def require_ray(*submodules: str, purpose: str = "this command", local: bool = True) -> ModuleType:
    """``ray`` (and ``ray.<submodule>`` for each of ``submodules``, e.g. ``"data"``, ``"serve"``),
    imported; a typed error naming the extra when any is missing. ``local``: the job will start a
    local Ray, bound to 127.0.0.1 (Ray reads that setting when it is first imported)."""
    if local:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        ray = importlib.import_module("ray")
        for name in submodules:
            importlib.import_module(f"ray.{name}")
    except ImportError as exc:
        raise BackendUnavailableError(
            f"{purpose} needs Ray ({exc.name or 'ray'} is not installed); install it with: {RAY_EXTRA_HINT}"
        ) from exc
    return ray


def start_ray(ray, address: str | None, cpus: float, gpus: float = 0.0, verbose: bool = False) -> bool:
    """Connect to the cluster at ``address``, or start a local Ray on 127.0.0.1 with room for
    ``cpus`` CPUs and ``gpus`` GPUs of actors (no dashboard). Returns whether a Ray was started or
    connected here (and should be shut down by the caller); False when one was already running."""
    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=verbose)
        return True
    attempts = max(1, int(os.environ.get("PARFACE_RAY_START_ATTEMPTS", "2")))
    for attempt in range(attempts):
        try:
            ray.init(
                num_cpus=max(os.cpu_count() or 1, math.ceil(cpus) + 1),
                num_gpus=math.ceil(gpus) if gpus else None,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                log_to_driver=verbose,
                configure_logging=verbose,
            )
            return True
        except Exception as exc:
            # Ray gives its local node's agents about 15 s to start; a busy machine (or a cold file
            # cache) can miss that. A second try usually finds the imports cached.
            if "timed out during startup" not in str(exc) or attempt == attempts - 1:
                raise
            ray.shutdown()
    return True
