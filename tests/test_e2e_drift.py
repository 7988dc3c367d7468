"""The taxi pipeline over spans 1..4, span 3 shifted in two features: the drift gate passes 1, 2
and 4, stops 3 on exactly those features (no model from it), and the history has all four.

Span 3 also breaks the accepted schema on its own, as the sample comes: ``pickup_census_tract`` is
empty in every row of span 1 (so typed STRING there) and holds one integer in span 3. Accepting
span 3's schema on purpose clears that break, and the drift still holds span 3 back."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, tfxd

pytestmark = pytest.mark.slow
SHIFTED = {"fare", "payment_type"}


def shift(path: Path) -> None:
    """Span 3: fares tripled and every trip paid in cash."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["fare"]:
            row["fare"] = str(float(row["fare"]) * 3)
        row["payment_type"] = "Cash"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_drift_gate_over_four_spans(tmp_path):
    folder = tmp_path / "taxi"
    shutil.copytree(
        REPO / "pipelines" / "taxi", folder, ignore=shutil.ignore_patterns("runs", "data")
    )
    spec = str(folder / "pipeline.yaml")
    outcomes = {}
    for span in (1, 2, 3, 4):
        wrote = tfxd(
            "example", "taxi", "--pipelines", str(tmp_path), "--spans", str(span), cwd=folder
        )
        assert wrote.returncode == 0, wrote.stderr
        if span == 3:
            shift(folder / "data" / "span-3" / "data.csv")
        outcomes[span] = tfxd("run", spec, cwd=folder)
        if span == 3:
            broken = " ".join(outcomes[3].stdout.split())
            assert (
                "span 3 breaks the accepted schema: pickup_census_tract: STRING in the accepted "
                "schema (span 1), INT in span 3 (it held no values in span 1: the type there was "
                "a guess). Fix: fix the data, or make span 3's schema the accepted one on purpose: "
                "tfxd schema accept taxi --span 3, then run the span again" in broken
            ), broken
            accepted = tfxd(
                "schema",
                "accept",
                "taxi",
                "-f",
                spec,
                "--span",
                "3",
                "--reason",
                "tracts now",
                cwd=folder,
            )
            assert accepted.returncode == 0, accepted.stdout + accepted.stderr
            assert "the accepted schema is now span 3, by tfxd schema accept (was span 1)" in (
                " ".join(accepted.stdout.split())
            )
            outcomes[3] = tfxd("run", spec, cwd=folder)  # the drift still holds it back
    for span in (1, 2, 4):
        assert outcomes[span].returncode == 0, outcomes[span].stdout + outcomes[span].stderr
        assert f"{'push':<12} done" in outcomes[span].stdout
    failed = outcomes[3]
    assert failed.returncode == 1, failed.stdout
    text = " ".join(failed.stdout.split())
    assert "node 'drift' failed" in text
    assert "span 3 drifted from span(s) 2:" in text and "breaks the accepted schema" not in text
    for name in SHIFTED:
        assert name in text
    assert f"{'train':<12} done" not in failed.stdout  # nothing after the gate ran
    assert f"{'push':<12} done" not in failed.stdout

    # Three models pushed: from spans 1, 2 and 4, none from span 3.
    versions = [p for p in (folder / "runs" / "serving").iterdir() if p.is_dir()]
    assert len(versions) == 3

    # The history: four spans, span 3 breached on exactly the shifted features.
    from tfxd.metadata.drift import drift_history
    from tfxd.metadata.store import open_store
    from tfxd.spec import load

    store = open_store(load(spec))
    records = {r.span: r for r in drift_history(store, "taxi")}
    assert sorted(records) == [1, 2, 3, 4]
    assert records[1].verdict.status == "no baseline"
    assert records[2].verdict.status == records[4].verdict.status == "pass"
    assert records[4].verdict.baseline == [2]  # the rejected span never becomes a baseline
    assert records[3].gate == "failed"
    assert {s.feature for s in records[3].verdict.breaches} == SHIFTED

    shown = tfxd(
        "drift", "taxi", "-f", spec, "--png", "drift.png", "--html", "drift.html", cwd=folder
    )
    assert shown.returncode == 0, shown.stderr
    assert "DRIFT" in shown.stdout and "no baseline" in shown.stdout
    shown_text = " ".join(shown.stdout.split())
    assert "accepted span 3's schema for drift: tracts now" in shown_text
    schema = tfxd("schema", "show", "taxi", "-f", spec, cwd=folder)
    assert schema.returncode == 0, schema.stderr
    assert "drift: accepted schema from span 3, by tfxd schema accept" in schema.stdout
    assert (folder / "drift.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in (folder / "drift.html").read_text()

    # The failed gate is in the run history.
    runs = tfxd("runs", "taxi", "-f", spec, cwd=folder)
    assert runs.returncode == 0 and "failed" in runs.stdout and "drift" in runs.stdout
