"""Write the data of the example pipelines from the packages that ship it (nothing is committed)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from tfxd.errors import MissingDependencyError, TfxdError

EXAMPLES = {"penguin": "Palmer penguins, raw CSV from the palmerpenguins package"}


def write_example_data(name: str, pipelines_dir: Path) -> Path:
    """Copy the example's raw data into ``pipelines/<name>/data/``; returns the data folder."""
    if name not in EXAMPLES:
        raise TfxdError(f"unknown example '{name}': choose one of {', '.join(sorted(EXAMPLES))}")
    folder = pipelines_dir / name / "data"
    if name == "penguin":
        try:
            source = resources.files("palmerpenguins") / "data" / "penguins.csv"
        except ModuleNotFoundError as err:
            raise MissingDependencyError("palmerpenguins", "the penguin example") from err
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "penguins.csv"
        with resources.as_file(source) as path:
            # Rewriting identical data would change its mtime, which TFX's file fingerprint
            # (and so the cache) sees as new data.
            if not target.is_file() or target.read_bytes() != path.read_bytes():
                shutil.copyfile(path, target)
    return folder
