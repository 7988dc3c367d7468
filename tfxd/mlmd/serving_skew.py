"""Training-serving skew on what ``tfxd serve`` logged: each serving-log span's statistics against
the training statistics of the version that answered it, recorded in ML Metadata.

The training statistics are the gate's own (the DriftValidator keeps every accepted span's, and
each version's manifest names its span); the thresholds are the gate's; the features compared
are those the serving model parses (its signature says, so the label and the columns it never
reads are left out). Scores as the gate's: L-infinity for categorical features, Jensen-Shannon
and the normalized Wasserstein distance for numeric ones; schema anomalies (a wrong type, a
feature gone missing) and features the model does not read are reported beside them.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfxd.components.drift_validator.params import drift_settings
from tfxd.errors import MetadataError, TfxdError
from tfxd.infra.drift import History, Verdict, compare
from tfxd.infra.schema_store import SchemaStore
from tfxd.infra.versions import manifest
from tfxd.mlmd.models import destinations
from tfxd.serving.log_store import LogStore, open_log
from tfxd.serving.request_log import PREFIX

SKEW_TYPE = "tfxd.ServingSkew"


@dataclass
class Judged:
    log_span: int
    version: int
    train_span: int
    verdict: Verdict


def log_location(pipe: Any) -> str:
    """The serving log's folder (resolved against the pipeline file) or its ``s3://`` prefix."""
    settings = pipe.file.body.serving.log
    if settings is None:
        raise TfxdError(
            f"{pipe.loaded.path}: spec.serving.log is not set, so tfxd serve logs nothing: add "
            "serving: {log: {path: serving-log}} and serve again"
        )
    return pipe.loaded.location(settings.path)


def _gate(pipe: Any) -> tuple[str, Any]:
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        if node.type.models.schema_history is not None:
            return node_id, node
    raise TfxdError(
        f"{pipe.loaded.path}: no DriftValidator: serving skew is judged against the statistics "
        "it keeps of each accepted span"
    )


def judged_spans(store: Any, pipeline: str) -> dict[int, Judged]:
    """Every recorded judgement of a serving-log span (the newest per span)."""
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        return {}
    out = {}
    for execution in sorted(store.get_executions_by_context(context.id), key=lambda e: e.id):
        if execution.type != SKEW_TYPE:
            continue
        props = execution.custom_properties
        out[props["log_span"].int_value] = Judged(
            props["log_span"].int_value,
            props["version"].int_value,
            props["train_span"].int_value,
            Verdict.from_json(props["tfxd_drift"].string_value),
        )
    return out


def judge_span(pipe: Any, store: LogStore, log_span: int) -> Judged:
    """Score one serving-log span (nothing recorded)."""
    with tempfile.TemporaryDirectory(prefix="tfxd-serving-span-") as tmp:
        where = f"{store.location.rstrip('/')}/span-{log_span}"
        return _judge(pipe, store.fetch(log_span, Path(tmp)), log_span, where)


def _judge(pipe: Any, span_dir: Path, log_span: int, where: str) -> Judged:
    import tensorflow as tf
    import tensorflow_data_validation as tfdv

    from tfxd.serving.features import read_signature

    meta = json.loads((span_dir / "span.json").read_text(encoding="utf-8"))
    node_id, node = _gate(pipe)
    history_folder = node.type.models.schema_history(
        node_id, node.params, pipe.root, pipe.loaded.location
    )
    [dest] = destinations(pipe)[:1]
    version = _answered_by(span_dir, meta, where)
    train_span = manifest(dest.model_dir, version).get("span")
    if train_span is None:
        raise TfxdError(f"version {version}'s manifest names no span: its training is unknown")
    train = History(history_folder).load(int(train_span))
    accepted = SchemaStore(history_folder).accepted()
    if accepted is None:
        raise TfxdError(f"no accepted schema under {history_folder}: run the pipeline first")
    fn = tf.saved_model.load(str(dest.model_dir / str(version))).signatures["serving_default"]
    parsed = read_signature(fn).features
    served = tfdv.generate_statistics_from_tfrecord(str(span_dir / "data.tfrecord"))
    sent = {".".join(f.path.step) or f.name for f in served.datasets[0].features}
    trained = {".".join(f.path.step) or f.name for f in train.datasets[0].features}
    settings = drift_settings(node.params, pipe.name)
    skip = sorted({n for n in sent | trained if n.startswith(PREFIX) or n not in parsed})
    verdict = compare(
        served,
        [(int(train_span), train)],
        accepted[0],
        span=log_span,
        policy="warn",
        categorical=settings.categorical,
        numeric=settings.numeric,
        shift=settings.shift,
        overrides=settings.features,
        skip=sorted(set(skip) | set(settings.skip)),
    )
    for name in sorted(sent - set(parsed)):
        if not name.startswith(PREFIX):
            verdict.anomalies[name] = f"sent by clients; version {version} does not read it"
    return Judged(log_span, version, int(train_span), verdict)


