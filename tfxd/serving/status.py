"""What a running ``tfxd serve`` answers with, written beside the serving pointer so that
``tfxd models`` can show it: one small JSON file per server (``.serve-<port>.json``), replaced
atomically, removed when the server stops. A file whose process is gone is stale and ignored."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

PREFIX = ".serve-"


@dataclass
class ServerStatus:
    model: str
    pid: int
    address: str  # host:port of the REST endpoint
    version: int | None  # the version answering, None while none could be loaded
    refused: dict[str, str] = field(default_factory=dict)  # version → why it was refused
    since: str = ""  # when the answering version started answering (UTC, ISO 8601)


def path_for(folder: Path, port: int) -> Path:
    return folder / f"{PREFIX}{port}.json"


def write(folder: Path, port: int, status: ServerStatus) -> None:
    target = path_for(folder, port)
    tmp = folder / f".tmp-{target.name}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(asdict(status), indent=2), encoding="utf-8")
    os.replace(tmp, target)


def remove(folder: Path, port: int) -> None:
    path_for(folder, port).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(folder: Path, model: str) -> list[ServerStatus]:
    """The live servers of ``model`` whose status sits in ``folder``."""
    out = []
    for path in sorted(folder.glob(f"{PREFIX}*.json")) if folder.is_dir() else []:
        try:
            status = ServerStatus(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        if status.model == model and _alive(status.pid):
            out.append(status)
    return out
