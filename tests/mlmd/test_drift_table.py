"""``tfxd drift``'s table reads at 80 columns: features as rows, the newest spans as columns."""

from __future__ import annotations

from rich.console import Console

from tfxd.infra.drift import Score, Verdict
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


def test_a_numeric_feature_shows_its_worse_score_and_a_clock_column_moves():
    scores = [
        Score("trip_miles", "jensen_shannon", 0.05, 0.1),
        Score("trip_miles", "wasserstein", 2.25, 1.0),
        Score("fare", "jensen_shannon", 0.08, 0.1),
        Score("fare", "wasserstein", 0.2, 1.0),
    ]
    verdict = Verdict(
        span=6, baseline=[5], policy="fail", scores=scores, moving=["trip_start_timestamp"]
    )
    console = Console(width=80, record=True)
    console.print(table([SpanRecord(6, "drift", verdict, "failed", 1)], "taxi", width=80))
    lines = console.export_text().splitlines()

    def row(name: str) -> str:
        return next(line for line in lines if line.lstrip("│ ").startswith(name + " "))

    assert "2.250!" in row("trip_miles") and "0.050" not in row("trip_miles")
    assert "0.080" in row("fare")  # 0.08 of 0.1 is nearer its threshold than 0.2 of 1
    assert "moves" in row("trip_start_timestamp")
    assert "trip_miles wasserstein 2.250 > 1" in verdict.message()


def test_at_two_hundred_columns_every_span_and_no_note():
    console = Console(width=200, record=True)
    console.print(table(records(9), "taxi", width=200))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 200
    assert "span 1 " in text and "span 9" in text  # all nine spans side by side
    assert "newest" not in text and "--html" not in text
