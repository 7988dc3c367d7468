"""The user code a node runs: its module file and the local modules it imports, read statically.

TFX's cache hashes only the module file's folder as it packages it; a module that imports a helper
from elsewhere (``from common import features``) changes its results without changing that
folder. This follows ``import`` statements through the module file's folder and the pipeline
file's folder (where the module's imports resolve when TFX runs it), recursively, and keeps each
local file's text and hash. Installed packages are not followed: they are the run's packages.
"""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path


def local_imports(source: str, path: Path, search: list[Path]) -> list[Path]:
    """The files under ``search`` that the module at ``path`` (its text ``source``) imports."""
    try:
        tree = ast.parse(source, str(path))
    except SyntaxError:
        return []  # TFX reports it when it imports the module
    names: list[tuple[list[Path], str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(search, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package
                base = path.parent
                for _ in range(node.level - 1):
                    base = base.parent
                roots = [base]
            else:
                roots = search
            module = node.module or ""
            names.append((roots, module))
            names += [(roots, f"{module}.{a.name}".strip(".")) for a in node.names]
    found: list[Path] = []
    for roots, dotted in names:
        if not dotted:
            continue
        parts = dotted.split(".")
        for root in roots:
            for depth in range(1, len(parts) + 1):  # a package's __init__ runs first
                for candidate in (
                    root.joinpath(*parts[:depth]).with_suffix(".py"),
                    root.joinpath(*parts[:depth], "__init__.py"),
                ):
                    if candidate.is_file() and candidate not in found:
                        found.append(candidate)
    return found


def module_sources(module_file: Path, pipeline_folder: Path) -> dict[str, dict[str, str]]:
    """The module file and every local module it imports, transitively: each file's path
    (relative to the pipeline file's folder when under it) → its ``sha256`` and ``text``."""
    search = [module_file.parent, pipeline_folder]
    out: dict[str, dict[str, str]] = {}
    todo, seen = [module_file.resolve()], set()
    while todo:
        path = todo.pop(0)
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        data = path.read_bytes()
        text = data.decode("utf-8", errors="replace")
        out[_name(path, pipeline_folder)] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "text": text,
        }
        todo += [p.resolve() for p in local_imports(text, path, search)]
    return out


def source_digests(module_file: Path, pipeline_folder: Path) -> dict[str, str]:
    """sha256 of the module file and of each local module it imports (``module_sources``)."""
    sources = module_sources(module_file, pipeline_folder)
    return {name: source["sha256"] for name, source in sources.items()}


def _name(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder.resolve()))
    except ValueError:
        return str(path)


def importable(folders: list[str]) -> None:
    """Let module files import the modules beside them and under the pipeline file's folder
    (``folders``: ``Pipeline.module_folders``), as when they are run from there: those folders
    go first on ``sys.path`` and on ``PYTHONPATH`` (for the processes executors start, such as
    Horovod ranks). TFX loads a module file by its path, and packages its folder only under its
    own runners."""
    import sys

    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    known = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([*folders, *known]))
