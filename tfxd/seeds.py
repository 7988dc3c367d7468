"""Random seeds a module asks for, recorded with the run and given back when it is reproduced.

In a module file::

    from tfxd.seeds import seed
    tf.keras.utils.set_random_seed(seed("train"))

A run started by tfxd points ``TFXD_SEEDS_FILE`` at the run's seeds file: the first call for a name
draws a seed and writes it there (every later call, in any process of the run, such as each Horovod
rank, gets the same one); ``tfxd reproduce`` fills the file with the recorded seeds first, so the
same names get the same seeds. Outside a tfxd run a fresh seed is drawn and nothing is kept.
"""

from __future__ import annotations

import fcntl
import json
import os
import random

SEEDS_ENV = "TFXD_SEEDS_FILE"


def read_seeds(path: str) -> dict[str, int]:
    """The seeds in a run's seeds file (none when it is not there)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return {k: int(v) for k, v in json.load(handle).items()}
    except (OSError, ValueError):
        return {}


def seed(name: str = "default") -> int:
    """The run's seed called ``name`` (a 31-bit integer)."""
    path = os.environ.get(SEEDS_ENV)
    if not path:
        return random.SystemRandom().randrange(2**31)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "r+", encoding="utf-8") as handle:
            text = handle.read()
            seeds = json.loads(text) if text.strip() else {}
            if name not in seeds:
                seeds[name] = random.SystemRandom().randrange(2**31)
                handle.seek(0)
                handle.truncate()
                json.dump(seeds, handle, sort_keys=True)
            return int(seeds[name])
    finally:
        os.close(fd)
