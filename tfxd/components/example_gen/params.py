"""The ``with:`` models the file- and query-based ExampleGens share, and their span rules."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, model_validator

from tfxd.components.registry import RUNTIME, Params, Resolver, path_field
from tfxd.infra.fingerprints import content_hashes

PARAM_REF_TEXT = "${{"  # a runtime parameter: checked when it has a value
DAY_PLACEHOLDERS = ("@span_begin_timestamp", "@span_end_timestamp", "@span_yyyymmdd_utc")


class FileExampleGenParams(Params):
    input_base: str = Field(
        description="Folder holding the input files (relative to the pipeline file).",
        json_schema_extra={**path_field("dir"), **RUNTIME},
    )
    input_splits: dict[str, str] = Field(
        default_factory=dict,
        description="Split name → file pattern under input_base (default: one split, '*').",
    )
    output_splits: dict[str, int] = Field(
        default_factory=lambda: {"train": 2, "eval": 1},
        description="Split name → hash buckets; ignored when input_splits is set.",
    )


class CsvExampleGenParams(FileExampleGenParams):
    max_bad_rows: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Share of a span's rows that may be set aside (unreadable, or against the "
        "accepted schema's types and shapes) into the Examples' BadRows/rows.csv; more fail the "
        "span naming the first rows.",
    )


def csv_columns(p: FileExampleGenParams, resolve: Resolver) -> list[str] | None:
    """The header of the newest CSV file under a local ``input_base`` (recursively); None when
    there is none or the base is remote or a runtime parameter."""
    base = p.input_base
    if not isinstance(base, str) or "://" in base or PARAM_REF_TEXT in base:
        return None
    folder = Path(resolve(base))
    files = (
        sorted(folder.rglob("*.csv"), key=lambda f: f.stat().st_mtime) if folder.is_dir() else []
    )
    if not files:
        return None
    with files[-1].open(newline="", encoding="utf-8", errors="replace") as handle:
        return next(csv.reader(handle), None)


def file_inputs(p: FileExampleGenParams, resolve: Resolver, span: int | None) -> Any:
    """What a file ExampleGen's result depends on besides its parameters, as its driver
    fingerprints it (``driver.ContentDriver``): the span, and per split the content hash of each
    file it reads (``infra.fingerprints``). None when only the run can tell (a remote base)."""
    base = p.input_base
    if "://" in base or PARAM_REF_TEXT in base:
        return None
    patterns = {
        name: pattern.replace("{SPAN}", str(span)) if span is not None else pattern
        for name, pattern in (p.input_splits or {"single_split": "*"}).items()
    }
    return {"span": span, "files": content_hashes(resolve(base), patterns)}


def day_inputs(p: QueryGenParams, resolve: Resolver, span: int | None) -> Any:
    """A query-based ExampleGen reads the same query again for the same day span: TFX caches on
    the query text (in its parameters) and the span."""
    if not query_has_spans(p.queries()):
        return {}
    return {"span": span if span is not None else complete_day()}


class QueryGenParams(Params):
    """What query-based ExampleGens share: one source (a query, a table, or a query per split),
    output splits, and day spans through TFX's placeholders."""

    query: str | None = Field(None, description="A query (one split, hash-split below).")
    table: str | None = Field(None, description="A table to read whole, instead of a query.")
    input_splits: dict[str, str] = Field(
        default_factory=dict, description="Split name → its own query (instead of query/table)."
    )
    output_splits: dict[str, int] = Field(
        default_factory=lambda: {"train": 2, "eval": 1},
        description="Split name → hash buckets; ignored when input_splits is set.",
    )
    first_day: dt.date | None = Field(
        None,
        description="With @span_begin_timestamp, @span_end_timestamp or @span_yyyymmdd_utc in a "
        "query, spans are days (days since 1970-01-01, TFX's numbering): the first day "
        "`tfxd watch` runs (default: yesterday, the newest complete day).",
    )

    TABLE_NAME: ClassVar[str] = r"[A-Za-z_][A-Za-z0-9_.]*"
    TABLE_HINT: ClassVar[str] = "a name like schema.table"

    @model_validator(mode="after")
    def _one_source(self) -> QueryGenParams:
        given = [n for n in ("query", "table", "input_splits") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("give exactly one of query, table and input_splits")
        for table in self.tables():
            if not re.fullmatch(self.TABLE_NAME, table):
                raise ValueError(f"table {table!r}: expected {self.TABLE_HINT}")
        return self

    def tables(self) -> list[str]:
        return [self.table] if self.table else []

    def table_query(self, table: str) -> str:
        return f"SELECT * FROM {table}"

    def queries(self) -> list[str]:
        """The split patterns: one per split, or the query or table."""
        return list(self.input_splits.values()) or [
            self.query or self.table_query(self.table or "")
        ]


def query_has_spans(queries: list[str]) -> bool:
    return any(ph in q for q in queries for ph in DAY_PLACEHOLDERS)


def complete_day() -> int:
    """The newest complete day (yesterday, UTC) as a span number."""
    today = dt.datetime.now(dt.timezone.utc).date()
    return (today - dt.date(1970, 1, 1)).days - 1


def day_number(day: dt.date | None) -> int | None:
    return (day - dt.date(1970, 1, 1)).days if day else None
