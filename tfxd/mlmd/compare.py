"""`tfxd runs`: the runs table, `--compare` (what differs between runs and why their results
differ) and `--metric` (a metric over runs, as PNG or HTML). Reads run records (``records``) and
what the runners wrote on the runs' executions (``views.list_runs``)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from tfxd.errors import MetadataError
from tfxd.file.changes import keyed_changes
from tfxd.infra.fingerprints import input_changes
from tfxd.mlmd.records import RunRecord, read_record
from tfxd.mlmd.runs_table import differing_parameters, short_value
from tfxd.mlmd.store import open_store
from tfxd.mlmd.views import Run, find_pipeline_file, list_runs, run_by_id

NO_RECORD = "run {run} has no run record: its parameters, code, data and packages are not known"


def find_run(store: Any, pipeline: str, token: str) -> Run:
    """The run ``token`` names: its number in the runs table (1 = newest), its id or a unique
    beginning of it."""
    if token.isdigit() and len(token) <= 4:
        runs = list_runs(store, pipeline, int(token))
        if not 1 <= int(token) <= len(runs):
            raise MetadataError(
                f"run #{token}: pipeline '{pipeline}' has {len(runs)} run(s): "
                f"see tfxd runs {pipeline}"
            )
        return runs[int(token) - 1]
    names = [c.name for c in store.get_contexts_by_type("pipeline_run")]
    found = [token] if token in names else [n for n in names if n.startswith(token)]
    if len(found) > 1:
        raise MetadataError(
            f"run {token!r} is ambiguous ({', '.join(sorted(found)[:4])}): give more of the id"
        )
    if not found:
        raise MetadataError(
            f"no run {token!r} of pipeline '{pipeline}' in ML Metadata: see tfxd runs {pipeline}"
        )
    run = run_by_id(store, pipeline, found[0])
    if run is None:
        raise MetadataError(
            f"run {found[0]} is not a run of pipeline '{pipeline}' (another pipeline in this "
            f"ML Metadata ran it): see tfxd runs {pipeline}"
        )
    return run


def compare_runs(
    pipeline: str, tokens: list[str], *, pipeline_file: str | None, console: Any
) -> list[Comparison]:
    """Print what differs from the first run named to each other one."""
    store = open_store(find_pipeline_file(pipeline, pipeline_file))
    if len(tokens) < 2:
        raise MetadataError("--compare: name two runs or more (e.g. --compare 2 1)")
    runs = [find_run(store, pipeline, t) for t in tokens]
    records = [read_record(store, pipeline, r.run_id) for r in runs]
    out = []
    for run, record in zip(runs[1:], records[1:], strict=True):
        comparison = compare(runs[0], run, records[0], record)
        print_comparison(comparison, console)
        out.append(comparison)
    return out


def plot_metric(
    pipeline: str,
    metric: str,
    *,
    pipeline_file: str | None,
    png: str | None,
    html: str | None,
    by_span: bool,
) -> list[str]:
    """Write ``metric`` over the pipeline's runs as a PNG and/or an HTML page; returns the paths."""
    from pathlib import Path

    from tfxd.mlmd import metric_plot

    store = open_store(find_pipeline_file(pipeline, pipeline_file))
    runs = list_runs(store, pipeline)
    spans = {}
    for run in runs:
        record = read_record(store, pipeline, run.run_id, with_packages=False)
        spans[run.run_id] = record.span if record is not None else None
    found = metric_plot.points(runs, spans, metric)
    if by_span and any(p.span is None for p in found):
        raise MetadataError(
            f"--by span: some runs with {metric!r} record no span (no spans, or no run record): "
            "use --by time"
        )
    back = metric_plot.rollbacks(store, pipeline)
    image = metric_plot.plot_png(found, back, pipeline, metric, by_span)
    written = []
    for path, data in (
        (png, image),
        (html, metric_plot.html_page(found, back, pipeline, metric, image).encode()),
    ):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_bytes(data)
            written.append(path)
    return written


@dataclass
class Comparison:
    """What differs from run ``base`` to run ``other``, section by section (lines of text)."""

    base: Run
    other: Run
    sections: dict[str, list[str]]


