"""Drift scores with TFDV, and the store of accepted spans' statistics. No TFX here."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from tfxd.errors import TfxdError
from tfxd.infra.drift_scores import disjoint, quantile_js, quantile_shift

_SPAN_FILE = re.compile(r"^span-(\d+)\.pb$")


class DriftError(TfxdError):
    """Statistics cannot be compared (empty span, unreadable file, unknown baseline span)."""


@dataclass
class Score:
    feature: str
    metric: str  # l_infinity | jensen_shannon | wasserstein
    score: float
    threshold: float

    @property
    def drifted(self) -> bool:
        return self.score > self.threshold


@dataclass
class Verdict:
    """What one validation found; stored as JSON in MLMD and shown by ``tfxd drift``."""

    span: int
    baseline: list[int]  # spans compared with; [] = no baseline (cold start)
    policy: str
    scores: list[Score] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the baseline, not in this span
    added: list[str] = field(default_factory=list)  # in this span, not in the baseline
    anomalies: dict[str, str] = field(default_factory=dict)  # schema anomalies (non-drift)
    skew: list[Score] = field(default_factory=list)  # serving data vs this span's training data
    # Numeric columns not scored because they move with the spans (a timestamp, a month): their
    # range is disjoint from the baseline's, as the baseline's was from the span before it.
    moving: list[str] = field(default_factory=list)
    # Breaks of the accepted schema (column → message), what it was, and what to do about them.
    schema_breaks: dict[str, str] = field(default_factory=dict)
    schema_from: str = ""
    schema_fix: str = ""
    # What evolved in the accepted schema by policy (column → what changed): not a break.
    schema_evolved: dict[str, str] = field(default_factory=dict)

    @property
    def breaches(self) -> list[Score]:
        return sorted((s for s in self.scores if s.drifted), key=lambda s: -s.score)

    @property
    def skew_breaches(self) -> list[Score]:
        return sorted((s for s in self.skew if s.drifted), key=lambda s: -s.score)

    @property
    def status(self) -> str:
        if self.schema_breaks:
            return "schema"
        if self.skew_breaches:
            return "drift"
        if not self.baseline:
            return "no baseline"
        return "drift" if self.breaches or self.missing or self.anomalies else "pass"

    def message(self) -> str:
        """The schema breaks (with their fix), then the drift, each where there is any."""
        out = []
        if self.schema_breaks:
            text = "; ".join(self.schema_breaks[k] for k in sorted(self.schema_breaks))
            out.append(
                f"span {self.span} breaks the accepted schema: {text}. Fix: {self.schema_fix}"
            )
        drift = self._drift_message()
        if drift or not out:
            out.append(drift)
        return " ".join(out)

    def _drift_message(self) -> str:
        if not (self.breaches or self.missing or self.anomalies or self.skew_breaches):
            return ""
        parts = [f"{s.feature} {s.metric} {s.score:.3f} > {s.threshold:g}" for s in self.breaches]
        parts += [f"{f} missing (in baseline span {self.baseline[-1]})" for f in self.missing]
        parts += [f"{f}: {text}" for f, text in sorted(self.anomalies.items())]
        parts += [
            f"serving skew {s.feature} {s.metric} {s.score:.3f} > {s.threshold:g}"
            for s in self.skew_breaches
        ]
        spans = ", ".join(map(str, self.baseline)) or "none"
        return f"span {self.span} drifted from span(s) {spans}: " + "; ".join(parts)

    def to_json(self) -> str:
        data = asdict(self)
        data["status"] = self.status
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Verdict:
        data = json.loads(text)
        data.pop("status", None)
        data["scores"] = [Score(**s) for s in data["scores"]]
        data["skew"] = [Score(**s) for s in data.get("skew", [])]
        return cls(**data)


class History:
    """Statistics of accepted spans under one folder (local path or a TFX filesystem URI), so
    every target finds its baseline without MLMD: ``span-<N>.pb`` (DatasetFeatureStatisticsList)."""

    def __init__(self, folder: str):
        self.folder = folder

    def spans(self) -> list[int]:
        from tfx.dsl.io import fileio

        if not fileio.exists(self.folder):
            return []
        found = (_SPAN_FILE.match(n.rstrip("/")) for n in fileio.listdir(self.folder))
        return sorted(int(m.group(1)) for m in found if m)

    def load(self, span: int) -> Any:
        return load_statistics(os.path.join(self.folder, f"span-{span}.pb"))

    def add(self, span: int, stats_list: Any) -> None:
        write_atomically(
            os.path.join(self.folder, f"span-{span}.pb"), stats_list.SerializeToString()
        )


def write_atomically(path: str, data: bytes) -> None:
    """A reader (local path or a TFX filesystem URI) never sees half a file."""
    from tfx.dsl.io import fileio

    fileio.makedirs(os.path.dirname(path))
    with fileio.open(path + ".tmp", "wb") as handle:
        handle.write(data)
    fileio.rename(path + ".tmp", path, overwrite=True)


def load_statistics(path: str) -> Any:
    from google.protobuf.message import DecodeError
    from tensorflow_metadata.proto.v0 import statistics_pb2
    from tfx.dsl.io import fileio

    try:
        with fileio.open(path, "rb") as handle:
            data = handle.read()
        stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(data)
    except (OSError, DecodeError) as err:
        raise DriftError(f"cannot read statistics {path}: {err}") from err
    except Exception as err:  # tf.errors.NotFoundError and kin
        raise DriftError(f"cannot read statistics {path}: {err}") from err
    if len(stats.datasets) != 1:
        raise DriftError(f"statistics {path}: expected one dataset, found {len(stats.datasets)}")
    return stats


def pick_baseline(mode: str | int, current: int, accepted: list[int], last: int = 1) -> list[int]:
    """Spans to compare ``current`` with: ``previous_span`` (the newest accepted one before it),
    ``last_spans`` (the ``last`` newest before it), or a pinned span number."""
    before = [s for s in accepted if s < current] or [s for s in accepted if s != current]
    if isinstance(mode, int):
        if mode not in accepted:
            raise DriftError(
                f"baseline span {mode} is not in the drift history (accepted spans: "
                f"{', '.join(map(str, accepted)) or 'none'}): run the pipeline on that span first"
            )
        return [mode]
    if mode == "previous_span":
        return before[-1:]
    return before[-last:]


def serving_span(store: Any, pipeline: str) -> int | None:
    """The span the serving model was trained on: the newest pushed model of ``pipeline`` in
    MLMD, traced Pusher ← Model ← Trainer ← Examples. None when nothing was pushed yet."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        return None
    pushed = [
        a
        for a in store.get_artifacts_by_context(context.id)
        if a.type == "PushedModel"
        and a.custom_properties.get("pushed", mlmd.Value(int_value=0)).int_value == 1
    ]
    if not pushed:
        return None
    newest = max(pushed, key=lambda a: a.id)

    def producer(artifact_id: int) -> int | None:
        for event in store.get_events_by_artifact_ids([artifact_id]):
            if event.type == mlmd.Event.OUTPUT:
                return event.execution_id
        return None

    def inputs(execution_id: int, type_name: str) -> list[Any]:
        ids = [
            e.artifact_id
            for e in store.get_events_by_execution_ids([execution_id])
            if e.type == mlmd.Event.INPUT
        ]
        return [a for a in store.get_artifacts_by_id(ids) if a.type == type_name]

    pusher = producer(newest.id)
    models = inputs(pusher, "Model") if pusher is not None else []
    trainer = producer(models[0].id) if models else None
    examples = inputs(trainer, "Examples") if trainer is not None else []
    for artifact in examples:
        if "span" in artifact.custom_properties:
            return int(artifact.custom_properties["span"].int_value)
        if "span" in artifact.properties:
            return int(artifact.properties["span"].int_value)
    return None


