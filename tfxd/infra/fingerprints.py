"""What a file ExampleGen's result depends on: the content hash of each file it reads.

``tfxd plan``, the run record and the ExampleGen's driver (TFX's ``input_fingerprint``) all key on
it. Within :func:`one_run` a file is hashed once: the run's plan keys hash it and the driver,
later in the same run (in this process or a forked worker), finds the digest known while the
file's size and modification time are unchanged. Outside it every call reads the files again,
so that a file rewritten with the same size and time is still seen to change between runs.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tfxd.file.changes import keyed_changes

Digests = dict[str, tuple[int, int, str]]  # path → (size, mtime_ns, sha256)
_known: Digests | None = None


@contextmanager
def one_run(known: Digests | None = None) -> Iterator[Digests]:
    """Within: digests computed are kept in ``known`` (new when None) and reused from it."""
    global _known
    saved, _known = _known, {} if known is None else known
    try:
        yield _known
    finally:
        _known = saved


def file_digest(path: str) -> str:
    """The sha256 of the file at ``path`` (known already within :func:`one_run`)."""
    stat = os.stat(path)
    if _known is not None:
        found = _known.get(path)
        if found is not None and found[:2] == (stat.st_size, stat.st_mtime_ns):
            return found[2]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if _known is not None:
        _known[path] = (stat.st_size, stat.st_mtime_ns, digest.hexdigest())
    return digest.hexdigest()


def content_hashes(base: str, patterns: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per split, the sha256 of each file its pattern matches under the local folder ``base``
    (path relative to ``base`` → digest)."""
    out: dict[str, dict[str, str]] = {}
    for name, pattern in patterns.items():
        out[name] = {
            os.path.relpath(path, base): file_digest(path)
            for path in sorted(glob.glob(os.path.join(base, pattern)))
            if os.path.isfile(path)
        }
    return out


def fingerprint_text(hashes: dict[str, dict[str, str]]) -> str:
    """The ``input_fingerprint`` TFX's cache compares, from :func:`content_hashes`: one line per
    split, its file count and one digest over the files' names and contents."""
    lines = []
    for name, files in hashes.items():
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
        lines.append(f"split:{name},num_files:{len(files)},sha256:{digest}")
    return "\n".join(lines)


def files_changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two :func:`content_hashes` results, a phrase per file: ``x.csv
    added``, ``removed``, ``changed`` (an old-style value that is not per file: ``split s``)."""
    out = []
    for split in sorted(set(old) | set(new)):
        was, now = old.get(split) or {}, new.get(split) or {}
        if not isinstance(was, dict) or not isinstance(now, dict):
            if was != now:
                out.append(f"split {split} changed")
            continue
        out += [f"{name} {how}" for name, how in keyed_changes(was, now)]
    return out


def input_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """What differs between two records of what one node read besides its upstream artifacts
    (a plan key's ``inputs``, a run record's node ``inputs``): (the input's name, a phrase) per
    difference: ``span 3 → 4``, ``serving version 2 → 5``, a phrase per file (``x.csv changed``),
    ``etags a… → b…``. ``tfxd plan`` and ``tfxd runs --compare`` both say it this way."""
    out: list[tuple[str, str]] = []
    for name in sorted(set(old) | set(new)):
        was, now = old.get(name), new.get(name)
        if was == now:
            continue
        if name == "span":
            out.append((name, f"span {was} → {now}"))
        elif name == "serving":
            before, after = (os.path.basename(str(v)) if v else "none" for v in (was, now))
            out.append((name, f"serving version {before} → {after}"))
        elif name == "files" and isinstance(was, dict) and isinstance(now, dict):
            out += [(name, change) for change in files_changed(was, now)]
        else:
            out.append((name, f"{name} {_short(was)} → {_short(now)}"))
    return out


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 24 else text[:23] + "…"
