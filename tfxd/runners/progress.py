"""What the local runner and ``run-spec`` report per step, in one vocabulary and one line format.

A step (a pipeline node, a compiled spec's task) ends ``done``, ``cached`` (its earlier execution
reused), ``resumed`` (finished by an earlier attempt of the same run), ``skipped``, ``failed`` or
``not run`` (after a failure)."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from tfxd.processes import LIBRARY_LOGGERS, node_output

MARKS = {
    "done": ("✓", "green"),
    "cached": ("↺", "cyan"),
    "resumed": ("↺", "cyan"),
    "skipped": ("-", "dim"),
    "failed": ("✗", "red"),
}
SUCCEEDED = frozenset({"done", "cached", "resumed", "skipped"})


@dataclass
class StepResult:
    name: str
    status: str  # done | cached | resumed | skipped | failed | not run
    seconds: float = 0.0
    error: str = ""  # one line: what failed, why, the fix
    retry: bool = True  # a failure that may pass when run again unchanged


@dataclass
class RunOutcome:
    """A run's steps, in order; ``ok`` when none failed or was left unrun."""

    pipeline: str
    run_id: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status in SUCCEEDED for s in self.steps)

    def count(self, status: str) -> int:
        return sum(s.status == status for s in self.steps)

    def first_failure(self) -> StepResult:
        return next(s for s in self.steps if s.status == "failed")


def report(console: Console, outcome: RunOutcome, step: StepResult, detail: str = "") -> None:
    """Record ``step`` and print its line: mark, name, status, seconds (when it ran), detail."""
    outcome.steps.append(step)
    if step.status == "not run":
        return
    mark, style = MARKS[step.status]
    seconds = f" {step.seconds:6.1f}s" if step.status in ("done", "cached", "failed") else ""
    line = f"  [{style}]{mark}  {step.name:<12} {step.status:<7}[/]{seconds}"
    console.print(line + (f" {detail}" if detail else ""))


def summary(console: Console, outcome: RunOutcome) -> None:
    """The run's closing lines: its verdict and counts, and why nothing ran or what failed."""
    done, cached = outcome.count("done"), outcome.count("cached")
    verdict = "[green]succeeded[/]" if outcome.ok else "[red]failed[/]"
    total = sum(n.seconds for n in outcome.steps)
    console.print(f"run {verdict}: {done} ran, {cached} cached, {total:.1f}s")
    if outcome.ok and done == 0 and cached:
        console.print("nothing ran: every node came from the cache (nothing new was pushed)")
    if not outcome.ok:
        bad = outcome.first_failure()
        console.print(f"[red]node '{bad.name}' failed[/]: {escape(bad.error)}")


@contextmanager
def captured_output(log_path: Path) -> Iterator[None]:
    """Send all the process writes to fds 1 and 2 (Python, TF's C++, Beam) to ``log_path``,
    with warnings and library logging kept there (:func:`node_output`)."""
    import sys

    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    with open(log_path, "ab") as log, warnings.catch_warnings():
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        node_output()
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def terminal_console(console: Console) -> Console:
    """A console on a private copy of stdout, so that it still reaches the user while fds 1 and 2
    are sent to a node's log."""
    import sys

    try:
        fd = os.dup(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return console
    import weakref

    stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
    terminal = Console(
        file=stream, force_terminal=console.is_terminal, highlight=False, width=console.width
    )
    weakref.finalize(terminal, stream.close)  # closed with the console: no fd left per run
    return terminal
