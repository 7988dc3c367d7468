"""Reports as text: plain functions over TFDV/TFMA protos, testable without TFX runs."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

STYLE = (
    "body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.warn{color:#b00}"
)


def _num(value: float) -> str:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return f"{value:.4g}"


def statistics_html(splits: Mapping[str, Any]) -> str:
    """One table per split: a row per feature with its type, missing share and distribution.
    ``splits`` maps split name → ``DatasetFeatureStatistics``."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Statistics</title>",
        f"<style>{STYLE}</style></head><body><h1>Data statistics</h1>",
    ]
    for split, stats in sorted(splits.items()):
        parts.append(f"<h2>{html.escape(split)}: {stats.num_examples} examples</h2>")
        parts.append(
            "<table><tr><th>feature</th><th>type</th><th>missing</th><th>mean</th>"
            "<th>std</th><th>min</th><th>max</th><th>unique</th><th>top value</th></tr>"
        )
        for feature in stats.features:
            name = ".".join(feature.path.step) or feature.name
            kind = feature.WhichOneof("stats")
            row = {"mean": "", "std": "", "min": "", "max": "", "unique": "", "top": ""}
            if kind == "num_stats":
                s = feature.num_stats
                common = s.common_stats
                row.update(mean=_num(s.mean), std=_num(s.std_dev), min=_num(s.min), max=_num(s.max))
            elif kind == "string_stats":
                s = feature.string_stats
                common = s.common_stats
                row["unique"] = str(s.unique)
                if s.top_values:
                    row["top"] = html.escape(s.top_values[0].value)
            else:
                common = None
            total = (common.num_missing + common.num_non_missing) if common else 0
            missing = f"{100 * common.num_missing / total:.1f}%" if total else ""
            flag = " class='warn'" if common and common.num_missing else ""
            kind_name = _type_name(feature)
            parts.append(
                f"<tr><td>{html.escape(name)}</td><td>{kind_name}</td><td{flag}>{missing}</td>"
                f"<td>{row['mean']}</td><td>{row['std']}</td><td>{row['min']}</td>"
                f"<td>{row['max']}</td><td>{row['unique']}</td><td>{row['top']}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _type_name(feature: Any) -> str:
    descriptor = feature.DESCRIPTOR.fields_by_name["type"].enum_type
    return descriptor.values_by_number[feature.type].name


def anomalies_markdown(splits: Mapping[str, Any]) -> str:
    """``splits`` maps split name → TFDV ``Anomalies``."""
    total = sum(
        len(a.anomaly_info) + bool(a.dataset_anomaly_info.description) for a in splits.values()
    )
    counted = f"{total} anomal{'y' if total == 1 else 'ies'}" if total else "no anomalies"
    lines = [f"# Data validation: {counted}", ""]
    for split, anomalies in sorted(splits.items()):
        lines.append(f"## {split}")
        lines.append("")
        if not anomalies.anomaly_info and not anomalies.dataset_anomaly_info.description:
            lines += ["No anomalies.", ""]
            continue
        lines += ["| feature | severity | anomaly |", "|---|---|---|"]
        if anomalies.dataset_anomaly_info.description:
            info = anomalies.dataset_anomaly_info
            lines.append(f"| (dataset) | {_severity(info)} | {_cell(info.description)} |")
        for feature, info in sorted(anomalies.anomaly_info.items()):
            text = info.short_description
            if info.description and info.description != text:
                text = f"{text}: {info.description}"
            lines.append(f"| {_cell(feature)} | {_severity(info)} | {_cell(text)} |")
        lines.append("")
    return "\n".join(lines)


def _severity(info: Any) -> str:
    descriptor = info.DESCRIPTOR.fields_by_name["severity"].enum_type
    return descriptor.values_by_number[info.severity].name


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def slice_name(slice_key: Any) -> str:
    """'Overall' or 'island=Biscoe' (and 'a=x, b=y' for crossed slices)."""
    parts = []
    for key in slice_key.single_slice_keys:
        value = getattr(key, key.WhichOneof("kind")) if key.WhichOneof("kind") else ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        parts.append(f"{key.column}={value}")
    return ", ".join(parts) or "Overall"


def evaluation_markdown(
    metrics: Iterable[Any], validation: Any, *, blessed: bool, baseline: str
) -> str:
    """``metrics``: TFMA ``MetricsForSlice`` protos; ``validation``: TFMA ``ValidationResult``.
    One row per slice and metric; baseline and change columns when a baseline was evaluated."""
    table: dict[tuple[bool, str, str], dict[str, str]] = {}
    compared = False
    for per_slice in metrics:
        name = slice_name(per_slice.slice_key)
        for entry in per_slice.metric_keys_and_values:
            key, value = entry.key, entry.value
            if value.WhichOneof("type") != "double_value":
                continue
            row = table.setdefault((name != "Overall", name, key.name), {})
            column = (
                "change"
                if key.is_diff
                else ("baseline" if key.model_name == "baseline" else "value")
            )
            compared |= column != "value"
            row[column] = _num(value.double_value.value)
    lines = [
        f"# Model evaluation: {'BLESSED' if blessed else 'NOT BLESSED'}",
        "",
        f"Baseline: {baseline}",
        "",
    ]
    if compared:
        lines += ["| slice | metric | value | baseline | change |", "|---|---|---|---|---|"]
    else:
        lines += ["| slice | metric | value |", "|---|---|---|"]
    for (_, name, metric), row in sorted(table.items()):
        cells = [_cell(name), _cell(metric), row.get("value", "")]
        if compared:
            cells += [row.get("baseline", ""), row.get("change", "")]
        lines.append("| " + " | ".join(cells) + " |")
    failures = [
        (slice_name(v.slice_key), f)
        for v in getattr(validation, "metric_validations_per_slice", [])
        for f in v.failures
    ]
    if failures:
        lines += ["", "## Failed thresholds", "", "| slice | metric | value | why |"]
        lines.append("|---|---|---|---|")
        for name, f in failures:
            value = _num(f.metric_value.double_value.value)
            lines.append(
                f"| {_cell(name)} | {_cell(f.metric_key.name)} | {value} | {_cell(f.message)} |"
            )
    return "\n".join(lines) + "\n"
