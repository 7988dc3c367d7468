"""Drift history from ML Metadata: every DriftValidator verdict per span, passed or failed.

A passed execution carries the verdict in its ``tfxd_drift`` property; a failed one (the gate
closed) in its ``__execution_result__`` (TFX keeps only the result of a failed execution).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tfxd.errors import MetadataError
from tfxd.infra.drift import Verdict, worst
from tfxd.mlmd.views import node_of_executions

EXECUTION_TYPE = "tfxd.components.drift_validator.component.DriftValidator"


@dataclass
class SpanRecord:
    span: int
    node: str
    verdict: Verdict
    gate: str  # passed | failed
    execution_id: int
    kind: str = "data"  # data: a span the gate judged; serving: a serving-log span (skew)

    @property
    def label(self) -> str:
        return f"span {self.span}" if self.kind == "data" else f"served {self.span}"


def _verdict(execution: Any) -> Verdict | None:
    if "tfxd_drift" in execution.custom_properties:
        return Verdict.from_json(execution.custom_properties["tfxd_drift"].string_value)
    result = execution.custom_properties.get("__execution_result__")
    if result is None:
        return None
    for detail in json.loads(result.string_value).get("metadataDetails", []):
        if detail.get("@type", "").endswith("google.protobuf.StringValue"):
            return Verdict.from_json(detail["value"])
    return None


def drift_history(store: Any, pipeline: str) -> list[SpanRecord]:
    """The newest verdict per (node, span), oldest span first."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        raise MetadataError(f"no runs of pipeline '{pipeline}' in ML Metadata")
    node_of = node_of_executions(store, pipeline)
    latest: dict[tuple[str, int], SpanRecord] = {}
    executions = [
        e for e in store.get_executions_by_context(context.id) if e.type == EXECUTION_TYPE
    ]
    for execution in sorted(executions, key=lambda e: e.id):
        if execution.last_known_state not in (mlmd.Execution.COMPLETE, mlmd.Execution.FAILED):
            continue
        verdict = _verdict(execution)
        if verdict is None:
            continue
        gate = "failed" if execution.last_known_state == mlmd.Execution.FAILED else "passed"
        node = node_of.get(execution.id, "drift")
        latest[(node, verdict.span)] = SpanRecord(verdict.span, node, verdict, gate, execution.id)
    return sorted(latest.values(), key=lambda r: (r.node, r.span)) + serving_records(
        store, pipeline
    )


def serving_records(store: Any, pipeline: str) -> list[SpanRecord]:
    """Serving-log spans judged for skew (``tfxd drift --serving``, ``tfxd watch``), after the
    data spans: baseline = the span the answering version was trained on."""
    from tfxd.mlmd.serving_skew import judged_spans

    return [
        SpanRecord(j.log_span, "serving", j.verdict, "passed", 0, kind="serving")
        for _, j in sorted(judged_spans(store, pipeline).items())
    ]


def feature_order(records: list[SpanRecord]) -> list[str]:
    """Features, worst first (highest score relative to its threshold in any span)."""
    ratio: dict[str, float] = {}
    for record in records:
        for s in record.verdict.scores:
            ratio[s.feature] = max(ratio.get(s.feature, 0.0), s.score / s.threshold)
        for name in record.verdict.moving:
            ratio.setdefault(name, 0.0)
    return sorted(ratio, key=lambda f: (-ratio[f], f))


SPAN_COLUMN = 9  # characters a span's column takes, borders included


