"""Keyed digests for secrets that are only ever compared, never read back (backup codes,
invitation tokens, throttling keys): HMAC-SHA256 under a subkey derived for one purpose."""

from __future__ import annotations

import functools
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._primitives import KEY_SIZE, check_key

_INFO_PREFIX = b"casework/keyed-digest/v1/"


def keyed_digest(root_key: bytes, purpose: str, message: bytes) -> bytes:
    """HMAC-SHA256(HKDF(root_key, info=purpose), message): 32 bytes.

    Distinct purposes get unrelated subkeys, so a digest made for one use (a backup code)
    says nothing about another (a blind index, an invitation token).
    """
    check_key(root_key, "root key")
    if not purpose:
        raise ValueError("purpose must not be empty")
    mac = HMAC(_subkey(root_key, purpose), hashes.SHA256())
    mac.update(message)
    return mac.finalize()


def digests_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(a, b)


@functools.lru_cache(maxsize=64)
def _subkey(root_key: bytes, purpose: str) -> bytes:
    info = _INFO_PREFIX + purpose.encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(root_key)
