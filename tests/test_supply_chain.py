"""Dependencies are pinned to exact versions with hashes (R58)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKS = [ROOT / "requirements" / "base.txt", ROOT / "requirements" / "dev.txt"]


def requirements(path: Path) -> list[str]:
    """Logical requirement lines (continuations joined, comments dropped)."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    stripped = (line.strip() for line in text.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_locked_requirement_is_exact_and_hashed(lock):
    lines = requirements(lock)
    assert len(lines) > 10
    for line in lines:
        assert re.match(r"^[A-Za-z0-9_.\-\[\],]+==[^\s;]+", line), line
        assert "--hash=sha256:" in line, line


def test_the_dev_lock_contains_every_runtime_pin():
    base = {line.split()[0] for line in requirements(LOCKS[0])}
    dev = {line.split()[0] for line in requirements(LOCKS[1])}
    assert base <= dev


def test_django_is_the_5_2_lts_and_python_is_at_least_3_11():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11"
    assert "Django>=5.2,<5.3" in project["dependencies"]
    assert sys.version_info >= (3, 11)
