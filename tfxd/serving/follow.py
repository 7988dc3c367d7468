"""The version being served and the thread that follows the serving pointer.

A version is loaded and tried (its signature read, an empty batch run) before it replaces the one
answering; one that fails to load is refused and remembered, the old one keeps serving. A version
must be complete (numbered folder with ``saved_model.pb`` and a manifest: a push renames it into
place only when whole) and its manifest must say it was blessed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tfxd.errors import TfxdError
from tfxd.infra.versions import Destination, manifest, versions
from tfxd.serving.features import BadRequest, Signature, read_signature

log = logging.getLogger("tfxd.serve")
SIGNATURE = "serving_default"


@dataclass(frozen=True)
class Loaded:
    version: int
    signature: Signature
    fn: Any  # the concrete function of the serving signature
    handle: Any  # the loaded SavedModel, kept alive while fn is used

    def predict(self, serialized: list[bytes]) -> dict[str, Any]:
        import tensorflow as tf

        try:
            outputs = self.fn(**{self.signature.input_key: tf.constant(serialized, tf.string)})
        except tf.errors.InvalidArgumentError as err:  # what the parse spec did not foresee
            raise BadRequest(
                f"version {self.version} refused these instances: {_first_line(err)}"
            ) from err
        return {name: value.numpy() for name, value in outputs.items()}


def load(dest: Destination, version: int) -> Loaded:
    """Load ``version`` of ``dest`` and try it; :class:`TfxdError` says why it cannot serve."""
    import tensorflow as tf

    if version not in versions(dest.model_dir):
        raise TfxdError(f"{dest.model_dir / str(version)} is not a complete version")
    if not manifest(dest.model_dir, version).get("blessed"):
        raise TfxdError(f"version {version} was not blessed")
    path = str(dest.model_dir / str(version))
    try:
        handle = tf.saved_model.load(path)
        fn = handle.signatures[SIGNATURE]
    except KeyError as err:
        raise TfxdError(f"{path} has no {SIGNATURE!r} signature") from err
    except Exception as err:  # a corrupt SavedModel raises many kinds
        raise TfxdError(f"{path} does not load: {_first_line(err)}") from err
    signature = read_signature(fn)
    loaded = Loaded(version, signature, fn, handle)
    try:
        loaded.predict([])
    except Exception as err:
        raise TfxdError(f"{path} loads but fails on an empty batch: {_first_line(err)}") from err
    return loaded


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


@dataclass
class Follower:
    """Holds the answering version and moves it when the pointer moves (polled every ``every``
    seconds). ``changed`` is called after each swap or refusal."""

    dest: Destination
    every: float = 0.2
    changed: Callable[[Follower], None] = lambda _: None
    current: Loaded | None = None
    refused: dict[int, str] = field(default_factory=dict)  # version → why
    _tried: dict[int, float] = field(default_factory=dict)  # version → folder mtime when refused
    _stop: threading.Event = field(default_factory=threading.Event)

    def pinned(self) -> int | None:
        return self.dest.serving()

    def step(self) -> None:
        """One look at the pointer: load and swap, or refuse."""
        version = self.pinned()
        if version is None or (self.current is not None and version == self.current.version):
            return
        stamp = _mtime(self.dest.model_dir / str(version))
        if self._tried.get(version) == stamp:
            return  # refused as it is; tried again only when the folder changes
        try:
            loaded = load(self.dest, version)
        except TfxdError as err:
            self._tried[version] = stamp
            self.refused[version] = str(err)
            log.error("refused version %s: %s (serving stays %s)", version, err, self.answering)
            self.changed(self)
            return
        before, self.current = self.answering, loaded
        self.refused.pop(version, None)
        log.warning("serving version %s (was %s)", version, before)
        self.changed(self)

    @property
    def answering(self) -> int | None:
        return self.current.version if self.current is not None else None

    def run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.step()
            except Exception:  # the follower must outlive one bad look
                log.exception("following the serving pointer")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="tfxd-follow", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def _mtime(path: os.PathLike[str]) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0  # absent: tried again once it appears