def feature_name(feature: Any) -> str:
    return ".".join(feature.path.step) or feature.name


def compare(
    current: Any,
    baselines: list[tuple[int, Any]],
    schema: Any,
    *,
    span: int,
    policy: str,
    categorical: float,
    numeric: float,
    shift: float,
    overrides: dict[str, dict[str, float]],
    skip: list[str],
    earlier: dict[int, list[Any]] | None = None,
) -> Verdict:
    """Scores of every feature of ``current`` against each baseline (mean over baselines):
    L-infinity for categorical features (TFDV's drift comparator); for numeric ones
    Jensen-Shannon on the baseline's decile bins (``quantile_js``: the shape) and the normalized
    Wasserstein distance (``quantile_shift``: how far values moved). ``earlier``: baseline span
    → the statistics of the accepted spans before it (newest first), to tell columns that move
    with the spans (``Verdict.moving``: out of the baseline's range now, and out of the range
    before at some accepted step, or with no step to tell) from a shift."""
    import tensorflow_data_validation as tfdv
    from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

    dataset = current.datasets[0]
    if dataset.num_examples == 0:
        raise DriftError(f"span {span} has no examples: nothing to validate")
    verdict = Verdict(span=span, baseline=[s for s, _ in baselines], policy=policy)
    if not baselines:
        return verdict
    schema = schema_pb2.Schema.FromString(schema.SerializeToString())
    numeric_types = {
        statistics_pb2.FeatureNameStatistics.INT,
        statistics_pb2.FeatureNameStatistics.FLOAT,
    }
    features = {feature_name(f): f for f in dataset.features}
    kinds = {
        name: "numeric" if f.type in numeric_types else "categorical"
        for name, f in features.items()
    }
    for feature in schema.feature:
        name = feature.name
        if name in skip or kinds.get(name) != "categorical":
            continue
        threshold = overrides.get(name, {}).get("l_infinity", categorical)
        feature.drift_comparator.infinity_norm.threshold = threshold
    totals: dict[str, list[float]] = {}
    thresholds: dict[str, tuple[str, float]] = {}
    for base_span, base in baselines:
        base_set = base.datasets[0]
        if base_set.num_examples == 0:
            raise DriftError(f"baseline span {base_span} has no examples")
        base_features = {feature_name(f): f for f in base_set.features}
        verdict.missing = sorted(
            set(verdict.missing) | (set(base_features) - set(features) - set(skip))
        )
        verdict.added = sorted(
            set(verdict.added) | (set(features) - set(base_features) - set(skip))
        )
        anomalies = tfdv.validate_statistics(current, schema, previous_statistics=base)
        for info in anomalies.drift_skew_info:
            name = ".".join(info.path.step)
            for m in info.drift_measurements:
                totals.setdefault(name, []).append(m.value)
                thresholds[name] = ("l_infinity", m.threshold)
        for name, info in anomalies.anomaly_info.items():
            if "between current and previous" not in info.short_description and name not in skip:
                verdict.anomalies[name] = info.short_description
        chain = [
            {feature_name(f): f for f in older.datasets[0].features}
            for older in (earlier or {}).get(base_span, [])
        ]
        for name, feature in sorted(features.items()):
            if name in skip or kinds[name] != "numeric" or name not in base_features:
                continue
            was = base_features[name].num_stats
            if name not in overrides and disjoint(feature.num_stats, was):
                steps = [was] + [f[name].num_stats for f in chain if name in f]
                if len(steps) == 1 or any(map(disjoint, steps[1:], steps[:-1])):
                    verdict.moving = sorted(set(verdict.moving) | {name})
                    continue
            for metric, score, default in (
                ("jensen_shannon", quantile_js(feature.num_stats, was), numeric),
                ("wasserstein", quantile_shift(feature.num_stats, was), shift),
            ):
                if score is None:
                    continue
                key = f"{name}\0{metric}"
                totals.setdefault(key, []).append(score)
                thresholds[key] = (metric, overrides.get(name, {}).get(metric, default))
    for key, values in sorted(totals.items()):
        metric, threshold = thresholds[key]
        name = key.split("\0", 1)[0]
        verdict.scores.append(Score(name, metric, sum(values) / len(values), threshold))
    verdict.scores = [s for s in verdict.scores if s.feature not in verdict.moving]
    return verdict


def worst(scores: list[Score]) -> dict[str, Score]:
    """Each feature's score nearest to (or furthest over) its threshold."""
    out: dict[str, Score] = {}
    for s in scores:
        if (
            s.feature not in out
            or s.score / s.threshold > out[s.feature].score / out[s.feature].threshold
        ):
            out[s.feature] = s
    return out
