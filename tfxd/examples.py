"""Write the data of the example pipelines from the packages that ship it (nothing is committed)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

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
    if name == "taxi":
        for span, data in taxi_spans(spans).items():
            _write_if_changed(folder / f"span-{span}" / "data.csv", data)
        return folder
    if name == "penguin":
        try:
            source = resources.files("palmerpenguins") / "data" / "penguins.csv"
        except ModuleNotFoundError as err:
            raise MissingDependencyError("palmerpenguins", "the penguin example") from err
        with resources.as_file(source) as path:
            _write_if_changed(folder / "penguins.csv", path.read_bytes())
    return folder
