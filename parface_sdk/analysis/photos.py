"""The clinical photo protocol (as in Emotrics and eFACE): one photo per expression.

A standard set is rest, brows raised, eyes closed gently, eyes closed tightly, big smile, "eee" and
pucker. ``parface analyze`` recognises the photos by file name (:data:`PROTOCOL`: the task name or
one of its aliases, case-insensitive, ``-`` or space for ``_``, an optional leading number such as
``01_``; e.g. ``rest.jpg``, ``02-brows.png``, ``Big Smile.jpg``) or by ``--task NAME=FILE``. The
photos become a series, one frame per task in protocol order (rest first), each task one frame
long, so every measure, the movement from rest and the calibrated decision apply unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

from parface_sdk.analysis.timeseries import Task

# task name -> (what the subject does, accepted file names besides the task name)
PROTOCOL: dict[str, tuple[str, tuple[str, ...]]] = {
    "rest": ("face at rest", ("repose", "neutral", "at_rest")),
    "brows": ("eyebrows raised", ("brow", "eyebrows", "brows_raised", "raise_brows", "forehead")),
    "eyes_gentle": ("eyes closed gently", ("eyes_closed", "eyes_closed_gently", "gentle_closure")),
    "eyes_tight": ("eyes closed tightly", ("eyes_closed_tightly", "eyes_closed_tight", "tight_closure")),
    "smile": ("big smile, teeth showing", ("big_smile", "full_smile")),
    "eee": ('saying "eee"', ("ee", "eeee")),
    "pucker": ("lips puckered", ("kiss", "lip_pucker", "pout")),
}
_ALIASES = {alias: name for name, (_, aliases) in PROTOCOL.items() for alias in (name, *aliases)}


def protocol_task(path: str | Path) -> str | None:
    """The protocol task a photo's file name names (``None``: none)."""
    stem = re.sub(r"[\s\-]+", "_", Path(path).stem.strip().lower())
    stem = re.sub(r"^\d+_?", "", stem)
    return _ALIASES.get(stem)


def protocol_tasks(assigned: list[tuple[str, Path]]) -> tuple[list[tuple[float, Path]], list[Task]]:
    """``(name, photo)`` pairs -> the series (``(time, photo)``, one second apart, protocol order
    then other names in the given order) and its tasks (each one second long). Raises ValueError
    for a task named twice."""
    names = [name for name, _ in assigned]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"photo task(s) named twice: {', '.join(twice)}")
    order = {name: index for index, name in enumerate(PROTOCOL)}
    ordered = sorted(assigned, key=lambda item: (order.get(item[0], len(order)), names.index(item[0])))
    source = [(float(index), Path(path)) for index, (_, path) in enumerate(ordered)]
    tasks = [Task(name, float(index), float(index) + 1.0) for index, (name, _) in enumerate(ordered)]
    return source, tasks
