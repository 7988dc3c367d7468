"""`tfxd dev FILE`: run the pipeline, then again each time the pipeline file, a module file (or a
local module it imports) or the data it reads changes what `tfxd plan` would run.

The process imports TensorFlow, TFX and the pipeline's executors once and runs each pass in a
process forked from it, as `--jobs` workers are, so a pass after an edit starts with all of it
imported. Files are checked by their size and modification time every ``poll`` seconds; only
when those moved are the plan keys computed again, and only a change of the keys starts a pass
(a pass compares against the keys as the previous pass left them: a push that changed the serving
version is that pass's doing, not a change to act on). A pass dies with this process.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from tfxd.errors import TfxdError
from tfxd.file import is_uri
from tfxd.pipelines.code import module_sources
from tfxd.pipelines.pipeline import Pipeline, validate_file
from tfxd.processes import die_with_parent

Signature = dict[str, tuple[int, int]]  # path → (mtime_ns, size)


def watched_paths(pipe: Pipeline) -> list[Path]:
    """The pipeline file, every module file and the local modules it imports, and every file or
    folder a node reads (path fields; not folders a node writes, such as a Pusher's)."""
    paths = [pipe.loaded.path]
    for node in pipe.nodes.values():
        for name, kind in node.type.path_fields().items():
            value = getattr(node.params, name)
            if kind == "dir-create" or not isinstance(value, str) or is_uri(value):
                continue
            path = pipe.loaded.resolve(value)
            paths.append(path)
            if name == "module_file" and path.is_file():
                for module in module_sources(path, pipe.loaded.folder):
                    paths.append(pipe.loaded.resolve(module))
    return sorted(set(paths))


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                yield Path(folder) / name
    else:
        yield path


def signature(paths: list[Path]) -> Signature:
    """Size and modification time of every file under ``paths`` (missing ones left out)."""
    out: Signature = {}
    for path in paths:
        for file in _files(path):
            try:
                stat = file.stat()
            except OSError:
                continue
            out[str(file)] = (stat.st_mtime_ns, stat.st_size)
    return out


def keys_of(pipe: Pipeline, span: int | None) -> dict[str, Any]:
    """What `tfxd plan` keys each node on, at ``span`` or the newest (no history read)."""
    from tfxd.runners.launch import prepare

    return prepare(pipe, "local", None, span=span).keys


def one_pass(pipe: Pipeline, options: dict[str, Any], console: Any) -> int:
    """One local run, as `tfxd run` makes it with the same options; its exit code."""
    from tfxd.runners.local import run_pipeline

    return 0 if run_pipeline(pipe, console=console, **options).ok else 1


def preload(pipe: Pipeline, span: int | None) -> None:
    """Import TFX and every executor the pipeline runs, so that each forked pass has them."""
    from tfxd.runners.local import compile_ir, mlmd_connection
    from tfxd.runners.workers import preload_executors

    ir = compile_ir(pipe, "local", "preload", span=span)
    deployment, _ = mlmd_connection(ir)
    preload_executors(ir, deployment)


def in_child(work: Callable[[], int]) -> int:
    """Run ``work`` in a forked process that dies with this one; its exit code."""
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            die_with_parent(parent)
            code = work()
        except KeyboardInterrupt:
            code = 130
        except TfxdError as err:
            print(f"error: {err}", file=sys.stderr)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status)
        except KeyboardInterrupt:  # the pass got it too (same process group): let it end
            continue


def develop(
    path: str | Path,
    overrides: dict[str, str],
    options: dict[str, Any],
    console: Any,
    *,
    poll: float = 1.0,
) -> NoReturn:
    """Run the pipeline (``options``: those of ``local.run_pipeline``) in a forked process, then
    again on every change that moves the plan keys, until interrupted (Ctrl-C raises
    KeyboardInterrupt here)."""
    span = options.get("span")
    pipe = validate_file(path, overrides)
    preload(pipe, span)
    done = 0
    while True:
        paths = watched_paths(pipe)
        before = signature(paths)
        code = in_child(functools.partial(one_pass, pipe, options, console))
        done += 1
        keys, seen = keys_of(pipe, span), signature(paths)
        during = seen != before  # the pass may have read either version: run again
        console.print(
            f"[dim]pass {done} ended ({'ok' if code == 0 else f'exit {code}'}); "
            + (
                "a file changed during it: running again[/]"
                if during
                else "waiting for a change to the pipeline file, its modules or its data "
                "(Ctrl-C ends)[/]"
            )
        )
        seen_now = None if during else seen
        pipe = next_pipeline(path, overrides, span, pipe, keys, seen_now, poll, console)


def next_pipeline(
    path: str | Path,
    overrides: dict[str, str],
    span: int | None,
    pipe: Pipeline,
    keys: dict[str, Any],
    seen: Signature | None,
    poll: float,
    console: Any,
) -> Pipeline:
    """The pipeline once a watched file changed from ``seen`` and moved the plan ``keys``;
    ``seen`` None: the next valid file, whatever its keys. A file that does not validate shows
    its errors once and is waited on."""
    force, shown = seen is None, ""
    seen = seen or {}
    paths = watched_paths(pipe)  # again only when a change was seen (an edit may add an import)
    while True:
        now = signature(paths)
        if now == seen:
            time.sleep(poll)
            continue
        seen = now
        try:
            candidate = validate_file(path, overrides)
            changed = force or keys_of(candidate, span) != keys
        except TfxdError as err:
            if str(err) != shown:  # once per different error
                console.print(f"[red]error[/] {err}", highlight=False)
                shown = str(err)
            continue
        shown = ""
        pipe, paths = candidate, watched_paths(candidate)
        seen = signature(paths)
        if changed:
            return pipe
