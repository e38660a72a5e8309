"""Canary strings (R29): 10 Latin and 10 Cyrillic, one NUL-adjacent, one emoji.

Each is unique enough that finding it anywhere at rest means plaintext leaked.
"""

from __future__ import annotations

CANARIES = [
    "CANARYquartzLATIN01",
    "CANARYvelvetLATIN02",
    "CANARYmaplewoodLATIN03",
    "CANARYhorizonLATIN04",
    "CANARYgranitLATIN05",
    "CANARYsaffronLATIN06",
    "CANARYpebbleLATIN07",
    "CANARYlanternLATIN08",
    "CANARY\x00nulLATIN09",
    "CANARY🦜emojiLATIN10",
    "КАНАРЕЙКАтюльпан01",
    "КАНАРЕЙКАжасмин02",
    "КАНАРЕЙКАбереза03",
    "КАНАРЕЙКАщавель04",
    "КАНАРЕЙКАёлка05",
    "КАНАРЕЙКАъеръ06",
    "КАНАРЕЙКАыкать07",
    "КАНАРЕЙКАэхо08",
    "КАНАРЕЙКАюла09",
    "КАНАРЕЙКАящик10",
]


def encodings(canary: str) -> list[bytes]:
    """Every form in which a plaintext canary could show up in a dump."""
    forms = []
    for text in {canary, canary.lower(), canary.upper()}:
        text = text.replace("\x00", "")  # search around the NUL as well
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            data = text.encode(encoding)
            forms.extend([data, data.hex().encode()])
        forms.append(text.encode("unicode_escape"))
    return forms


def find_canaries(blob: bytes) -> list[str]:
    return [c for c in CANARIES if any(form in blob for form in encodings(c))]
