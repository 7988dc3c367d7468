"""``tfxd reproduce RUN``: run a recorded run again, from scratch, and say what came out the same.

Before anything runs, the run's record (``tfxd.mlmd.records``) is compared with what is here now:
each module file and the local modules it imports, the content of every input file, the installed
packages. Any difference refuses the reproduction, named (with a diff where the text was kept),
unless ``--allow`` names it (a kind: ``code``, ``data``, ``packages``; or a file or package name).

The reproduction runs the *recorded* pipeline text with the recorded parameters, span and seeds
(``tfxd.seeds``), without the cache, in a fresh root with its own ML Metadata: pushers push into
that root, a BaselineModel reads a copy of the version that served when the run started, and a
stream ExampleGen (whose messages were acknowledged and are gone) is replaced by an
ImportExampleGen reading the Examples that run drained. Then each node's outputs are compared with
the run's file by file: data outputs (examples, statistics, schemas, anomalies) must be
byte-identical, the Evaluator's metrics within ``tolerance``; models and other outputs are
reported, not required (training is not deterministic unless the module makes it so).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from tfxd.errors import TfxdError
from tfxd.infra.fingerprints import files_changed
from tfxd.infra.versions import set_serving
from tfxd.mlmd.compare import code_changes, find_run, package_changes
from tfxd.mlmd.records import RunRecord, read_record
from tfxd.mlmd.store import open_store
from tfxd.mlmd.views import find_pipeline_file, run_by_id
from tfxd.pipelines.code import module_sources
from tfxd.pipelines.pipeline import Pipeline, check
from tfxd.runners.outputs import OutputCheck, compare_outputs, outputs_of
from tfxd.runners.plan import node_keys
from tfxd.runners.recording import UNRECORDED, installed_packages

DEFAULT_TOLERANCE = 0.02


class ReproduceError(TfxdError):
    """The run cannot be reproduced as asked (what differs, or what is missing)."""


@dataclass
class Difference:
    kind: str  # code | data | packages
    name: str  # the file or package (what --allow may name besides the kind)
    lines: list[str]


@dataclass
class Reproduction:
    run_id: str  # the run reproduced
    new_run_id: str = ""
    root: str = ""
    outputs: list[OutputCheck] = field(default_factory=list)
    metrics: list[tuple[str, float, float | None, bool]] = field(default_factory=list)
    ran: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.ran
            and all(o.identical for o in self.outputs if o.required)
            and all(within for *_, within in self.metrics)
        )


def recorded_pipeline(record: RunRecord, text: str | None = None) -> Pipeline:
    """The pipeline as the run had it (its recorded text and parameter values)."""
    from tfxd.file.load import load_partial

    loaded = load_partial(record.file["path"], text if text is not None else record.file["text"])
    overrides = {k: _param_text(v) for k, v in record.parameters.items()}
    return check(loaded, overrides)


def _param_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def differences(record: RunRecord, pipe: Pipeline) -> list[Difference]:
    """What differs between the run's record and this machine now."""
    out: list[Difference] = []
    now_modules = {
        module: module_sources(pipe.loaded.resolve(module), pipe.loaded.folder)
        for module in record.modules
    }
    for line in code_changes(record.modules, now_modules):
        if not line.startswith("  "):
            out.append(Difference("code", line.split(" ")[0], [line]))
        elif out:
            out[-1].lines.append(line)
    keys = node_keys(pipe, record.span)
    for node, entry in record.nodes.items():
        was = entry.get("inputs")
        if not isinstance(was, dict) or node not in pipe.nodes:
            continue
        if pipe.nodes[node].type.spans.read == "stream":
            continue  # reproduced from the Examples the run drained
        if UNRECORDED in was:
            out.append(
                Difference("data", node, [f"{node}: its input was not recorded: {was[UNRECORDED]}"])
            )
            continue
        if "serving" in was:
            gone = was["serving"] and not Path(was["serving"]).is_dir()
            if gone:
                out.append(
                    Difference("data", node, [f"{node}: serving version {was['serving']} is gone"])
                )
            continue
        now = (keys.get(node) or {}).get("inputs") or {}
        if isinstance(was.get("files"), dict) and isinstance(now.get("files"), dict):
            for change in files_changed(was["files"], now["files"]):
                out.append(Difference("data", change.rsplit(" ", 1)[0], [f"{node}: {change}"]))
        for name in sorted((set(was) | set(now)) - {"files", "span"}):
            if was.get(name) != now.get(name):
                out.append(Difference("data", node, [f"{node}: {name} changed"]))
    for line in package_changes(record.packages, installed_packages()):
        out.append(Difference("packages", line.split(":")[0], [line]))
    return out


def refused(found: list[Difference], allow: list[str]) -> list[Difference]:
    """The differences ``allow`` does not cover."""
    allowed = {a.strip() for item in allow for a in item.split(",") if a.strip()}
    return [d for d in found if d.kind not in allowed and d.name not in allowed]


