"""The runs table at 80 and 200 columns, and as JSON: nothing cut mid-word, what is left out
named."""

from __future__ import annotations

import datetime as dt
import json

from rich.console import Console

from tfxd.mlmd.records import RunRecord
from tfxd.mlmd.runs_table import as_json, runs_table
from tfxd.mlmd.views import NodeRun, Run


def run(i: int, status: str = "succeeded", bad: bool = False) -> Run:
    nodes = [NodeRun("examples", "complete", 3.0, i), NodeRun("train", "cached", 0.0, i + 100)]
    if status == "failed":
        nodes.append(NodeRun("drift", "failed", 0.2, i + 200))
    return Run(
        run_id=f"2026-12-06T12:{i:02d}:02.913182",
        started=dt.datetime(2026, 12, 6, 12, i, 2),
        seconds=74.4,
        status=status,
        nodes=nodes,
        metrics={"binary_accuracy": 0.7 + i / 100, "example_count": 900.0},
        pushed=str(1796560000 + i) if status == "succeeded" else "",
        bad_rows={"examples": {"rows": 1, "of": 2611, "file": "x"}} if bad else {},
        inputs={"train": {"bound": "compute", "share": 0.151}} if status == "succeeded" else {},
    )


def record(i: int) -> RunRecord:
    return RunRecord(
        pipeline="taxiloop",
        run_id=run(i).run_id,
        runner="local",
        file={},
        parameters={"train_steps": 40 if i % 2 else 1, "data_root": "data"},
        span=i,
        nodes={},
        modules={},
    )


def rendered(width: int) -> tuple[str, list[str]]:
    runs = [run(6), run(5, "failed"), run(4, bad=True)]
    table, notes = runs_table("taxiloop", runs, [record(6), record(5), None], width)
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text(), notes


def test_at_80_columns_columns_are_left_out_by_rank_and_named():
    text, notes = rendered(80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "#" in line)
    assert "…" not in header  # no header squeezed to one letter
    for shown in ("run", "status", "failed", "span", "binary_accuracy", "pushed"):
        assert shown in header, header
    assert "12-06 12:06" in text and "2026-12-06T" not in text  # the id as a start time
    [note] = notes
    assert note.startswith("left out to fit 80 columns: ") and "duration" in note
    assert "--wide" in note and "--json" in note


def test_at_200_columns_every_column_and_the_full_id():
    text, notes = rendered(200)
    assert notes == []
    for shown in ("duration", "ran", "cached", "bad rows", "train_steps", "binary_accuracy"):
        assert shown in text
    assert "bound" in text and "compute 0.15" in text  # what the Trainer waited on
    assert "2026-12-06T12:06:02.913182" in text and "1/2611" in text
    assert "?" in text  # a run without a record: its span and parameters unknown


def test_json_holds_everything():
    runs = [run(6), run(4, bad=True)]
    data = json.loads(as_json(runs, [record(6), None]))
    assert [d["run"] for d in data] == [r.run_id for r in runs]
    assert data[0]["parameters"]["train_steps"] == 1 and data[1]["parameters"] is None
    assert data[1]["bad_rows"]["examples"]["rows"] == 1
    assert data[0]["input_profile"] == {"train": {"bound": "compute", "share": 0.151}}
    assert data[0]["nodes"] == {"examples": "complete", "train": "cached"}
