"""The one exception family of tfxd: every error a user can see is a ``TfxdError``."""

from __future__ import annotations

from dataclasses import dataclass


class TfxdError(Exception):
    """Root of every error tfxd raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a pipeline file, with where it is and how to fix it."""

    file: str
    line: int
    column: int
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{text}\n    fix: {self.fix}" if self.fix else text


class PipelineFileError(TfxdError):
    """A pipeline file has one or more problems; all of them are reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in pipeline file:"
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))


class MissingDependencyError(TfxdError):
    """An optional package needed for a feature is not installed."""

    def __init__(self, package: str, feature: str, extra: str | None = None):
        target = f"tfxd[{extra}]" if extra else package
        super().__init__(
            f"Package '{package}' must be installed to use {feature}: pip install {target}"
        )


class RunError(TfxdError):
    """A pipeline run failed; the message names the node."""


class CompileError(TfxdError):
    """A pipeline cannot be compiled for the requested target."""


class MetadataError(TfxdError):
    """ML Metadata cannot be reached or holds nothing for the request."""
