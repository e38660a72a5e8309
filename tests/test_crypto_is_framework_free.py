"""crypto/ must stay pure: no Django, no casework. It is the part a reviewer audits alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CRYPTO_DIR = Path(__file__).resolve().parent.parent / "crypto"
FORBIDDEN = ("django", "casework")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names.extend(str(arg.value) for arg in node.args if isinstance(arg, ast.Constant))
    return names


def crypto_files() -> list[Path]:
    return sorted(CRYPTO_DIR.rglob("*.py"))


def test_it_finds_the_crypto_package():
    assert (CRYPTO_DIR / "__init__.py").is_file()


@pytest.mark.parametrize("path", crypto_files(), ids=lambda p: p.name)
def test_crypto_module_imports_neither_django_nor_casework(path):
    offending = [name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN]
    assert offending == [], f"{path.name} imports {offending}"


def test_the_checker_catches_a_django_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("from django.conf import settings\nimport casework.lib\n")
    assert imported_modules(sample) == ["django.conf", "casework.lib"]
