"""Load the key ring (KEKs and the blind-index key) from the configured key file.

The ring is cached per process and re-read when the file changes, so that a running web
worker picks up a KEK added by ``rotate_keys`` without a restart. In development a missing
key file is created (and the log says so); in production a missing file is an error.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from django.conf import settings

from crypto import KeyRing, KeyStoreError

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: tuple[object, KeyRing] | None = None


def key_file_path() -> Path:
    return Path(settings.CASEWORK_KEYS_FILE)


def keyring() -> KeyRing:
    """The current key ring; raises KeyStoreError (never falls back to plaintext)."""
    global _cache
    if settings.CASEWORK_KEYS_FROM_ENV:
        return _from_environment(os.environ.get("CASEWORK_KEYS", ""))
    path = key_file_path()
    with _lock:
        signature = _signature(path)
        if signature is None:
            if settings.PROD:
                raise KeyStoreError(
                    f"key file {path} not found (CASEWORK_KEYS_FILE); create it with "
                    "manage.py init_keys"
                )
            create_key_file(path)
            logger.warning("created a development key file at %s", path)
            signature = _signature(path)
        if _cache is None or _cache[0] != signature:
            _cache = (signature, KeyRing.load(path))
        return _cache[1]


def create_key_file(path: Path) -> KeyRing:
    """Write a new key ring to ``path`` (mode 0600); refuses to overwrite an existing file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    ring = KeyRing.generate()
    ring.save(path, overwrite=False)
    return ring


def save_keyring(ring: KeyRing) -> None:
    """Replace the key file atomically (rotation); the next ``keyring()`` call sees it."""
    if settings.CASEWORK_KEYS_FROM_ENV:
        raise KeyStoreError(
            "keys come from the CASEWORK_KEYS environment variable; update it there"
        )
    ring.save(key_file_path(), overwrite=True)


def forget_cached_keyring() -> None:
    global _cache
    with _lock:
        _cache = None


_env_cache: tuple[str, KeyRing] | None = None


def _from_environment(value: str) -> KeyRing:
    global _env_cache
    if _env_cache is None or _env_cache[0] != value:
        _env_cache = (value, KeyRing.from_env(value))
    return _env_cache[1]


def _signature(path: Path) -> tuple[str, int, int, int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    # ctime and mode too: a chmod that makes the file readable to others must be noticed.
    return (str(path), info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino, info.st_mode)
