"""The shared data folder, defined here only: $PARFACE_SHARED, else ../shared beside the repository.

Test files and tests/golden/*.py import it (``from shared_data import SHARED``) or use the
``shared_dir`` fixture. A module of its own, not ``conftest``: tests/scale has a conftest too, and
``from conftest import ...`` would find whichever was imported first.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PARFACE_SHARED", REPO.parent / "shared"))
