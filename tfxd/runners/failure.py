"""A node's failure in one line (what failed, why, what to do) and whether retrying can help.

Executors fail with whatever their libraries raise: a TensorFlow error carries the graph's
stack of frames before its one useful line, a Python error may carry no message at all. The
runners report the line made here; the whole text stays in the node's log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Errors that fail again the same way on the same inputs and settings: a wrong wiring, a bad
# parameter, a module that does not fit its data. Retrying them only delays the fix.
CONFIGURATION = frozenset(
    {
        "ValueError",
        "TypeError",
        "KeyError",
        "AttributeError",
        "NameError",
        "IndexError",
        "ImportError",
        "ModuleNotFoundError",
        "SyntaxError",
        "NotImplementedError",
        "AssertionError",
        "InvalidArgumentError",
        "FailedPreconditionError",
        "PipelineFileError",
        "ValidationError",
    }
)
# Words of a message that say the world, not the pipeline, was at fault.
_TRANSIENT = re.compile(
    r"connect|timed? ?out|temporar|unavailable|try again|reset by peer|too many requests|"
    r"throttl|the worker process died|deadline|database is locked|aborted",
    re.I,
)
_TRANSIENT_TYPES = frozenset(
    {
        "OSError",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "TimeoutError",
        "BrokenPipeError",
        "UnavailableError",
        "DeadlineExceededError",
        "ResourceExhaustedError",
        "AbortedError",
    }
)
_REQUIRED_FEATURE = re.compile(
    r"Feature: (?P<name>\S+) \(data type: (?P<type>\w+)\) is required but could not be found"
)
_NOISE = re.compile(
    r"^(File |Detected at node|Graph execution error|\[\[|Traceback|During handling|The above)"
)


@dataclass(frozen=True)
class Failure:
    kind: str  # the exception's class name ("" when the text names none)
    cause: str
    fix: str
    retry: bool  # whether running it again unchanged may succeed

    def line(self) -> str:
        return f"{self.cause}. Fix: {self.fix}" if self.fix else self.cause


def _split(text: str) -> tuple[str, str, str]:
    """The exception's module, class name and message, from ``format_exception_only`` text."""
    head, sep, rest = text.strip().partition(":")
    if re.fullmatch(r"[A-Za-z_][\w.]*", head.strip()) and (sep or "\n" not in head):
        module, _, name = head.strip().rpartition(".")
        return module, name, rest.strip()
    return "", "", text.strip()


def _useful_line(message: str) -> str:
    """The line that says what went wrong: TensorFlow puts it after the frames of the graph."""
    lines = [
        re.sub(r"\s*\[\[\{\{node .*$|\s*\[Op:\S+\]$", "", ln.strip()) for ln in message.splitlines()
    ]
    kept = [ln for ln in lines if ln and not _NOISE.match(ln)]
    if not kept:
        return ""
    return kept[-1] if message.startswith("Graph execution") else kept[0]


def retryable(module: str, kind: str, message: str) -> bool:
    """Transient kinds and messages are; configuration kinds and tfxd's own diagnoses are not;
    anything else gets the retries the watch policy allows."""
    if kind in _TRANSIENT_TYPES or _TRANSIENT.search(message):
        return kind not in CONFIGURATION
    return kind not in CONFIGURATION and not module.startswith("tfxd")


def explain(text: str, node: str, log: str = "") -> Failure:
    """What ``text`` (an executor's exception, as ``format_exception_only`` writes it) means."""
    module, kind, message = _split(text)
    retry = retryable(module, kind, message)
    if not message:
        where = f" (the traceback: {log})" if log else ""
        return Failure(kind, f"{kind or 'the executor'} raised with no message{where}", "", retry)
    found = _REQUIRED_FEATURE.search(message)
    if found:
        feature = found.group("name")
        return Failure(
            kind,
            f"the examples given to '{node}' have no value of feature '{feature}' "
            f"({found.group('type')}), which the model's parsing requires",
            f"give '{node}' the examples its signature reads (raw ExampleGen examples for a "
            "serving signature over tf.Examples, transformed ones for a model on transformed "
            f"features); if '{feature}' may be empty, it must be optional in the schema",
            False,
        )
    if module.startswith("tfxd"):
        # tfxd's own diagnoses are written to be read whole (the rows they name included) and
        # end with their fix.
        return Failure(kind, message[:2000], "", retry)
    line = _useful_line(message) or kind
    cause = f"{kind}: {line}" if kind else line
    if "fix:" in line.lower():
        fix = ""
    elif retry:
        fix = "it looks transient and is retried; the traceback is in the node's log"
    else:
        fix = "it fails the same way on a re-run: fix the setting, data or module it names"
    return Failure(kind, cause[:600], fix, retry)


def failed_step(text: str, node: str, log: str) -> tuple[str, bool]:
    """(the line to report, whether a retry may help) for a node that ended with ``text``; an
    executor that failed its execution on purpose (a gate) keeps its own message. The whole
    error goes to ``log`` (when there is one)."""
    own = re.sub(r"^.*_ExecutionFailedError: .*? error message ", "", text, flags=re.S)
    if own != text:
        return own, False
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"\n{text}\n")
    failure = explain(text, node, log)
    return failure.line(), failure.retry
