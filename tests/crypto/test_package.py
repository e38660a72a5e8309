"""Meta-tests: crypto/ stays framework-free, uses approved modules only, and exports its API."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import crypto

SOURCES = sorted((Path(__file__).resolve().parents[2] / "crypto").rglob("*.py"))
FORBIDDEN_MODULES = {"django", "casework", "pickle", "random", "marshal", "shelve"}


def imported_modules(tree: ast.Module) -> set[str]:
    """Top-level names of absolute imports; relative imports stay inside crypto/."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_has_source_files() -> None:
    assert {path.name for path in SOURCES} >= {
        "__init__.py",
        "aead.py",
        "keyring.py",
        "blind_index.py",
        "errors.py",
    }


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_it_imports_nothing_but_the_standard_library_and_cryptography(path: Path) -> None:
    modules = imported_modules(ast.parse(path.read_text(encoding="utf-8")))
    assert not modules & FORBIDDEN_MODULES
    assert modules <= set(sys.stdlib_module_names) | {"cryptography"}


def test_the_import_check_catches_django_and_casework_imports() -> None:
    tree = ast.parse("import django.conf\nfrom casework.lib import fields\nfrom . import aead\n")
    assert imported_modules(tree) & FORBIDDEN_MODULES == {"django", "casework"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_each_module_starts_with_future_annotations(path: Path) -> None:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the module docstring
    first = body[0]
    assert isinstance(first, ast.ImportFrom)
    assert first.module == "__future__"
    assert [alias.name for alias in first.names] == ["annotations"]


def test_it_exports_the_public_api() -> None:
    expected = {
        "CryptoError",
        "DecryptionError",
        "KeyStoreError",
        "TOKEN_VERSION",
        "encrypt",
        "decrypt",
        "new_data_key",
        "KeyProvider",
        "KeyRing",
        "wrapped_key_version",
        "normalise_text",
        "normalise_name",
        "normalise_passport",
        "normalise_email",
        "normalise_phone",
        "index_bits_for_rows",
        "blind_index",
    }
    assert expected <= set(crypto.__all__)
    assert all(hasattr(crypto, name) for name in crypto.__all__)
