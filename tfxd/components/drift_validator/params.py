"""DriftValidator's ``with:`` block, the config its executor reads, where it keeps its history."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tfxd.components.registry import Checks, ComponentType, Models, Params, Spans, path_field
from tfxd.components.settings import Settings

NEW_VALUES = 0.01  # the default share of a span that may be values no accepted domain holds
SHIFT = 1.0  # the default normalized Wasserstein threshold (docs/drift.md: what it means)


class LastSpans(Params):
    last_spans: int = Field(
        ge=1, description="Compare with the mean score over the N newest spans."
    )


class PinnedSpan(Params):
    span: int = Field(ge=0, description="Always compare with this accepted span.")


class DriftThreshold(Params):
    l_infinity: float | None = Field(None, gt=0, description="Categorical: L-infinity distance.")
    jensen_shannon: float | None = Field(None, gt=0, description="Numeric: Jensen-Shannon.")
    wasserstein: float | None = Field(
        None, gt=0, description="Numeric: normalized Wasserstein distance (how far values moved)."
    )


class DriftDefaults(Params):
    categorical: float = Field(0.1, gt=0, description="Default L-infinity threshold.")
    numeric: float = Field(0.1, gt=0, description="Default Jensen-Shannon threshold.")
    shift: float = Field(
        SHIFT,
        gt=0,
        description="Default normalized Wasserstein threshold: 1 = values moved on average as "
        "far as they typically lie from the baseline's median.",
    )


class EvolvePolicy(Params):
    """What in the accepted schema may change by itself, recorded as a new schema version; a
    fact that is curated (an imported schema, or accepted by a person) never does."""

    types: bool = Field(
        True,
        description="A column that held no values when its type was inferred (a guess) takes "
        "the type its first values show. A column that had values never changes type by itself.",
    )
    domains: bool = Field(
        True,
        description="New values of an inferred categorical domain join it (e.g. new taxi "
        "companies); a new value that takes a large share still shows as drift (L-infinity). "
        "false: more than new_values of a span outside the domain is a break.",
    )
    optional: bool = Field(
        True,
        description="An inferred required column (a value in every row of the span it was "
        "inferred from) that has gaps becomes optional.",
    )


class DriftValidatorParams(Params):
    baseline: Literal["previous_span", "serving"] | LastSpans | PinnedSpan = Field(
        "previous_span",
        description="previous_span (newest accepted span before this one), serving (the span "
        "the newest pushed model was trained on; local and Airflow), {last_spans: N} or "
        "{span: N} (pinned).",
    )
    default: DriftDefaults = Field(default_factory=DriftDefaults)
    features: dict[str, DriftThreshold] = Field(
        default_factory=dict, description="Per-feature thresholds over the defaults."
    )
    skip: list[str] = Field(
        default_factory=list, description="Features not scored (e.g. timestamps, ids)."
    )
    on_drift: Literal["fail", "warn"] = Field(
        "fail",
        description="fail: the run ends failed and nothing downstream runs; warn: recorded, "
        "the run goes on.",
    )
    new_values: float = Field(
        NEW_VALUES,
        ge=0,
        lt=1,
        description="Share of a span's values in a categorical column that may be values the "
        "accepted (inferred) schema's domain has not seen, e.g. new taxi companies; more is a "
        "schema break. An imported schema's domains stay exact.",
    )
    evolve: EvolvePolicy = Field(
        default_factory=EvolvePolicy,
        description="Schema changes that evolve the accepted schema by themselves instead of "
        "stopping the span; a type change of a column that had values, a missing or new column, "
        "and anything against a curated fact always stop it.",
    )
    split: str = Field("train", description="Which split's statistics are compared.")
    history: str | None = Field(
        None,
        description="Folder of accepted spans' statistics (default <pipeline root>/drift/<node>).",
        json_schema_extra=path_field("dir-create"),
    )


class DriftSettings(Settings):
    """What the executor reads back (the ``config`` exec property, JSON)."""

    baseline: Literal["previous_span", "serving", "last_spans"] | int  # int: a pinned span
    last_spans: int = 1
    on_drift: Literal["fail", "warn"]
    categorical: float
    numeric: float
    shift: float = SHIFT
    features: dict[str, dict[str, float]]
    skip: list[str]
    new_values: float = NEW_VALUES
    evolve: dict[str, bool] = Field(default_factory=lambda: EvolvePolicy().model_dump())
    pipeline: str = ""
    metadata: dict[str, Any] | None = None  # ML Metadata by reference, for baseline: serving
    schema_source: Literal["imported"] | None = None
    schema_file: str | None = None


def drift_settings(p: DriftValidatorParams, pipeline: str) -> DriftSettings:
    baseline: Any = p.baseline
    mode: Any = "previous_span" if baseline != "serving" else "serving"
    last = 1
    if isinstance(baseline, LastSpans):
        mode, last = "last_spans", baseline.last_spans
    elif isinstance(baseline, PinnedSpan):
        mode = baseline.span
    return DriftSettings(
        baseline=mode,
        last_spans=last,
        on_drift=p.on_drift,
        categorical=p.default.categorical,
        numeric=p.default.numeric,
        shift=p.default.shift,
        features={k: v.model_dump(exclude_none=True) for k, v in sorted(p.features.items())},
        skip=sorted(p.skip),
        new_values=p.new_values,
        evolve=p.evolve.model_dump(),
        pipeline=pipeline,
    )


def drift_history(node: str, p: DriftValidatorParams, root: str, resolve: Any) -> str:
    """Where the gate keeps accepted spans' statistics and the accepted schema."""
    return resolve(p.history) if p.history else f"{root}/drift/{node}"


def drift_columns(p: DriftValidatorParams) -> list[tuple[tuple[Any, ...], bool, str]]:
    """The columns its thresholds (keys of ``features``) and ``skip`` list name."""
    named: list[tuple[tuple[Any, ...], bool, str]] = [
        (("features", f), True, f) for f in p.features
    ]
    return named + [(("skip", i), False, f) for i, f in enumerate(p.skip)]


TYPE = ComponentType(
    "DriftValidator",
    DriftValidatorParams,
    "tfxd.components.drift_validator.component:DriftValidator",
    "tfxd.components.drift_validator.build:build",
    "span vs the accepted schema and earlier spans → fails the run on a break or drift",
    consumes={
        "examples": "Examples",
        "statistics": "ExampleStatistics",
        "schema": "Schema",
        "serving_statistics": "ExampleStatistics?",
    },
    produces={"report": "system.Markdown"},
    spans=Spans(gates=True),
    models=Models(schema_history=drift_history),
    checks=Checks(column_refs=drift_columns),
)
