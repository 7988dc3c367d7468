"""Pusher component: TFX's Pusher (same inputs, outputs and parameters), tfxd's executor."""

from __future__ import annotations

from tfx.components.pusher.component import Pusher as TfxPusher
from tfx.dsl.components.base import executor_spec

from tfxd.components.pusher.executor import Executor


class Pusher(TfxPusher):
    """Pushes a blessed model to a filesystem destination as a new version and serves it."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