def _answered_by(span_dir: Path, meta: dict[str, Any], where: str) -> int:
    """The version that answered most of a span's rows (a span may straddle a rollback)."""
    import tensorflow as tf

    counts: Counter[int] = Counter()
    for raw in tf.data.TFRecordDataset(str(span_dir / "data.tfrecord")).take(10_000):
        example = tf.train.Example.FromString(raw.numpy())
        counts.update(example.features.feature[PREFIX + "version"].int64_list.value)
    if not counts:
        versions = meta.get("versions") or []
        if not versions:
            raise TfxdError(f"{where}: no row names the version that answered")
        return int(versions[-1])
    return counts.most_common(1)[0][0]


def record(store: Any, pipeline: str, judged: Judged) -> None:
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    type_id = store.put_execution_type(mlmd.ExecutionType(name=SKEW_TYPE), can_add_fields=True)
    execution = mlmd.Execution(type_id=type_id, last_known_state=mlmd.Execution.COMPLETE)
    props = execution.custom_properties
    props["log_span"].int_value = judged.log_span
    props["version"].int_value = judged.version
    props["train_span"].int_value = judged.train_span
    props["tfxd_drift"].string_value = judged.verdict.to_json()
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        raise MetadataError(f"no runs of pipeline '{pipeline}' in ML Metadata")
    store.put_execution(execution, [], [context])


def judge_new(
    pipe: Any, store: Any, again: int | None = None, seen: tuple[Any, list[int]] | None = None
) -> list[Judged]:
    """Judge and record every closed serving-log span not judged yet (and ``again``, if given);
    ``seen``: the log and its spans where the caller listed them already."""
    if seen is None:
        log = open_log(log_location(pipe))
        seen = (log, log.spans())
    log, spans = seen
    done = judged_spans(store, pipe.name)
    out = []
    for log_span in spans:
        if log_span in done and log_span != again:
            continue
        judged = judge_span(pipe, log, log_span)
        record(store, pipe.name, judged)
        out.append(judged)
    return out


def summary(judged: Judged) -> str:
    """One line: which span, which version against which training span, what was found."""
    v = judged.verdict
    found = [f"{s.feature} {s.metric} {s.score:.3f} > {s.threshold:g}" for s in v.breaches]
    found += [f"{name}: {what}" for name, what in sorted(v.anomalies.items())]
    found += [f"{name}: sent in no row" for name in v.missing]
    return (
        f"served {judged.log_span} (version {judged.version}, trained on span "
        f"{judged.train_span}): {'skew' if v.breaches else 'no skew'}"
        + (": " + "; ".join(found) if found else "")
    )


def judge_and_say(
    pipe: Any, console: Any, seen: tuple[Any, list[int]] | None = None
) -> list[Judged]:
    """Judge new serving-log spans and print one line for each (``seen``: as ``judge_new``)."""
    from ml_metadata import metadata_store

    from tfxd.mlmd.store import connection_config

    store = metadata_store.MetadataStore(connection_config(pipe.loaded, readonly=False))
    judged = judge_new(pipe, store, seen=seen)
    if not judged:
        console.print(f"[dim]{pipe.name}: no new serving-log span[/]")
    for j in judged:
        console.print(summary(j), markup=False, soft_wrap=True)
    return judged
