"""``tfxd runs``: the runs of a pipeline as a table that fits the terminal, or as JSON.

Every column has a rank; where the terminal is narrower than the table, the lowest-ranked columns
are left out (named below the table) and the run's id is shortened to its start time without the
year and the fraction; ``--wide`` keeps every column at full width, ``--json`` prints everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tfxd.errors import MetadataError
from tfxd.mlmd.records import RunRecord, read_record
from tfxd.mlmd.store import open_store
from tfxd.mlmd.views import Run, find_pipeline_file, list_runs

KEY_METRICS = 3  # metric columns in the runs table
PREFERRED = ("accuracy", "auc", "loss", "rmse", "precision", "recall")
COLORS = {"succeeded": "green", "failed": "red", "interrupted": "yellow", "running": "cyan"}


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


def short_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 24 else text[:23] + "…"


@dataclass
class Column:
    header: str
    cells: list[str]
    rank: int  # the lowest go first when the table does not fit

    @property
    def width(self) -> int:
        return max(len(self.header), *(len(c) for c in self.cells))


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
        Column("run", [r.run_id for r in runs], 90),
        Column("status", [r.status for r in runs], 95),
        Column("duration", [f"{r.seconds:.1f}s" for r in runs], 50),
        Column("ran", [str(len(nodes(r, "complete"))) for r in runs], 40),
        Column("cached", [str(len(r.cached)) for r in runs], 39),
        Column("failed", [", ".join(nodes(r, "failed")) or "-" for r in runs], 80),
        Column("span", [span(rec) for rec in records], 85),
    ]
    if any(r.bad_rows for r in runs):
        out.append(Column("bad rows", [bad_rows_cell(r) for r in runs], 65))
    for i, name in enumerate(params):
        cells = [short_value(rec.parameters.get(name)) if rec else "?" for rec in records]
        out.append(Column(name, cells, 60 - i))
    for i, name in enumerate(metrics):
        cells = [f"{r.metrics[name]:.4g}" if name in r.metrics else "-" for r in runs]
        out.append(Column(name, cells, 82 - 12 * i))  # the first metric before the failed node
    out.append(Column("pushed", [r.pushed or "-" for r in runs], 75))
    return out


def _table_width(cols: list[Column]) -> int:
    return sum(c.width for c in cols) + 3 * len(cols) + 1  # padding and rules


def fit(cols: list[Column], width: int) -> tuple[list[Column], list[str]]:
    """The columns that fit ``width`` (run ids shortened, then the highest ranks taken while
    they fit) and the headers of those left out, highest rank first."""
    if _table_width(cols) <= width:
        return cols, []
    short = [
        Column(c.header, [_short_id(v) for v in c.cells], c.rank) if c.header == "run" else c
        for c in cols
    ]
    kept: list[Column] = []
    for col in sorted(short, key=lambda c: -c.rank):  # the highest ranks first, while they fit
        if len(kept) < 3 or _table_width([*kept, col]) <= width:
            kept.append(col)
    dropped = [c.header for c in sorted(short, key=lambda c: -c.rank) if c not in kept]
    return [c for c in short if c in kept], dropped


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
    cols = columns(runs, records)
    dropped: list[str] = []
    if width is not None:
        cols, dropped = fit(cols, width)
    table = Table(title=f"runs of {pipeline}")
    for col in cols:
        table.add_column(col.header, no_wrap=True)
    for row in zip(*(c.cells for c in cols), strict=True):
        cells = [escape(cell) for cell in row]
        for i, col in enumerate(cols):
            if col.header == "status":
                cells[i] = f"[{COLORS.get(row[i], 'white')}]{cells[i]}[/]"
        table.add_row(*cells)
    notes = []
    if dropped:
        notes.append(
            f"left out to fit {width} columns: {', '.join(dropped)} (--wide shows every column, "
            "--json everything)"
        )
    return table, notes


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
    table, notes = runs_table(pipeline, runs, records, None if wide else console.width)
    if wide:
        console.print(table, width=max(console.width, _table_width(columns(runs, records))))
    else:
        console.print(table)
    for note in notes:
        console.print(note, style="dim", highlight=False)
    from tfxd.mlmd.quarantine import active

    for record in active(store, pipeline).values():
        console.print(
            f"[red]quarantined span {record.span}[/] ({record.attempts} attempts): "
            f"{escape(record.error)}  (since {record.at}; tfxd watch FILE --release {record.span})"
        )
    return runs
