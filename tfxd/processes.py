"""Child processes that do not outlive the process that started them."""

from __future__ import annotations

import os
import sys


def die_with_parent(parent: int) -> None:
    """Linux: have this process killed when its parent (pid ``parent``) dies, so that no task,
    helper or Horovod launcher runs on as an orphan after the run that started it was killed."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
