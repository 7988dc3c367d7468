"""``tfxd runs``: the runs of a pipeline as a table that fits the terminal, or as JSON.

Fitted by ``tfxd.infra.columns``: the run's id shortens to its start time without the year and the
fraction, then the lowest-ranked columns are left out (named below the table); ``--wide`` keeps
every column at full width, ``--json`` prints everything.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tfxd.errors import MetadataError
from tfxd.infra.columns import Column, fitted_table, print_fitted
from tfxd.mlmd.records import RunRecord, read_record
from tfxd.mlmd.store import open_store
from tfxd.mlmd.views import Run, find_pipeline_file, list_runs

KEY_METRICS = 3  # metric columns in the runs table
PREFERRED = ("accuracy", "auc", "loss", "rmse", "precision", "recall")
COLORS = {"succeeded": "green", "failed": "red", "interrupted": "yellow", "running": "cyan"}
STYLES = {"status": COLORS}


def differing_parameters(records: list[RunRecord | None]) -> list[str]:
    """Parameters whose values are not the same in every recorded run."""
    found = [r.parameters for r in records if r is not None]
    names = sorted({n for p in found for n in p})
    return [n for n in names if len({json.dumps(p.get(n), sort_keys=True) for p in found}) > 1]


def key_metrics(runs: list[Run]) -> list[str]:
    """The metrics worth a column: those most runs have, the usual quality measures first."""
    counts: dict[str, int] = {}
    for run in runs:
        for name in run.metrics:
            counts[name] = counts.get(name, 0) + 1

    def rank(name: str) -> tuple:
        usual = next((i for i, p in enumerate(PREFERRED) if p in name.lower()), len(PREFERRED))
        return (usual, -counts[name], name)

    return sorted((n for n in counts if n != "example_count"), key=rank)[:KEY_METRICS]


def bad_rows_cell(run: Run) -> str:
    """The rows the run's ExampleGens set aside, as 'set aside/read'."""
    counts = run.bad_rows.values()
    return " ".join(f"{c['rows']}/{c['of']}" for c in counts) or "-"


def bound_cell(run: Run) -> str:
    """What its Trainers waited on: 'input' or 'compute' and the share of a step that reading
    a batch alone takes (``components.standard.input_profile``)."""
    cells = [f"{p['bound']} {p['share']:.2f}" for p in run.inputs.values()]
    return " ".join(cells) or "-"


def short_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 24 else text[:23] + "…"


def columns(runs: list[Run], records: list[RunRecord | None]) -> list[Column]:
    """Every column of the runs table, in display order, each with its rank."""
    params = differing_parameters(records)
    metrics = key_metrics(runs)

    def span(record: RunRecord | None) -> str:
        return "?" if record is None else "-" if record.span is None else str(record.span)

    def nodes(run: Run, state: str) -> list[str]:
        return [n.node for n in run.nodes if n.state == state]

    out = [
        Column("#", [str(i) for i in range(1, len(runs) + 1)], 100),
        Column("run", [r.run_id for r in runs], 90, [_short_id(r.run_id) for r in runs]),
        Column("status", [r.status for r in runs], 95),
        Column("duration", [f"{r.seconds:.1f}s" for r in runs], 50),
        Column("ran", [str(len(nodes(r, "complete"))) for r in runs], 40),
        Column("cached", [str(len(r.cached)) for r in runs], 39),
        Column("failed", [", ".join(nodes(r, "failed")) or "-" for r in runs], 80),
        Column("span", [span(rec) for rec in records], 85),
    ]
    if any(r.bad_rows for r in runs):
        out.append(Column("bad rows", [bad_rows_cell(r) for r in runs], 65))
    if any(r.inputs for r in runs):
        out.append(Column("bound", [bound_cell(r) for r in runs], 45))
    for i, name in enumerate(params):
        cells = [short_value(rec.parameters.get(name)) if rec else "?" for rec in records]
        out.append(Column(name, cells, 60 - i))
    for i, name in enumerate(metrics):
        cells = [f"{r.metrics[name]:.4g}" if name in r.metrics else "-" for r in runs]
        out.append(Column(name, cells, 82 - 12 * i))  # the first metric before the failed node
    out.append(Column("pushed", [r.pushed or "-" for r in runs], 75))
    return out


def _short_id(run_id: str) -> str:
    """2026-12-06T12:56:02.913182 → 12-06 12:56 (ids that are not times stay; # names a run)."""
    date, sep, time = run_id.partition("T")
    if not sep or len(date) != 10:
        return run_id
    return f"{date[5:]} {time[:5]}"


def runs_table(
    pipeline: str, runs: list[Run], records: list[RunRecord | None], width: int | None
) -> tuple[Table, list[str]]:
    """The table for a terminal ``width`` columns wide (None: every column), and the notes
    to print below it."""
    return fitted_table(f"runs of {pipeline}", columns(runs, records), width, STYLES)


def as_json(runs: list[Run], records: list[RunRecord | None]) -> str:
    """Every run with what the table shows and more, newest first."""
    out = []
    for run, record in zip(runs, records, strict=True):
        out.append(
            {
                "run": run.run_id,
                "started": run.started.isoformat(),
                "seconds": round(run.seconds, 3),
                "status": run.status,
                "span": record.span if record else None,
                "parameters": record.parameters if record else None,
                "nodes": {n.node: n.state for n in run.nodes},
                "metrics": run.metrics,
                "pushed": run.pushed or None,
                "bad_rows": run.bad_rows,
                "input_profile": run.inputs or None,
            }
        )
    return json.dumps(out, indent=1, sort_keys=True)


def print_runs(
    pipeline: str,
    *,
    pipeline_file: str | None = None,
    limit: int = 20,
    console: Console,
    wide: bool = False,
    as_json_text: bool = False,
) -> list[Run]:
    store = open_store(find_pipeline_file(pipeline, pipeline_file))
    runs = list_runs(store, pipeline, limit)
    if not runs:
        raise MetadataError(f"no runs of pipeline '{pipeline}' in ML Metadata")
    records = [read_record(store, pipeline, r.run_id, with_packages=False) for r in runs]
    if as_json_text:
        console.print_json(as_json(runs, records))
        return runs
    print_fitted(console, f"runs of {pipeline}", columns(runs, records), wide=wide, styles=STYLES)
    from tfxd.mlmd.quarantine import active

    for record in active(store, pipeline).values():
        console.print(
            f"[red]quarantined span {record.span}[/] ({record.attempts} attempts): "
            f"{escape(record.error)}  (since {record.at}; tfxd watch FILE --release {record.span})"
        )
    return runs
