"""``tfxd runs NAME --host``: a pipeline's runs on a Kubeflow Pipelines server, newest first,
as a table fitted to the terminal (ids cut to 8 characters, times to the minute) or as JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from tfxd.infra.columns import Column, print_fitted
from tfxd.runners.submit import Connection, SubmitError, api_call, client

STATES = {"state": {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "cyan", "PENDING": "yellow"}}


@dataclass
class RemoteRun:
    run_id: str
    name: str
    state: str
    created: str
    finished: str


def list_remote_runs(conn: Connection, name: str, limit: int = 20) -> list[RemoteRun]:
    """The latest runs of pipeline ``name`` with their states, newest first."""
    kfp_client = client(conn)
    pipeline_id = api_call(f"looking up pipeline '{name}'", kfp_client.get_pipeline_id, name)
    if pipeline_id is None:
        raise SubmitError(f"no pipeline named '{name}' on {conn.host}: submit it first")
    response = api_call(
        "listing runs", kfp_client.list_runs, page_size=200, sort_by="created_at desc"
    )
    runs = []
    for run in response.runs or []:
        ref = run.pipeline_version_reference
        if ref is None or ref.pipeline_id != pipeline_id:
            continue
        runs.append(
            RemoteRun(
                run.run_id,
                run.display_name or "",
                run.state or "UNKNOWN",
                str(run.created_at or ""),
                str(run.finished_at or ""),
            )
        )
    return runs[:limit]


def _short_time(stamp: str) -> str:
    """2026-12-07 11:20:17.5+00:00 → 12-07 11:20 (what KFP leaves unset stays '-')."""
    date, _, time = stamp.replace("T", " ").partition(" ")
    return f"{date[5:]} {time[:5]}" if len(date) == 10 and time else stamp or "-"


def print_remote_runs(
    conn: Connection,
    name: str,
    limit: int,
    console: Any,
    *,
    wide: bool = False,
    as_json_text: bool = False,
) -> list[RemoteRun]:
    """Print ``list_remote_runs`` fitted to ``console`` (``wide``: whole) or as JSON."""
    runs = list_remote_runs(conn, name, limit)
    if as_json_text:
        console.print_json(json.dumps([dataclasses.asdict(r) for r in runs]))
        return runs
    times = {h: [getattr(r, h) or "-" for r in runs] for h in ("created", "finished")}
    cols = [
        Column("run", [r.run_id for r in runs], 90, [r.run_id[:8] for r in runs]),
        Column("state", [r.state for r in runs], 95),
        Column("created", times["created"], 85, [_short_time(t) for t in times["created"]]),
        Column("finished", times["finished"], 70, [_short_time(t) for t in times["finished"]]),
        Column("name", [r.name for r in runs], 60),
    ]
    print_fitted(console, f"runs of {name} on {conn.host}", cols, wide=wide, styles=STATES)
    return runs
