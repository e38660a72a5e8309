"""The exceptions raised on purpose by crypto/.

Messages are one readable line and never contain key bytes, plaintext or ciphertext.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error crypto/ raises on purpose."""


class DecryptionError(CryptoError):
    """A token or wrapped key could not be decrypted.

    The one exception for every failure of `decrypt` and `unwrap`: wrong key, wrong AAD or
    context, truncated, extended or altered data, unknown format version, wrong type. The
    message never says which check failed, so an attacker probing with forged data learns
    nothing from it.
    """

    def __init__(self, message: str = "decryption failed") -> None:
        super().__init__(message)


class KeyStoreError(CryptoError):
    """The key ring or key file is missing, malformed or insecure (an operator problem)."""


class KeyFileExistsError(KeyStoreError):
    """A key file was to be created where one exists already; nothing was written."""


class UnknownKeyVersionError(KeyStoreError, DecryptionError):
    """A wrapped key names a KEK version that is not in the key ring.

    It is a KeyStoreError because the usual cause is an operator one (a retired or missing
    KEK, the wrong key file), and the message says so. It is also a DecryptionError, so every
    caller that handles "cannot decrypt" fails closed on it too, and the rule "unwrap raises
    only DecryptionError" holds even when an attacker rewrites the version header.
    """

    def __init__(self, version: int) -> None:
        super().__init__(f"key version {version} is not in the key ring")
        self.version = version
