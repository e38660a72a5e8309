"""Framework-free cryptography for Safe Passage casework.

Nothing here imports Django or casework; casework/lib is the only caller. Primitives come from
`cryptography` (AES-256-GCM, HKDF-SHA256, HMAC-SHA256); nothing below them is hand-rolled.
"""

from __future__ import annotations

from .aead import TOKEN_VERSION, DataKeyCipher, decrypt, encrypt, new_data_key
from .blind_index import (
    blind_index,
    index_bits_for_rows,
    normalise_email,
    normalise_name,
    normalise_passport,
    normalise_phone,
    normalise_text,
)
from .errors import (
    CryptoError,
    DecryptionError,
    KeyFileExistsError,
    KeyStoreError,
    UnknownKeyVersionError,
)
from .keyring import (
    KeyProvider,
    KeyRing,
    wrapped_key_format,
    wrapped_key_version,
    write_private_file,
)
from .mac import digests_equal, keyed_digest

__all__ = [
    "TOKEN_VERSION",
    "CryptoError",
    "DataKeyCipher",
    "DecryptionError",
    "KeyFileExistsError",
    "KeyProvider",
    "KeyRing",
    "KeyStoreError",
    "UnknownKeyVersionError",
    "blind_index",
    "decrypt",
    "digests_equal",
    "encrypt",
    "index_bits_for_rows",
    "keyed_digest",
    "new_data_key",
    "normalise_email",
    "normalise_name",
    "normalise_passport",
    "normalise_phone",
    "normalise_text",
    "wrapped_key_format",
    "wrapped_key_version",
    "write_private_file",
]
