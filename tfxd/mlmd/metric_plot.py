"""`tfxd runs PIPELINE --metric NAME --png FILE | --html FILE`: one metric over runs (x: run time
or span), pushed versions and rollbacks marked."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from dataclasses import dataclass
from typing import Any

from tfxd.errors import MetadataError
from tfxd.mlmd.views import Run


@dataclass
class Point:
    run_id: str
    at: dt.datetime
    span: int | None
    value: float
    pushed: str


@dataclass
class Rollback:
    at: dt.datetime
    from_version: str
    to_version: str


def points(runs: list[Run], spans: dict[str, int | None], metric: str) -> list[Point]:
    """The runs that have ``metric``, oldest first."""
    found = [
        Point(r.run_id, r.started, spans.get(r.run_id), r.metrics[metric], r.pushed)
        for r in runs
        if metric in r.metrics
    ]
    if not found:
        known = sorted({m for r in runs for m in r.metrics})
        raise MetadataError(
            f"no run has metric {metric!r}"
            + (f": metrics recorded: {', '.join(known)}" if known else ": no run recorded metrics")
        )
    return sorted(found, key=lambda p: p.at)


def rollbacks(store: Any, pipeline: str) -> list[Rollback]:
    """The rollbacks ``tfxd rollback`` recorded for the pipeline."""
    from tfxd.mlmd.models import ROLLBACK_TYPE

    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        return []
    out = []
    for e in store.get_executions_by_context(context.id):
        if e.type != ROLLBACK_TYPE:
            continue
        props = e.custom_properties
        at = dt.datetime.fromisoformat(props["at"].string_value).astimezone().replace(tzinfo=None)
        out.append(
            Rollback(at, props["from_version"].string_value, props["to_version"].string_value)
        )
    return out


def plot_png(
    found: list[Point], back: list[Rollback], pipeline: str, metric: str, by_span: bool
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=100)
    xs: list[Any] = [p.span if by_span else p.at for p in found]
    axes.plot(xs, [p.value for p in found], marker="o", label=metric)
    pushed = [(x, p) for x, p in zip(xs, found, strict=True) if p.pushed]
    if pushed:
        axes.scatter(
            [x for x, _ in pushed],
            [p.value for _, p in pushed],
            marker="*",
            s=160,
            color="green",
            zorder=3,
            label="pushed",
        )
        for x, p in pushed:
            axes.annotate(
                p.pushed,
                (x, p.value),
                textcoords="offset points",
                xytext=(4, 6),
                fontsize="x-small",
            )
    if not by_span:
        for i, r in enumerate(back):
            axes.axvline(r.at, color="red", linestyle="--", label="rollback" if i == 0 else None)
            axes.annotate(
                f"→ {r.to_version}",
                (r.at, axes.get_ylim()[1]),
                fontsize="x-small",
                color="red",
                rotation=90,
                va="top",
            )
    axes.set_xlabel("span" if by_span else "run started")
    axes.set_ylabel(metric)
    axes.set_title(f"{pipeline}: {metric} over runs")
    axes.legend(fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def html_page(
    found: list[Point], back: list[Rollback], pipeline: str, metric: str, png: bytes
) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(p.run_id)}</td><td>{p.span if p.span is not None else '-'}</td>"
        f"<td>{p.value:.6g}</td><td>{html.escape(p.pushed or '-')}</td></tr>"
        for p in found
    )
    undone = "".join(
        f"<li>{r.at:%Y-%m-%d %H:%M:%S}: {html.escape(r.from_version or '-')} → "
        f"{html.escape(r.to_version)}</li>"
        for r in back
    )
    image = base64.b64encode(png).decode()
    title = html.escape(f"{pipeline}: {metric} over runs")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<h1>{title}</h1><img alt='{html.escape(metric)}' src='data:image/png;base64,{image}'>"
        f"<table border='1' cellpadding='4'><tr><th>run</th><th>span</th>"
        f"<th>{html.escape(metric)}</th><th>pushed</th></tr>{rows}</table>"
        f"<h2>rollbacks</h2><ul>{undone or '<li>none</li>'}</ul></body></html>"
    )
