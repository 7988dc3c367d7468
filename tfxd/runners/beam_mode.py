"""Which way a local run's Beam DirectRunner executes: in memory for small inputs, in one worker
process per core for large ones (``spec.beam``), unless the pipeline's Beam args already say.

Worker processes apply only to the node types whose outputs were checked equal to the in-memory
ones (``ComponentType.runs.beam_workers``). Nodes whose Beam work runs in other processes (those, or
every node where the Beam args name another runner or mode) take their user functions from
staged modules (``pipelines.staged``): loaded from a file path, TFX's Transform fails in a worker
(``RuntimeError ... dill.loads``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tfxd.errors import TfxdError
from tfxd.file.models import check_beam_args
from tfxd.infra.cores import usable_cpus
from tfxd.infra.fingerprints import Digests
from tfxd.pipelines.pipeline import Pipeline

USERS = ("--runner", "--direct_running_mode", "--direct_num_workers")
DIRECT = {"DirectRunner", "direct", "BundleBasedDirectRunner"}  # runners in the node's process


def _in_workers(arg: str) -> bool:
    """Whether a Beam arg sends work to other processes (another runner, multi_processing)."""
    name, _, value = arg.partition("=")
    if name == "--runner":
        return value not in DIRECT
    return name == "--direct_running_mode" and value == "multi_processing"


@dataclass(frozen=True)
class BeamChoice:
    mode: str  # in_memory | multi_processing | beam_args
    workers: int
    why: str
    args: tuple[str, ...]  # the mode's args, added to the Beam args of ``nodes``
    nodes: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()  # the run's --beam-arg values, for every node
    out_of_process: bool = False  # beam_args: they name a runner or mode with worker processes

    def elsewhere(self, pipe: Pipeline) -> tuple[str, ...]:
        """The nodes whose Beam work runs in processes other than the node's own."""
        return tuple(pipe.order) if self.out_of_process else self.nodes

    def describe(self) -> str:
        """The choice in words, as the progress and the run record show it."""
        if self.mode == "beam_args":
            return f"as the Beam args say ({self.why})"
        if self.mode != "multi_processing":
            return f"{self.mode} ({self.why})"
        nodes = ", ".join(self.nodes) or "no node that can"
        return f"multi_processing, {self.workers} workers, for {nodes} ({self.why})"


def input_bytes(digests: Digests) -> int:
    """Bytes of the input files the run's plan keys hashed: the ExampleGens' (module sources are
    hashed apart; S3 and stream inputs are not files here: 0)."""
    return sum(size for size, _, _ in digests.values())


def choose(pipe: Pipeline, size: int, extra: Sequence[str] = ()) -> BeamChoice:
    """The Beam mode of a local run whose inputs hold ``size`` bytes; ``extra``: the run's
    ``--beam-arg`` values, given last (they win)."""
    body = pipe.file.body
    try:
        check_beam_args(list(extra))
    except ValueError as e:
        raise TfxdError(f"--beam-arg {e}") from None
    given = [*body.beam_args, *body.runners.local.beam_args, *extra]
    named = sorted({a.split("=", 1)[0] for a in given if a.split("=", 1)[0] in USERS})
    if named:
        out = any(_in_workers(a) for a in given)
        return BeamChoice("beam_args", 0, ", ".join(named), (), (), tuple(extra), out)
    beam = body.beam
    workers = beam.workers or usable_cpus()
    mb = size / 1e6
    if beam.mode != "auto":
        mode, why = beam.mode, "spec.beam.mode"
    elif mb >= beam.multi_processing_from_mb and workers > 1:
        mode, why = "multi_processing", f"inputs {mb:,.0f} MB ≥ {beam.multi_processing_from_mb:g}"
    else:
        mode = "in_memory"
        why = f"inputs {mb:,.1f} MB < {beam.multi_processing_from_mb:g}"
        if mb >= beam.multi_processing_from_mb:
            why = f"inputs {mb:,.0f} MB, but 1 core"
    if mode == "in_memory":
        return BeamChoice(mode, 1, why, (), (), tuple(extra))
    args = ("--direct_running_mode=multi_processing", f"--direct_num_workers={workers}")
    nodes = tuple(n for n in pipe.order if pipe.nodes[n].type.runs.beam_workers)
    return BeamChoice(mode, workers, why, args, nodes, tuple(extra))
