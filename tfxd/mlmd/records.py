"""Run records: what a run was made of, kept in ML Metadata beside TFX's lineage.

A run's *record* is written once when the run starts, by every runner that writes ML Metadata
(``tfxd run``, an Airflow DAG run's first task): the pipeline file's text and hash, each parameter's
value, the span, per node its type, parameters and input fingerprints (file contents, ETags, the
query and its day), the module files and the local modules they import (text and hash), and the
installed packages (by digest; the list is stored once per digest). It is a context of type
``tfxd_run`` named ``<pipeline>/<run id>``. What a run *did* is read from its executions, on which
the runners write, as each node ends, the Evaluator's metrics, the version a pusher pushed and
the seeds the module asked for (``tfxd.seeds``). Secrets never enter: parameters hold references
(env var names), and the checked pipeline file refuses credentials.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

RECORD_TYPE = "tfxd_run"
PACKAGES_TYPE = "tfxd_packages"
FORMAT = 1
# Execution custom properties the runners write when a node ends.
METRICS = "tfxd_metrics"  # the Evaluator's overall metrics, JSON {name: value}
PUSHED = "tfxd_pushed"  # the version a pusher pushed
SEEDS = "tfxd_seeds"  # JSON {name: seed}, what the module asked for through tfxd.seeds
# JSON {"rows": set aside, "of": rows read, "file": where they are}: an ExampleGen's bad rows
BAD_ROWS = "tfxd_bad_rows"
# JSON {steps, step_ms, input_ms, bound, share}: a Trainer's run input or compute bound, as its
# executor wrote it on its ModelRun (``components.standard.input_profile``, the same name)
INPUT_PROFILE = "tfxd_input_profile"
NO_RECORD_FIX = (
    "it ran before run records existed (or under a runner that writes none), so its parameters, "
    "code, data and packages are not known; tfxd runs --compare still shows its outcome and "
    "metrics, and any run from now on is recorded"
)


@dataclass
class RunRecord:
    pipeline: str
    run_id: str
    runner: str  # local | airflow
    file: dict[str, str]  # path, sha256, text
    parameters: dict[str, Any]
    span: int | None
    nodes: dict[str, dict[str, Any]]  # node → type, params, inputs (fingerprints), module
    modules: dict[str, dict[str, dict[str, str]]]  # module file → file → sha256, text
    packages: dict[str, str] = field(default_factory=dict)  # name → version
    started: str = ""
    reproduces: str = ""  # the run this one reproduces (tfxd reproduce)
    beam: str = ""  # how a local run's Beam executed, and why (runners/beam_mode.py)
    format: int = FORMAT

    @property
    def packages_digest(self) -> str:
        return packages_digest(self.packages)

    def to_json(self) -> str:
        body = asdict(self)
        body.pop("packages")
        body["packages_digest"] = self.packages_digest
        return json.dumps(body, sort_keys=True)


def packages_digest(packages: dict[str, str]) -> str:
    text = json.dumps(sorted(packages.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _context_type(store: Any, name: str) -> int:
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    return store.put_context_type(mlmd.ContextType(name=name), can_add_fields=True)


def has_record(store: Any, pipeline: str, run_id: str) -> bool:
    return store.get_context_by_type_and_name(RECORD_TYPE, f"{pipeline}/{run_id}") is not None


def write_record(store: Any, record: RunRecord) -> None:
    """Store ``record`` (again: a re-run of the same run id keeps its first record)."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    if has_record(store, record.pipeline, record.run_id):
        return
    name = f"{record.pipeline}/{record.run_id}"
    digest = record.packages_digest
    if store.get_context_by_type_and_name(PACKAGES_TYPE, digest) is None:
        packages = mlmd.Context(type_id=_context_type(store, PACKAGES_TYPE), name=digest)
        packages.custom_properties["list"].string_value = json.dumps(record.packages)
        _put_once(store, packages, PACKAGES_TYPE)
    context = mlmd.Context(type_id=_context_type(store, RECORD_TYPE), name=name)
    context.custom_properties["pipeline"].string_value = record.pipeline
    context.custom_properties["run_id"].string_value = record.run_id
    context.custom_properties["record"].string_value = record.to_json()
    _put_once(store, context, RECORD_TYPE)


def _put_once(store: Any, context: Any, type_name: str) -> None:
    """Put a new context; another writer (an Airflow task beside this one) may have put it."""
    try:
        store.put_contexts([context])
    except Exception:
        if store.get_context_by_type_and_name(type_name, context.name) is None:
            raise


def _from_context(store: Any, context: Any, with_packages: bool = True) -> RunRecord:
    body = json.loads(context.custom_properties["record"].string_value)
    digest = body.pop("packages_digest", "")
    packages = {}
    if with_packages and digest:
        listed = store.get_context_by_type_and_name(PACKAGES_TYPE, digest)
        packages = json.loads(listed.custom_properties["list"].string_value) if listed else {}
    known = set(RunRecord.__dataclass_fields__)
    return RunRecord(**{k: v for k, v in body.items() if k in known}, packages=packages)


def read_record(
    store: Any, pipeline: str, run_id: str, *, with_packages: bool = True
) -> RunRecord | None:
    """The record of run ``run_id`` of ``pipeline``; None when it has none (a run recorded
    before run records existed, or by a runner that writes none)."""
    try:
        context = store.get_context_by_type_and_name(RECORD_TYPE, f"{pipeline}/{run_id}")
    except Exception:  # the type itself is not there yet
        return None
    return _from_context(store, context, with_packages) if context is not None else None
