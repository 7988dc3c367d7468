"""``tfxd watch``: new spans run once each, oldest first; one watcher per root, crash or not."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tests.conftest import PENGUIN
from tfxd.errors import TfxdError
from tfxd.pipelines.pipeline import validate_file
from tfxd.pipelines.spans import available_spans
from tfxd.runners.watch import WatcherBusy, span_outcomes, watch

pytestmark = pytest.mark.slow

SPANNED = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: spanned}
spec:
  root: runs
  components:
    examples:
      type: CsvExampleGen
      with: {input_base: data, input_splits: {single_split: "span-{SPAN}/*"}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
"""


def add_span(folder: Path, span: int) -> None:
    target = folder / "data" / f"span-{span}"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(PENGUIN / "data" / "penguins.csv", target / "penguins.csv")


def test_each_new_span_runs_once_in_order(tmp_path, penguin_data):
    folder = tmp_path / "spanned"
    folder.mkdir()
    spec = folder / "pipeline.yaml"
    spec.write_text(SPANNED)
    add_span(folder, 2)
    add_span(folder, 1)
    console = Console(width=200, record=True)
    assert available_spans(validate_file(spec)) == [1, 2]
    assert watch(spec, once=True, interval=0, console=console).started == [(1, True), (2, True)]
    assert span_outcomes(validate_file(spec)) == {1: "done", 2: "done"}
    # Nothing new: nothing runs.
    assert watch(spec, once=True, interval=0, console=console).started == []
    assert "no new span (newest: 2)" in console.export_text()
    add_span(folder, 3)
    assert watch(spec, once=True, interval=0, console=console).started == [(3, True)]

    # Each run read its own span (pinned), not the newest one.
    from tfxd.mlmd.store import open_store

    store = open_store(validate_file(spec).loaded)
    spans = sorted(
        e.custom_properties["span"].int_value
        for e in store.get_executions()
        if e.type.endswith("CsvExampleGen") and "span" in e.custom_properties
    )
    assert spans == [1, 2, 3]

    # A plain run reads the newest span pinned as the watcher did: the same run to the cache.
    from tfxd.runners.local import run_pipeline

    again = run_pipeline(validate_file(spec), console=console)
    assert again.ok and {n.status for n in again.steps} == {"cached"}, again.steps


def test_one_watcher_per_root_and_a_crashed_one_leaves_no_lock(tmp_path, penguin_data):
    folder = tmp_path / "spanned"
    folder.mkdir()
    spec = folder / "pipeline.yaml"
    spec.write_text(SPANNED)
    (folder / "runs").mkdir()
    (folder / "data").mkdir()
    lock = folder / "runs" / ".tfxd-watch.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"h = open({str(lock)!r}, 'a+'); fcntl.flock(h, fcntl.LOCK_EX)\n"
            "h.write(str(os.getpid())); h.flush(); print('locked', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    console = Console(width=200, record=True)
    with pytest.raises(WatcherBusy, match=rf"another tfxd watch \(pid {holder.pid}\)"):
        watch(spec, once=True, interval=0, console=console)
    os.kill(holder.pid, signal.SIGKILL)  # a watcher that crashed
    holder.wait()
    add_span(folder, 1)
    assert watch(spec, once=True, interval=0, console=console).started == [(1, True)]


def test_nothing_to_watch_is_a_clear_error(tmp_path, penguin_data):
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(
        SPANNED.replace(
            'input_splits: {single_split: "span-{SPAN}/*"}', "input_splits: {}"
        ).replace("input_base: data", f"input_base: {PENGUIN / 'data'}")
    )
    with pytest.raises(
        TfxdError,
        match=r"spans \(tfxd watch, tfxd run --span\) need an ExampleGen with spans: a "
        r"CsvExampleGen.* has \{SPAN\}.*@span_yyyymmdd_utc, or a PubSubExampleGen",
    ):
        watch(spec, once=True, interval=0, console=Console())


def test_span_flag_needs_a_span_pattern(penguin_copy):
    from tfxd.runners.local import run_file

    with pytest.raises(TfxdError, match=r"need an ExampleGen with spans: a CsvExampleGen"):
        run_file(penguin_copy, span=3, console=Console())


