"""``tfxd drift``'s table reads at 80 columns: features as rows, the newest spans as columns."""

from __future__ import annotations

from rich.console import Console

from tfxd.components.drift_validator.drift import Score, Verdict
from tfxd.mlmd.drift import SpanRecord, table

FEATURES = [
    "trip_start_timestamp",
    "pickup_census_tract",
    "dropoff_community_area",
    "payment_type",
    "company",
    "trip_miles",
    "fare",
    "tips",
    "trip_seconds",
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
    "dropoff_census_tract",
    "pickup_community_area",
]


def records(spans: int) -> list[SpanRecord]:
    out = []
    for span in range(1, spans + 1):
        scores = [
            Score(f, "jensen_shannon", 0.5 if (span == 8 and f == "fare") else 0.01 * i, 0.2)
            for i, f in enumerate(FEATURES)
        ]
        baseline = [] if span == 1 else [span - 1]
        verdict = Verdict(span=span, baseline=baseline, policy="previous_span", scores=scores)
        out.append(SpanRecord(span, "drift", verdict, "failed" if span == 8 else "passed", span))
    return out


def test_fifteen_features_read_at_eighty_columns():
    console = Console(width=80, record=True)
    console.print(table(records(9), "taxi", width=80))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text
    for feature in FEATURES:  # every name whole, on its own row
        assert any(line.lstrip("│ ").startswith(feature) for line in lines), feature
    assert "span 9" in text and "span 1 " not in text  # the newest spans fit
    assert "newest" in text and "of 9 spans; all: --html" in text
    row = next(line for line in lines if line.lstrip("│ ").startswith("fare "))
    assert "0.500!" in row  # span 8's breach, marked
    verdicts = next(line for line in lines if "verdict" in line)
    assert "DRIFT" in verdicts


def test_few_spans_all_shown_with_the_cold_start():
    console = Console(width=80, record=True)
    console.print(table(records(2), "taxi", width=80))
    text = console.export_text()
    assert "span 1" in text and "span 2" in text and "no baseline" in text
    assert "of 2 spans" not in text
