"""What differs between two mappings, key by key (parameters, files, packages, modules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Change = Literal["added", "removed", "changed"]


def keyed_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Change]]:
    """(key, how) for each key whose value differs, in key order."""
    out: list[tuple[str, Change]] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            out.append((key, "added"))
        elif key not in new:
            out.append((key, "removed"))
        elif old[key] != new[key]:
            out.append((key, "changed"))
    return out