def test_a_failing_span_is_retried_then_quarantined_and_later_spans_go_on(
    tmp_path, penguin_data, monkeypatch
):
    from tfxd.mlmd.runs_table import print_runs
    from tfxd.mlmd.store import open_store
    from tfxd.runners.watch import EXIT, release, status

    folder = tmp_path / "spanned"
    folder.mkdir()
    spec = folder / "pipeline.yaml"
    spec.write_text(SPANNED + "  watch: {retries: 1}\n")
    add_span(folder, 1)
    (folder / "data" / "span-2").mkdir(parents=True)
    (folder / "data" / "span-2" / "penguins.csv").write_text("a,b\n1,2,3\n")  # a torn row
    # The retry policy on a failure it takes for transient (the node and its error stay real; a
    # torn row itself is not retried, below).
    monkeypatch.setattr("tfxd.runners.failure.retryable", lambda *_: True)
    console = Console(width=200, record=True)

    first = watch(spec, once=True, interval=0, console=console)
    assert first.started == [(1, True), (2, False)] and first.code == EXIT["failed"] == 1
    assert "failed 2 (attempt 1 of 2)" in console.export_text()
    add_span(folder, 3)
    second = watch(spec, once=True, interval=0, console=console)
    # Span 2 fails its last allowed attempt: quarantined with its error; span 3 still runs.
    assert second.started == [(2, False), (3, True)]
    assert second.code == EXIT["quarantined"] == 4
    text = console.export_text()
    assert "span 2 quarantined after 2 failed attempts: node 'examples' failed" in text
    assert "processed 3; quarantined 2 (after 2 attempts) — quarantined (exit 4)" in text

    third = watch(spec, once=True, interval=0, console=console)
    assert third.started == [] and third.code == EXIT["nothing new"] == 3
    assert "still quarantined 2" in console.export_text()
    states = status(spec, console)
    assert states == {1: "done", 2: "quarantined", 3: "done"}
    narrow = Console(width=80, record=True)  # at 80 columns the error folds, nothing is cut
    status(spec, narrow)
    lines = narrow.export_text().splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in narrow.export_text(), lines
    words = " ".join(" ".join(line.strip("│┃ ").split()) for line in lines)
    for header in ("span", "state", "bad", "rows", "failed", "runs", "last", "error"):
        assert header in words, lines
    assert "quarantined" in words and "'examples'" in words, lines
    runs = Console(width=200, record=True)
    print_runs("spanned", pipeline_file=str(spec), console=runs)
    assert "quarantined span 2 (2 attempts): node 'examples' failed" in runs.export_text()

    # strict: the queue waits on the quarantined span until it is released.
    spec.write_text(SPANNED + "  watch: {retries: 1, on_quarantine: strict}\n")
    add_span(folder, 4)
    blocked = watch(spec, once=True, interval=0, console=console)
    assert blocked.started == [] and blocked.blocked == 2 and blocked.code == 4
    release(spec, 2, console)
    add_span(folder, 2)  # fixed
    fixed = watch(spec, once=True, interval=0, console=console)
    assert fixed.started == [(2, True), (4, True)] and fixed.code == 0
    store = open_store(validate_file(spec).loaded)
    from tfxd.mlmd.quarantine import records

    [record] = records(store, "spanned")
    assert record.span == 2 and record.attempts == 2 and record.released

    # A span of nothing but a torn row (over max_bad_rows) fails the same way every time:
    # quarantined at once, not retried.
    monkeypatch.undo()
    (folder / "data" / "span-5").mkdir(parents=True)
    (folder / "data" / "span-5" / "penguins.csv").write_text("a,b\n1,2,3\n")
    torn = watch(spec, once=True, interval=0, console=console)
    assert torn.started == [(5, False)] and torn.code == EXIT["quarantined"]
    assert torn.quarantined == ["5 (not retried: it would fail the same way)"]
    text = " ".join(console.export_text().split())
    assert (
        "span 5 quarantined at once (not retried): node 'examples' failed: 1 of 1 CSV rows are "
        "bad (100.0%), max_bad_rows allows 0.01 (0 rows): " in text
    ), text
    assert "span-5/penguins.csv:2: 3 field(s), the header has 2" in text
    assert "BadRows/rows.csv, the reasons beside it), or raise max_bad_rows" in text
