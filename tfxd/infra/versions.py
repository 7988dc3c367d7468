"""Model versions as every tfxd pusher keeps them: numbered folders under a model base path, each
with a ``manifest.json``, and a serving pointer.

A version is written to a hidden temporary folder, fsynced, then renamed into place: TF Serving (and
``tfxd models``) only ever see complete versions. Versions are integers (seconds since the epoch,
bumped past the newest existing one), so two pushes in one second never collide: a rename onto an
existing version fails and the next number is tried. The serving pointer is a TF Serving model
config file (``models.config``) pinning one version, replaced atomically. TF Serving ignores
non-numeric names under a base path, so the pointer may sit inside it (TFX's Pusher layout).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfxd.errors import TfxdError

MANIFEST = "manifest.json"
POINTER = "models.config"
TMP_PREFIX = ".tmp-"
NOT_PUSHED = "tfxd_not_pushed"  # PushedModel property: why nothing was pushed


class PushError(TfxdError):
    """A push or a rollback could not be completed; nothing half-done is visible."""


@dataclass(frozen=True)
class Destination:
    """Where one pusher node keeps its versions: ``model_dir/<version>/`` (the base path TF
    Serving reads) and the pointer ``folder/models.config``."""

    node: str
    folder: Path
    model: str
    model_dir: Path

    def versions(self) -> list[int]:
        return versions(self.model_dir)

    def serving(self) -> int | None:
        return serving_version(self.folder, self.model)

    def serve(self, version: int) -> None:
        set_serving(self.folder, self.model, version, self.model_dir)

    def pushed_as(self, source_model: str) -> int | None:
        """The version already holding the model trained at ``source_model``, if any."""
        for version in reversed(self.versions()):
            if manifest(self.model_dir, version).get("source_model") == source_model:
                return version
        return None


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
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
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


def set_serving(destination: Path, model: str, version: int, base_path: Path | None = None) -> None:
    """Point TF Serving at ``version`` of ``model`` under ``base_path`` (default
    ``destination/model``): a model config file in ``destination``, replaced atomically."""
    text = (
        "model_config_list {\n"
        "  config {\n"
        f'    name: "{model}"\n'
        f'    base_path: "{base_path or destination / model}"\n'
        '    model_platform: "tensorflow"\n'
        f"    model_version_policy {{ specific {{ versions: {version} }} }}\n"
        "  }\n"
        "}\n"
    )
    tmp = destination / f"{TMP_PREFIX}{POINTER}.{uuid.uuid4().hex[:8]}"
    try:
        destination.mkdir(parents=True, exist_ok=True)
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


CLUSTER_BASE = "/mnt/models"  # where KServe's storage initializer puts the storageUri's content


def cluster_name(model: str) -> str:
    """The model's name on a cluster: an InferenceService name (DNS-1123) and the name its
    TF Serving answers under."""
    import re

    name = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-")[:63].strip("-")
    return name or "model"


def cluster_config_name(version: int) -> str:
    return f"kserve-{version}.config"


def write_cluster_config(model_dir: Path, model: str, version: int) -> Path:
    """A TF Serving model config pinning ``version`` under ``/mnt/models``, beside the versions
    (TF Serving ignores non-numeric names): KServe's TF Serving runtime, given it as
    ``--model_config_file``, serves that version and not the highest one. Never rewritten: its
    content is a function of (model, version), as object-store content on a cluster should be."""
    path = model_dir / cluster_config_name(version)
    if not path.is_file():
        text = (
            "model_config_list {\n  config {\n"
            f'    name: "{cluster_name(model)}"\n'
            f'    base_path: "{CLUSTER_BASE}"\n'
            '    model_platform: "tensorflow"\n'
            f"    model_version_policy {{ specific {{ versions: {version} }} }}\n"
            "  }\n}\n"
        )
        tmp = model_dir / f"{TMP_PREFIX}{path.name}.{uuid.uuid4().hex[:8]}"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return path


def pointed(pointer: str) -> str | None:
    """The version folder a serving pointer's text pins (``base_path/version``), if one."""
    import re

    pinned = re.findall(r'base_path: "([^"]+)"[\s\S]*?versions: (\d+)', pointer)
    if len(pinned) != 1:
        return None
    base_path, version = pinned[0]
    return os.path.join(base_path, version)


def push_saved_model(
    dest: Destination,
    saved_model: str,
    record: dict[str, Any],
    extra: Callable[[Path], None] | None = None,
) -> int:
    """Push ``saved_model`` (plus what ``extra`` writes into the version folder) as a new version
    with ``record`` as its manifest, then serve it. Returns the version."""
    import datetime as dt
    import getpass

    record.update(
        model=dest.model,
        node=dest.node,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        user=getpass.getuser(),
    )

    def fill(folder: Path, version: int) -> None:
        shutil.copytree(saved_model, folder, dirs_exist_ok=True)
        if extra is not None:
            extra(folder)
        record["version"] = version
        (folder / MANIFEST).write_text(json.dumps(record, indent=2), encoding="utf-8")

    version = push_version(dest.model_dir, fill)
    write_cluster_config(dest.model_dir, dest.model, version)
    dest.serve(version)
    record["version"] = version
    return version


def mark_pushed(artifact: Any, dest: Destination, version: int) -> None:
    """The PushedModel properties TFX's Pusher sets (pushed, pushed_destination, pushed_version)."""
    artifact.set_int_custom_property("pushed", 1)
    artifact.set_string_custom_property("pushed_version", str(version))
    artifact.set_string_custom_property("pushed_destination", str(dest.model_dir / str(version)))


def mark_not_pushed(artifact: Any, why: str) -> None:
    artifact.set_int_custom_property("pushed", 0)
    artifact.set_string_custom_property(NOT_PUSHED, why)


def already_pushed(dest: Destination, source_model: str) -> str | None:
    """Why not to push the model at ``source_model`` again: it is a version already (the same
    trained model is never two versions; re-serving it is a rollback's job)."""
    version = dest.pushed_as(source_model)
    if version is None:
        return None
    serving = dest.serving()
    state = "serving" if serving == version else f"serving is {serving}"
    return (
        f"this model is already version {version} under {dest.model_dir} ({state}); "
        f"to serve it again: tfxd rollback --to {version}"
    )
