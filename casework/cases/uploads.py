"""Checking uploaded files by their content, not their name: what is allowed, and what the
download is called; and what the person is told when the file store refuses a file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# Magic numbers of the types users need: PDF, JPEG, PNG. Anything else (an executable
# renamed to .pdf, an HTML file, an SVG with script) is refused.
SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


@dataclass(frozen=True)
class Kind:
    mime: str
    extension: str


def sniff(head: bytes) -> Kind | None:
    for magic, mime, extension in SIGNATURES:
        if head.startswith(magic):
            return Kind(mime, extension)
    return None


EXTENSIONS = {mime: extension for _magic, mime, extension in SIGNATURES}


def refused_by_store(problem: Exception) -> Any:
    """The form's error when the file store refused the file (disk full, a quota, a failing
    disk): the log says why, without the file's name or anything of its content."""
    reason = getattr(problem, "strerror", None) or type(problem).__name__  # an S3 error's
    logger.error("upload refused by the file store: %s", reason)  # text names the bucket
    return _(
        "The file could not be stored: the file store is full or out of order. Nothing was "
        "saved. Choose the file again and try later; if it happens again, tell your "
        "administrator."
    )
