"""Versioned, atomic pushes under ``<destination>/<model>/<version>/`` and the serving pointer.

A version is written to a hidden temporary folder, fsynced, then renamed into place: TF Serving (and
``tfxd models``) only ever see complete versions. Versions are integers (seconds since the epoch,
bumped past the newest existing one), so two pushes in one second never collide: a rename onto an
existing version fails and the next number is tried. The serving pointer is a TF Serving model
config file (``<destination>/models.config``) pinning one version, replaced atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tfxd.errors import TfxdError

MANIFEST = "manifest.json"
POINTER = "models.config"
TMP_PREFIX = ".tmp-"


class PushError(TfxdError):
    """A push or a rollback could not be completed; nothing half-done is visible."""


def versions(model_dir: Path) -> list[int]:
    """Complete versions: numeric folders holding a SavedModel and a manifest."""
    if not model_dir.is_dir():
        return []
    return sorted(
        int(p.name)
        for p in model_dir.iterdir()
        if p.name.isdigit() and (p / "saved_model.pb").is_file() and (p / MANIFEST).is_file()
    )


def manifest(model_dir: Path, version: int) -> dict[str, Any]:
    return json.loads((model_dir / str(version) / MANIFEST).read_text(encoding="utf-8"))


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def push_version(model_dir: Path, fill: Callable[[Path, int], None]) -> int:
    """Create a new version: ``fill(folder, version)`` writes its files into a temporary folder,
    which becomes ``model_dir/<version>`` only when complete. Returns the version."""
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        for stale in model_dir.glob(TMP_PREFIX + "*"):  # what a crashed push left
            shutil.rmtree(stale, ignore_errors=True)
        version = max([int(time.time()), *[v + 1 for v in versions(model_dir)]])
        tmp = model_dir / f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as err:
        raise PushError(f"cannot write to {model_dir}: {err.strerror}") from err
    try:
        fill(tmp, version)
        _fsync_tree(tmp)
        for _ in range(100):
            final = model_dir / str(version)
            try:
                os.rename(tmp, final)  # fails if another push took this number
                break
            except OSError:
                if not final.exists():
                    raise
                version += 1
                (tmp / MANIFEST).write_text(
                    json.dumps({**json.loads((tmp / MANIFEST).read_text()), "version": version})
                )
        else:
            raise PushError(f"{model_dir}: no free version number after 100 tries")
        _fsync_dir(model_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return version


def serving_version(destination: Path, model: str) -> int | None:
    """The version the serving pointer pins, if any."""
    pointer = destination / POINTER
    if not pointer.is_file():
        return None
    text = pointer.read_text(encoding="utf-8")
    marker = f'name: "{model}"'
    if marker not in text:
        return None
    block = text[text.index(marker) :]
    digits = block.split("versions:", 1)[1].split("}", 1)[0].strip() if "versions:" in block else ""
    return int(digits) if digits.isdigit() else None


def set_serving(destination: Path, model: str, version: int) -> None:
    """Point TF Serving at ``version`` (model config file, replaced atomically)."""
    text = (
        "model_config_list {\n"
        "  config {\n"
        f'    name: "{model}"\n'
        f'    base_path: "{destination / model}"\n'
        '    model_platform: "tensorflow"\n'
        f"    model_version_policy {{ specific {{ versions: {version} }} }}\n"
        "  }\n"
        "}\n"
    )
    tmp = destination / f"{TMP_PREFIX}{POINTER}.{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(text, encoding="utf-8")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, destination / POINTER)
        _fsync_dir(destination)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise PushError(
            f"cannot write the serving pointer in {destination}: {err.strerror}"
        ) from err
