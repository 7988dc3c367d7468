from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
PENGUIN = REPO / "pipelines" / "penguin"


@pytest.fixture(scope="session")
def penguin_data() -> Path:
    """The penguin example's data folder, written from the palmerpenguins package."""
    from tfxd.examples import write_example_data

    return write_example_data("penguin", REPO / "pipelines")


@pytest.fixture
def penguin_copy(tmp_path: Path, penguin_data: Path) -> Path:
    """A private copy of the penguin example (its runs/ go under tmp_path)."""
    dest = tmp_path / "penguin"
    shutil.copytree(PENGUIN, dest, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    return dest / "pipeline.yaml"


def tfxd(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The ``tfxd`` command in a subprocess (with ``env`` added to this environment), wide
    enough that tables do not wrap."""
    return subprocess.run(
        [sys.executable, "-m", "tfxd.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {}), "COLUMNS": "250"},
    )
