"""User modules that Beam worker processes can import: a copy under a name of its content.

TFX loads a module file by its path under a name of its own (``user_module_0``); Beam pickles
what the module defines by that name, and a worker process (DirectRunner's multi_processing, an
SDK worker of a portable job service) cannot import it back. A node whose Beam work runs in other
processes is therefore given its user functions as import paths instead: the module file is copied
to ``<root>/.modules/tfxd_user_<digest>/<module>.py``, the digest taken over the module and the
local modules it imports (``pipelines.code``), and ``<root>/.modules`` goes on ``sys.path`` and
``PYTHONPATH`` beside the module folders. One content, one name: an edited module is a new
package, so neither a long-lived process nor TFX's cache serves an old one. The local modules the
module imports stay where they are (on the same path).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from tfxd.errors import TfxdError
from tfxd.pipelines.code import importable, source_digests
from tfxd.pipelines.pipeline import Pipeline

STAGE = ".modules"


def stage_folder(root: str | Path) -> Path:
    """Where a run under ``root`` stages the modules its Beam workers import."""
    return Path(root) / STAGE


def python_path(pipe: Pipeline, root: str | Path) -> list[str]:
    """What a Beam worker process needs on ``PYTHONPATH`` to import the staged modules."""
    return [str(stage_folder(root)), *pipe.module_folders()]


def module_stager(pipe: Pipeline, root: str | Path) -> Callable[[str], str]:
    """Module file (as the YAML names it) → the import name of its staged copy."""
    folder = stage_folder(root)

    def staged(module_file: str) -> str:
        path = pipe.loaded.resolve(module_file)
        if not path.stem.isidentifier():
            raise TfxdError(
                f"{pipe.loaded.path}: module file {module_file}: Beam worker processes import "
                f"it by name, and '{path.stem}' is not a Python name: rename the file "
                "(letters, digits, underscores)"
            )
        digests = source_digests(path, pipe.loaded.folder)
        digest = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()[:12]
        package = folder / f"tfxd_user_{digest}"
        if not (package / path.name).is_file():
            _write(package, path)
        importable([str(folder)])
        return f"{package.name}.{path.stem}"

    return staged


def _write(package: Path, module: Path) -> None:
    """The package of ``module``, whole or not at all (a crash leaves only a temp folder)."""
    package.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=package.parent))
    (tmp / "__init__.py").write_text("", encoding="utf-8")
    shutil.copyfile(module, tmp / module.name)
    try:
        os.rename(tmp, package)
    except OSError:  # staged meanwhile by another run: the same content under the same name
        shutil.rmtree(tmp, ignore_errors=True)