def compare(base: Run, other: Run, a: RunRecord | None, b: RunRecord | None) -> Comparison:
    sections: dict[str, list[str]] = {}
    notes = [NO_RECORD.format(run=r.run_id) for r, rec in ((base, a), (other, b)) if rec is None]
    if notes:
        sections["records"] = notes
    if a is not None and b is not None:
        sections["parameters"] = [
            f"{n}: {short_value(a.parameters.get(n))} → {short_value(b.parameters.get(n))}"
            for n in differing_parameters([a, b])
        ]
        sections["pipeline file"] = _text_diff(a.file.get("path", "pipeline file"), a.file, b.file)
        sections["code"] = code_changes(a.modules, b.modules)
        sections["data"] = data_changes(a, b)
        sections["packages"] = package_changes(a.packages, b.packages)
        sections["seeds"] = [
            f"{n}: {base.seeds.get(n, '-')} → {other.seeds.get(n, '-')}"
            for n in sorted(set(base.seeds) | set(other.seeds))
            if base.seeds.get(n) != other.seeds.get(n)
        ]
    sections["nodes"] = node_changes(base, other)
    sections["metrics"] = metric_changes(base.metrics, other.metrics)
    if base.pushed != other.pushed:
        sections["pushed"] = [f"{base.pushed or 'nothing'} → {other.pushed or 'nothing'}"]
    return Comparison(base, other, {k: v for k, v in sections.items() if v})


def _text_diff(name: str, old: dict[str, str], new: dict[str, str]) -> list[str]:
    if old.get("sha256") == new.get("sha256"):
        return []
    if "text" not in old or "text" not in new:
        return [f"{name} changed"]
    lines = difflib.unified_diff(
        old["text"].splitlines(), new["text"].splitlines(), name, name, lineterm="", n=2
    )
    return [f"{name} changed:", *("  " + line for line in lines)]


def code_changes(
    old: dict[str, dict[str, dict[str, str]]], new: dict[str, dict[str, dict[str, str]]]
) -> list[str]:
    """Per module file: each local file it imports that was added, removed or changed (with a
    unified diff of the text)."""
    out: list[str] = []
    for module in sorted(set(old) | set(new)):
        if module not in old:
            out.append(f"module {module}: new in the later run")
            continue
        if module not in new:
            out.append(f"module {module}: not used by the later run")
            continue
        was, now = old[module], new[module]
        for name in sorted(set(was) | set(now)):
            if name not in was:
                out.append(f"{name} imported (by {module})")
            elif name not in now:
                gone = "is gone" if name == module else f"no longer imported (by {module})"
                out.append(f"{name} {gone}")
            else:
                out += _text_diff(name, was[name], now[name])
    return list(dict.fromkeys(out))  # a helper two modules import is shown once


def data_changes(a: RunRecord, b: RunRecord) -> list[str]:
    out = []
    if a.span != b.span:
        out.append(f"span {a.span} → {b.span}")
    for node in sorted(set(a.nodes) | set(b.nodes)):
        was = (a.nodes.get(node) or {}).get("inputs")
        now = (b.nodes.get(node) or {}).get("inputs")
        if was == now or was is None or now is None:
            continue
        out += [f"{node}: {p}" for name, p in input_changes(was, now) if name != "span"]
    return out


def package_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    shown = {
        "added": lambda name: f"{name}: added ({new[name]})",
        "removed": lambda name: f"{name}: removed (was {old[name]})",
        "changed": lambda name: f"{name}: {old[name]} → {new[name]}",
    }
    return [shown[how](name) for name, how in keyed_changes(old, new)]


def node_changes(base: Run, other: Run) -> list[str]:
    was = {n.node: _outcome(n.state) for n in base.nodes}
    now = {n.node: _outcome(n.state) for n in other.nodes}
    return [
        f"{node}: {was.get(node, 'not run')} → {now.get(node, 'not run')}"
        for node in list(dict.fromkeys([*was, *now]))
        if was.get(node) != now.get(node)
    ]


def _outcome(state: str) -> str:
    return {"complete": "ran"}.get(state, state)


def metric_changes(old: dict[str, float], new: dict[str, float]) -> list[str]:
    out = []
    for name in sorted(set(old) | set(new)):
        if name in old and name in new:
            delta = new[name] - old[name]
            out.append(f"{name}: {old[name]:.6g} → {new[name]:.6g} ({delta:+.4g})")
        else:
            out.append(f"{name}: {old.get(name, '-')} → {new.get(name, '-')}")
    return out


def print_comparison(comparison: Comparison, console: Any) -> None:
    base, other = comparison.base, comparison.other
    console.print(
        f"[bold]{base.run_id}[/] ({base.status}) → [bold]{other.run_id}[/] ({other.status})"
    )
    if not comparison.sections:
        console.print("  nothing differs")
    for title, lines in comparison.sections.items():
        console.print(f"[cyan]{title}[/]")
        for line in lines:
            console.print(f"  {line}", markup=False, highlight=False)
