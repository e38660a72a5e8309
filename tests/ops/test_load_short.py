"""The short load test (``bench/load.py --short``): twenty simulated caseworkers and
coordinators for 15 seconds against gunicorn on PostgreSQL, then its checks.

It sets up an instance of its own (data directory, database, gunicorn) and takes a minute or
two. Its timings are printed, never asserted here: the machine is shared. What is asserted is
what must hold however slow the machine: no answer 5xx, no lost update, and the script's own
checks (audit chain intact, every uploaded document downloads byte for byte).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason=(
        "needs PostgreSQL (DATABASE_URL=postgres://...): bench/load.py serves the application "
        "with gunicorn workers sharing a PostgreSQL database of its own"
    ),
)


def test_the_short_load_test_passes_its_checks(tmp_path):
    figures_path = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--short", "--json", str(figures_path)],
        cwd=ROOT,
        env={**os.environ, "CASEWORK_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    figures = json.loads(figures_path.read_text())
    assert figures["errors_5xx"] == 0
    assert figures["lost_updates"] == 0
    assert figures["edited_cases"] > 0  # the check looked at something
    assert figures["failures"] == []
