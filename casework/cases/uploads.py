"""Checking uploaded files by their content, not their name: what is allowed, and what the
download is called."""

from __future__ import annotations

from dataclasses import dataclass

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
