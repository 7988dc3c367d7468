"""`tfxd example taxi --rows N`: the taxi sample of the tfx wheel grown to N rows, by time."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from tests.conftest import tfxd
from tfxd.examples import span_of, taxi_sample

MOVED = ("trip_start_timestamp", "trip_start_month")


def read_spans(folder: Path) -> dict[int, list[dict[str, str]]]:
    out = {}
    for path in sorted(folder.glob("span-*/data.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            out[int(path.parent.name.split("-")[1])] = list(csv.DictReader(handle))
    return out


def test_grown_rows_keep_their_text_spread_over_time_and_repeat_byte_for_byte(tmp_path):
    done = tfxd("example", "taxi", "--rows", "6000", "--by", "half-year", "--pipelines", "p",
                cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "p" / "taxi" / "data"
    assert "wrote 6,000 rows in 8 span(s) by half-year (" in " ".join(done.stdout.split())
    spans = read_spans(folder)
    assert sorted(spans) == list(range(1, 9)) and sum(map(len, spans.values())) == 6000
    assert all(650 <= len(rows) <= 850 for rows in spans.values()), {
        s: len(r) for s, r in spans.items()
    }

    header, sample = taxi_sample()
    kept = {tuple(c for name, c in zip(header, row, strict=True) if name not in MOVED)
            for row in sample}  # fmt: skip
    stamps = []
    for span, rows in spans.items():
        assert list(rows[0]) == header
        for row in rows:
            assert tuple(row[n] for n in header if n not in MOVED) in kept, row
            when = dt.datetime.fromtimestamp(int(row["trip_start_timestamp"]), dt.timezone.utc)
            assert span_of(when.year, when.month, when.day, "half-year") == span
            assert int(row["trip_start_month"]) == when.month
            assert int(row["trip_start_hour"]) == when.hour
            assert int(row["trip_start_day"]) == when.isoweekday() % 7 + 1  # Sunday is 1
            stamps.append(int(row["trip_start_timestamp"]))
    # In time order, as an export arrives, give or take the week a trip moved by.
    assert all(b - a > -7 * 86400 for a, b in zip(stamps, stamps[1:], strict=False))
    assert len(set(stamps)) > 3000  # spread, not a few instants repeated

    # The same command again writes the same bytes and leaves the files alone.
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("span-*/*")}
    again = tfxd("example", "taxi", "--rows", "6000", "--by", "half-year", "--pipelines", "p",
                 cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("span-*/*")} == before
    assert not list(folder.rglob("*.tmp"))


def test_parquet_holds_the_same_trips_typed(tmp_path):
    import pyarrow.parquet as pq

    for fmt in ("csv", "parquet"):
        done = tfxd("example", "taxi", "--rows", "3000", "--spans", "1,3", "--format", fmt,
                    "--pipelines", fmt, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "by week" in done.stdout and f"MB of {fmt})" in done.stdout, done.stdout
    text = read_spans(tmp_path / "csv" / "taxi" / "data")
    assert sorted(text) == [1, 3]
    for span, rows in text.items():
        table = pq.read_table(tmp_path / "parquet" / "taxi" / "data" / f"span-{span}/data.parquet")
        assert table.num_rows == len(rows)
        assert str(table.schema.field("fare").type) == "double"
        assert str(table.schema.field("trip_start_timestamp").type) == "int64"
        assert table.column("trip_start_timestamp").to_pylist() == [
            int(r["trip_start_timestamp"]) for r in rows
        ]
        companies = [c or "" for c in table.column("company").to_pylist()]
        assert companies == [r["company"] for r in rows]


def test_bad_sizes_and_other_examples_are_refused_naming_the_fix(tmp_path):
    zero = tfxd("example", "taxi", "--rows", "0", "--pipelines", "p", cwd=tmp_path)
    assert zero.returncode != 0 and "--rows: 0 is not a number of rows" in zero.stderr, zero
    penguin = tfxd("example", "penguin", "--rows", "10", "--pipelines", "p", cwd=tmp_path)
    assert penguin.returncode != 0
    assert "tfxd example taxi --rows N" in penguin.stderr, penguin.stderr
    both = tfxd("example", "taxi", "--rows", "10", "--to", "s3://b/p", cwd=tmp_path)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr, both.stderr
    assert not (tmp_path / "p").exists()
