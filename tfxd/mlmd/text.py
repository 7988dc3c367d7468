"""Long paths fitted to a terminal line without breaking inside a word."""

from __future__ import annotations

import re


def middle(text: str, room: int) -> str:
    """``text`` cut in the middle to ``room`` characters (at least 16 kept)."""
    room = max(room, 16)
    if len(text) <= room:
        return text
    head = (room - 1) // 3
    return text[:head] + "…" + text[len(text) - (room - 1 - head) :]


def slashed(path: str, width: int | None) -> list[str]:
    """``path`` on lines of at most ``width`` characters, broken after a ``/``."""
    if width is None or len(path) <= width:
        return [path]
    lines, line = [], ""
    for part in re.findall(r"[^/]*/|[^/]+$", path):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    return [*lines, line] if line else lines
