"""Read configuration from the environment, failing closed with one readable line.

Settings call these helpers instead of ``os.environ`` so that every bad value
raises ``ImproperlyConfigured`` naming the variable, never a traceback full of
internals and never a silent insecure default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable, or ``default``; with no default, a missing value is an error."""
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is None:
        raise ImproperlyConfigured(f"{name} must be set.")
    return default


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        allowed = ", ".join(choices)
        raise ImproperlyConfigured(f"{name} must be one of: {allowed} (got {value!r}).")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; with no default, a missing or empty value is an error."""
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    if items:
        return items
    if default is None:
        raise ImproperlyConfigured(f"{name} must be set (a comma-separated list).")
    return default


def env_secret(name: str) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (for container secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE cannot be read: {exc.strerror}.") from None
    return env_str(name)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if missing; it holds keys, the database and stored files."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def dev_secret_key(data_dir: Path) -> str:
    """The development SECRET_KEY: random, created once, kept in the data directory (0600)."""
    key_file = data_dir / "secret_key"
    try:
        return key_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(64)
    if not publish_private_file(key_file, key.encode("utf-8")):
        return key_file.read_text(encoding="utf-8").strip()  # another process's, whole
    return key


def publish_private_file(path: Path, data: bytes) -> bool:
    """Create ``path`` (mode 0600) holding ``data``, whole or not at all; False, leaving it
    as it is, when it exists already.

    Several processes may create the same development key at once (gunicorn's workers
    start together). The key ring's own writer does it: under a temporary name beside it,
    hard-linked into place, so the file never appears half-written to a process that reads
    it, and a second writer never replaces the first one's (the link fails): that one reads
    the winner's file."""
    from crypto import KeyFileExistsError, write_private_file  # not at settings' import

    try:
        write_private_file(path, data, overwrite=False)
    except KeyFileExistsError:
        return False
    return True