def table(records: list[SpanRecord], pipeline: str, width: int = 80) -> Table:
    """Features as rows (worst first), the newest spans that fit in ``width`` as columns; a
    breach is marked ``!``; a numeric feature shows its worse score (Jensen-Shannon or
    Wasserstein, relative to its threshold). Older spans: ``--html`` / ``--png``."""
    features = feature_order(records)
    name_width = min(max([len(f) for f in features] + [8]), 28)
    fits = max(1, (width - name_width - 4) // SPAN_COLUMN)
    shown = records[-fits:]
    title = f"drift of {pipeline}, ! = breach"
    if len(shown) < len(records):
        title += f" (newest {len(shown)} of {len(records)} spans; all: --html)"
    out = Table(title=title, title_justify="left", pad_edge=False, collapse_padding=True)
    out.add_column("feature", no_wrap=True, max_width=name_width, overflow="fold")
    for record in shown:
        out.add_column(record.label, justify="right", overflow="fold")

    def status(r: SpanRecord) -> str:
        v = r.verdict
        text = {
            "drift": "[red]DRIFT[/]",
            "pass": "[green]pass[/]",
            "schema": "[red]SCHEMA[/]" + ("[red]+DRIFT[/]" if v.breaches else ""),
        }.get(v.status, v.status)
        warned = v.status == "drift" and r.gate == "passed" and r.kind == "data"
        return text + (" (warned)" if warned else "")

    out.add_row("[bold]verdict[/]", *(status(r) for r in shown))
    out.add_row("baseline", *(",".join(map(str, r.verdict.baseline)) or "-" for r in shown))
    for feature in features:
        cells = []
        for record in shown:
            score = worst(record.verdict.scores).get(feature)
            if score is None:
                v = record.verdict
                cells.append(
                    "missing" if feature in v.missing else "moves" if feature in v.moving else ""
                )
            elif score.drifted:
                cells.append(f"[red]{score.score:.3f}![/]")
            else:
                cells.append(f"{score.score:.3f}")
        out.add_row(feature, *cells)
    return out


def plot_png(records: list[SpanRecord], pipeline: str, limit: int = 8) -> bytes:
    """Scores over spans, a line per feature (the worst ``limit``), thresholds dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = feature_order(records)[:limit]
    panels = [
        (kind, [r for r in records if r.kind == kind])
        for kind in ("data", "serving")
        if any(r.kind == kind for r in records)
    ] or [("data", [])]
    figure, axes_list = plt.subplots(
        1, len(panels), figsize=(9 + 4 * (len(panels) - 1), 4.5), dpi=100, squeeze=False
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axes, (kind, shown) in zip(axes_list[0], panels, strict=True):
        _draw(axes, shown, features, colors)
        what = "drift per span" if kind == "data" else "serving skew per serving-log span"
        axes.set_xlabel("span" if kind == "data" else "serving-log span")
        axes.set_title(f"{pipeline}: {what} (x: breach)")
    if features:
        axes_list[0][-1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _draw(axes: Any, records: list[SpanRecord], features: list[str], colors: list[str]) -> None:
    for i, feature in enumerate(features):
        points = [
            (r.span, s) for r in records for f, s in worst(r.verdict.scores).items() if f == feature
        ]
        if not points:
            continue
        color = colors[i % len(colors)]
        spans = [p for p, _ in points]
        axes.plot(spans, [s.score for _, s in points], marker="o", color=color, label=feature)
        axes.hlines(points[-1][1].threshold, min(spans), max(spans), colors=color, linestyles="--")
        breaches = [(p, s.score) for p, s in points if s.drifted]
        if breaches:
            axes.scatter(*zip(*breaches, strict=True), marker="x", s=90, color="red", zorder=3)
    axes.set_ylabel("score (dashed: threshold)")
    axes.xaxis.get_major_locator().set_params(integer=True)


def html_page(records: list[SpanRecord], pipeline: str, png: bytes) -> str:
    import html

    features = feature_order(records)
    head = "".join(f"<th>{html.escape(f)}</th>" for f in features)
    rows = []
    for r in records:
        by_feature = worst(r.verdict.scores)
        cells = []
        for f in features:
            s = by_feature.get(f)
            if s is None:
                cells.append("<td></td>")
            else:
                style = " style='color:#b00;font-weight:bold'" if s.drifted else ""
                cells.append(f"<td{style} title='threshold {s.threshold:g}'>{s.score:.3f}</td>")
        rows.append(
            f"<tr><td>{r.label}</td><td>{html.escape(r.verdict.status)}</td>"
            f"<td>{html.escape(','.join(map(str, r.verdict.baseline)) or '-')}</td>"
            + "".join(cells)
            + "</tr>"
        )
    image = base64.b64encode(png).decode()
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Drift of {html.escape(pipeline)}</title><style>"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
        "</style></head><body>"
        f"<h1>Drift of {html.escape(pipeline)}</h1><img src='data:image/png;base64,{image}'>"
        f"<table><tr><th>span</th><th>status</th><th>baseline</th>{head}</tr>"
        + "".join(rows)
        + "</table></body></html>\n"
    )


def schema_lines(records: list[SpanRecord], store: Any, pipeline: str) -> list[str]:
    """The schema breaks of each span and every ``tfxd schema accept``, in time order."""
    from tfxd.mlmd.accepted_schema import acceptances

    lines = [
        f"span {r.span}: {text}"
        for r in records
        for _, text in sorted(r.verdict.schema_breaks.items())
    ]
    lines += [
        f"span {r.span}: schema evolved: {text}"
        for r in records
        for _, text in sorted(r.verdict.schema_evolved.items())
    ]
    for a in acceptances(store, pipeline):
        why = f": {a.reason}" if a.reason else ""
        lines.append(f"{a.at} {a.by} accepted span {a.span}'s schema for {a.node}{why}")
    return lines


def print_drift(
    pipeline: str,
    *,
    pipeline_file: str | None,
    png: str | None,
    html_file: str | None,
    console: Console,
) -> list[SpanRecord]:
    from tfxd.mlmd.store import open_store
    from tfxd.mlmd.views import find_pipeline_file

    loaded = find_pipeline_file(pipeline, pipeline_file)
    store = open_store(loaded)
    records = drift_history(store, pipeline) + serving_records(store, pipeline)
    if not records:
        raise MetadataError(f"pipeline '{pipeline}' has no DriftValidator results in ML Metadata")
    console.print(table(records, pipeline, width=console.width))
    for line in schema_lines(records, store, pipeline):
        console.print(line, markup=False, soft_wrap=False)
    if png or html_file:
        image = plot_png(records, pipeline)
        if png:
            Path(png).write_bytes(image)
            console.print(f"wrote {png}")
        if html_file:
            Path(html_file).write_text(html_page(records, pipeline, image), encoding="utf-8")
            console.print(f"wrote {html_file}")
    return records