def relocated_text(
    record: RunRecord, pipe: Pipeline, root: Path, stream_examples: dict[str, str]
) -> str:
    """The recorded pipeline text, writing into ``root`` only: its pipeline root and ML Metadata
    there, pushers' destinations there, a BaselineModel reading a copy of what served, each
    stream ExampleGen replaced by an ImportExampleGen over the Examples the run drained."""
    from tfxd.components.catalogue import registry

    [(replay_name, replay)] = [
        (n, t.spans.replay) for n, t in registry().items() if t.spans.replay
    ][:1]
    data = yaml.safe_load(record.file["text"])
    body = data["spec"]
    body["root"] = str(root / "root")
    body["metadata"] = {"sqlite": str(root / "root" / "metadata.db")}
    for node_id, spec in body["components"].items():
        kind = pipe.nodes[node_id].type
        params = spec.setdefault("with", {})
        if kind.models.serving_field and kind.models.versions is not None:  # pushes: into root only
            params[kind.models.serving_field] = str(root / "serving" / node_id)
        elif kind.models.serving_field:  # reads what served: a copy of the version the run read
            params[kind.models.serving_field] = str(_baseline_copy(record, pipe, node_id, root))
        elif kind.spans.read == "stream":
            uri = stream_examples.get(node_id)
            if uri is None:
                raise ReproduceError(
                    f"{node_id}: the run published no Examples from its stream, so there is "
                    "nothing to reproduce it from"
                )
            splits = sorted(p.name[len("Split-") :] for p in Path(uri).glob("Split-*"))
            spec.clear()
            spec["type"] = replay_name
            spec["with"] = replay(uri, splits)
    return yaml.safe_dump(data, sort_keys=False)


def _baseline_copy(record: RunRecord, pipe: Pipeline, node_id: str, root: Path) -> Path:
    """A serving folder holding only the version that served when the run started (if any)."""
    target = root / "baseline" / node_id
    target.mkdir(parents=True, exist_ok=True)
    served = (record.nodes[node_id].get("inputs") or {}).get("serving")
    if served and Path(served).is_dir():
        node = pipe.nodes[node_id]
        source = pipe.loaded.resolve(getattr(node.params, node.type.models.serving_field or ""))
        try:
            relative = Path(served).relative_to(source)
        except ValueError:
            relative = Path(Path(served).name)
        shutil.copytree(served, target / relative, dirs_exist_ok=True)
        # Serve it as it was served: the pointer names <model>/<version> under the folder.
        set_serving(
            target, relative.parent.name or "model", int(relative.name), (target / relative).parent
        )
    return target


def reproduce(
    pipeline: str,
    token: str,
    *,
    pipeline_file: str | None = None,
    allow: list[str] | None = None,
    root: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    console: Console | None = None,
) -> Reproduction:
    """Reproduce run ``token`` of ``pipeline``; see the module docstring."""
    from tfxd.mlmd.records import NO_RECORD_FIX
    from tfxd.runners.local import run_pipeline

    console = console or Console()
    store = open_store(find_pipeline_file(pipeline, pipeline_file))
    run = find_run(store, pipeline, token)
    record = read_record(store, pipeline, run.run_id)
    if record is None:
        raise ReproduceError(f"run {run.run_id} has no run record: {NO_RECORD_FIX}")
    pipe = recorded_pipeline(record)
    blocking = refused(differences(record, pipe), allow or [])
    if blocking:
        lines = [f"  {d.kind}: {line}" for d in blocking for line in d.lines]
        kinds = sorted({d.kind for d in blocking})
        raise ReproduceError(
            f"cannot reproduce run {run.run_id} of '{pipeline}': {len(blocking)} difference(s) "
            "from its record\n" + "\n".join(lines) + f"\nrestore them, or pass --allow "
            f"{','.join(kinds)} (or the names) to reproduce anyway"
        )
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    where = Path(root) if root else Path(pipe.root) / "reproduce" / f"{_safe(run.run_id)}-{stamp}"
    if where.exists() and any(where.iterdir()):
        raise ReproduceError(f"--root {where}: not empty; give a new folder")
    streams = {
        node: artifact.uri
        for (node, key), (artifact, type_name) in outputs_of(store, run).items()
        if type_name == "Examples"
        and node in pipe.nodes
        and pipe.nodes[node].type.spans.read == "stream"
    }
    text = relocated_text(record, pipe, where, streams)
    (where).mkdir(parents=True, exist_ok=True)
    (where / "pipeline.yaml").write_text(text, encoding="utf-8")
    again = recorded_pipeline(record, text)
    console.print(f"reproducing run {run.run_id} of '{pipeline}' in {where}")
    for node, uri in sorted(streams.items()):
        console.print(
            f"  {node}: a stream (what the run drained was acknowledged and is gone): read back "
            f"from the Examples that run drained, {uri}",
            highlight=False,
        )
    result = run_pipeline(
        again,
        enable_cache=False,
        span=record.span,
        console=console,
        seeds=run.seeds,
        reproduces=run.run_id,
    )
    out = Reproduction(run.run_id, result.run_id, str(where), ran=result.ok)
    if not result.ok:
        return out
    fresh = open_store(again.loaded)
    new_run = run_by_id(fresh, again.name, result.run_id)
    out.outputs = compare_outputs(outputs_of(store, run), outputs_of(fresh, new_run))
    for name, value in sorted(run.metrics.items()):
        now = new_run.metrics.get(name)
        out.metrics.append((name, value, now, now is not None and abs(now - value) <= tolerance))
    report(out, tolerance, console)
    return out


def _safe(run_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in run_id)


def report(out: Reproduction, tolerance: float, console: Console) -> None:
    console.print("[bold]outputs[/] (data outputs must be identical)")
    for o in out.outputs:
        mark = (
            "[green]same[/]"
            if o.identical
            else "[red]differs[/]"
            if o.required
            else "[yellow]differs[/]"
        )
        console.print(f"  {mark}  {o.node}.{o.output} ({o.type}): {o.detail}", highlight=False)
    if out.metrics:
        console.print(f"[bold]metrics[/] (within ±{tolerance:g})")
    for name, was, now, within in out.metrics:
        shown = "-" if now is None else f"{now:.6g} ({now - was:+.3g})"
        mark = "[green]ok[/]" if within else "[red]off[/]"
        console.print(f"  {mark}  {name}: {was:.6g} → {shown}", highlight=False)
    verdict = "[green]reproduced[/]" if out.ok else "[red]not reproduced[/]"
    console.print(f"{verdict}: run {out.new_run_id} in {out.root}")
