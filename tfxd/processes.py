"""Child processes that do not outlive the process that started them, and what of the libraries' own
output reaches the terminal."""

from __future__ import annotations

import logging
import os
import sys
import warnings


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


# Libraries whose Python logging warns of its own matters (deprecations, retries, plugin loads).
LIBRARY_LOGGERS = ("tensorflow", "apache_beam", "tfx", "tensorflow_data_validation", "h5py")


def quiet_libraries() -> None:
    """Without ``-v``: no Python warning and no library logging under ERROR reaches the
    terminal (a node's log keeps them: :func:`node_output`)."""
    warnings.simplefilter("ignore")
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def node_output() -> None:
    """In a node's log (its own output, or a forked worker's): warnings and library logging
    as the libraries emit them."""
    warnings.simplefilter("default")
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
