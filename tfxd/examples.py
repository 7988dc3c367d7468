"""Write the data of the example pipelines from the packages that ship it (nothing is committed)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from tfxd.errors import MissingDependencyError, TfxdError

EXAMPLES = {
    "penguin": "Palmer penguins, raw CSV from the palmerpenguins package",
    "taxi": "Chicago taxi trips (the sample inside the tfx wheel), as spans by week of the month",
}
TAXI_SPANS = 4


def _write_if_changed(target: Path, data: bytes) -> None:
    # Rewriting identical data would change its mtime, which TFX's file fingerprint (and so the
    # cache) sees as new data.
    if not target.is_file() or target.read_bytes() != data:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)


def taxi_spans(spans: list[int] | None = None) -> dict[int, bytes]:
    """The taxi sample split by when each trip started: span N holds the trips of week N of their
    month (days 1-7, 8-14, 15-21, 22-31), across all years. CSV bytes by span number."""
    import csv
    import datetime as dt
    import io

    import tfx

    source = Path(tfx.__file__).parent / "examples/chicago_taxi_pipeline/data/simple/data.csv"
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    stamp = header.index("trip_start_timestamp")
    out: dict[int, list[list[str]]] = {n: [] for n in range(1, TAXI_SPANS + 1)}
    for row in rows:
        day = dt.datetime.fromtimestamp(int(row[stamp]), dt.timezone.utc).day
        out[min((day - 1) // 7, TAXI_SPANS - 1) + 1].append(row)
    result = {}
    for span in spans or list(out):
        if span not in out:
            raise TfxdError(f"taxi has spans 1 to {TAXI_SPANS}, not {span}")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(out[span])
        result[span] = buffer.getvalue().encode("utf-8")
    return result


def write_example_data(name: str, pipelines_dir: Path, spans: list[int] | None = None) -> Path:
    """Copy the example's raw data into ``pipelines/<name>/data/``; returns the data folder.
    For taxi, ``spans`` chooses which ``span-N/`` folders to write (default: all)."""
    if name not in EXAMPLES:
        raise TfxdError(f"unknown example '{name}': choose one of {', '.join(sorted(EXAMPLES))}")
    folder = pipelines_dir / name / "data"
    for relative, data in example_files(name, spans).items():
        _write_if_changed(folder / relative, data)
    return folder


def example_files(name: str, spans: list[int] | None = None) -> dict[str, bytes]:
    """The example's data files by relative path (taxi: ``span-N/data.csv``)."""
    if name == "taxi":
        return {f"span-{span}/data.csv": data for span, data in taxi_spans(spans).items()}
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
    from tfxd.components.s3_example_gen import filesystem

    written = []
    for relative, data in example_files(name, spans).items():
        uri = f"{prefix.rstrip('/')}/{relative}"
        bucket, key = filesystem.split(uri)
        try:
            filesystem.client().put_object(Bucket=bucket, Key=key, Body=data)
        except Exception as err:
            raise filesystem.explain(err, uri) from err
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
