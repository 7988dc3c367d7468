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
    # Rewriting identical data would change its mtime, which TFX's file fingerprint (and so the
    # cache) sees as new data.
    if not target.is_file() or target.read_bytes() != data:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)


def _taxi_span(started: dt.datetime, by: str) -> int:
    if by == "week":
        return min((started.day - 1) // 7, 3) + 1
    return (started.year - 2013) * 2 + (started.month - 1) // 6 + 1


def taxi_spans(spans: list[int] | None = None, by: str = "week") -> dict[int, bytes]:
    """The taxi sample split by when each trip started (``TAXI_CUTS`` says how, per ``by``), rows
    kept as the wheel ships them. CSV bytes by span number."""
    import csv
    import io

    import tfx

    if by not in TAXI_CUTS:
        raise TfxdError(f"taxi spans are cut by {' or '.join(TAXI_CUTS)}, not '{by}'")
    source = Path(tfx.__file__).parent / "examples/chicago_taxi_pipeline/data/simple/data.csv"
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
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
