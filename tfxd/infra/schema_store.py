"""The accepted schema: what every span is checked against before anything trains on it.

It is the imported schema where the gate's ``schema`` input comes from ``ImportSchemaGen``, else
the schema of the first accepted span, replaced only on purpose (``tfxd schema accept``). It lives
next to the drift history (``<history>/schema/``), so every target finds it without MLMD:
``accepted.json`` (the schema as text and where it came from, one file so that it is replaced
atomically) and ``span-<N>.json``, each checked span's own inferred schema, which ``tfxd schema
accept --span N`` promotes.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tfxd.infra.drift import DriftError, feature_name, write_atomically

# TFDV anomalies that are domain breaks (values outside what the schema declares); presence and
# valency anomalies are left out (one span's inferred presence is no contract), and type changes
# are reported by ``breaks`` itself, naming both sides.
_DOMAIN_PREFIXES = ("ENUM_TYPE_", "BOOL_TYPE_")
_DOMAIN_SUFFIXES = ("_BIG_INT", "_SMALL_INT", "_BIG_FLOAT", "_SMALL_FLOAT")
_TYPE_ANOMALIES = {f"ENUM_TYPE_{k}_NOT_STRING" for k in ("BYTES", "FLOAT", "INT")}


@dataclass
class Origin:
    """Where the accepted schema came from."""

    source: str  # "span 1" | "imported" (the ImportSchemaGen file)
    how: str  # first (the first accepted span) | accept (tfxd schema accept) | imported
    span: int | None = None
    at: float = 0.0
    reason: str = ""
    empty: list[str] = field(default_factory=list)  # columns with no values in that span

    def label(self) -> str:
        if self.source == "imported":
            return "imported schema"
        how = {"accept": ", by tfxd schema accept", "evolved": ", evolved by policy"}
        return f"span {self.span}" + how.get(self.how, "")


# Where one fact of the accepted schema (a column's type, domain or shape) came from: "guess" (a
# type SchemaGen gave a column that held no values), "inferred" (read off data), "curated"
# (imported, or accepted by a person). Only guessed and inferred facts evolve by themselves.
FACTS = ("type", "domain", "shape")


def default_facts(schema: Any, origin: Origin) -> dict[str, dict[str, str]]:
    """The facts of a schema recorded before facts were kept: by how it was accepted."""
    curated = origin.how in ("imported", "accept")
    out = {}
    for feature in schema.feature:
        kind = "curated" if curated else "inferred"
        out[feature.name] = {f: kind for f in FACTS}
        if not curated and feature.name in origin.empty:
            out[feature.name]["type"] = "guess"
    return out


_VERSION_KEYS = ("span", "how", "at", "reason")


class SchemaStore:
    """The accepted schema and each checked span's own schema, under ``<history>/schema``."""

    def __init__(self, history_folder: str):
        self.folder = os.path.join(history_folder, "schema")

    def _write(self, name: str, data: bytes) -> None:
        write_atomically(os.path.join(self.folder, name), data)

    def _read(self, name: str) -> bytes | None:
        from tfx.dsl.io import fileio

        path = os.path.join(self.folder, name)
        if not fileio.exists(path):
            return None
        with fileio.open(path, "rb") as handle:
            return handle.read()

    def _record(self) -> dict[str, Any] | None:
        data = self._read("accepted.json")
        return None if data is None else json.loads(data)

    def accepted(self) -> tuple[Any, Origin] | None:
        record = self._record()
        if record is None:
            return None
        return parse(record["schema"]), Origin(**record["origin"])

    def facts(self) -> dict[str, dict[str, str]]:
        """Column → fact → guess | inferred | curated, of the accepted schema."""
        record = self._record()
        if record is None:
            return {}
        schema, origin = parse(record["schema"]), Origin(**record["origin"])
        return record.get("facts") or default_facts(schema, origin)

    def versions(self) -> list[dict[str, Any]]:
        """Every accepted schema so far, oldest first: version, span, how, at, reason."""
        record = self._record()
        if record is None:
            return []
        origin = record["origin"]
        latest = {"version": record.get("version", 1), **{k: origin[k] for k in _VERSION_KEYS}}
        return [*record.get("versions", []), latest]

    def accept(
        self, schema: Any, origin: Origin, facts: dict[str, dict[str, str]] | None = None
    ) -> None:
        """Make ``schema`` the accepted one, the one before it kept in the version list."""
        from google.protobuf import text_format

        origin.at = origin.at or time.time()
        before = self._record()
        versions = self.versions()
        record = {
            "origin": asdict(origin),
            "schema": text_format.MessageToString(schema),
            "facts": facts or default_facts(schema, origin),
            "version": versions[-1]["version"] + 1 if versions else 1,
            "versions": versions,
        }
        if (
            before is not None
            and before["schema"] == record["schema"]
            and (before["origin"]["how"] == origin.how == "imported")
        ):
            return  # the imported file again: not a new version
        self._write("accepted.json", json.dumps(record, indent=1, sort_keys=True).encode())

    def keep_candidate(self, span: int, schema: Any, empty: list[str]) -> None:
        from google.protobuf import text_format

        record = {"schema": text_format.MessageToString(schema), "empty": empty}
        self._write(f"span-{span}.json", json.dumps(record, indent=1).encode())

    def candidate(self, span: int) -> tuple[Any, list[str]]:
        """Span ``span``'s own schema and the columns it held no values in."""
        data = self._read(f"span-{span}.json")
        if data is None:
            raise DriftError(
                f"no schema of span {span} in {self.folder}: the gate has not checked that span "
                "(run the pipeline on it first)"
            )
        record = json.loads(data)
        return parse(record["schema"]), record["empty"]


def tolerant(schema: Any, new_values: float) -> Any:
    """An inferred schema's categorical domains list the values one span happened to hold: a
    value first seen later (a new taxi company) is not a break unless such values make up more
    than ``new_values`` of a span (a renamed category does). Imported schemas are not passed
    here: their domains stay exact."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    out = schema_pb2.Schema()
    out.CopyFrom(schema)
    for feature in out.feature:
        if feature.HasField("domain") or feature.HasField("string_domain"):
            feature.distribution_constraints.min_domain_mass = 1 - new_values
    return out


def widen(schema: Any, previous: Any) -> Any:
    """``schema`` (a span's own) with each categorical domain also holding the values the
    ``previous`` accepted schema allowed: accepting a span takes its columns and types without
    narrowing what the spans before it were accepted with."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    out = schema_pb2.Schema()
    out.CopyFrom(schema)
    before = {d.name: list(d.value) for d in previous.string_domain}
    for domain in out.string_domain:
        known = set(domain.value)
        domain.value.extend(v for v in before.get(domain.name, []) if v not in known)
    return out


def parse(text: str) -> Any:
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    return text_format.Parse(text, schema_pb2.Schema())


def _schema_type(feature: Any) -> str:
    from tensorflow_metadata.proto.v0 import schema_pb2

    return {schema_pb2.INT: "INT", schema_pb2.FLOAT: "FLOAT", schema_pb2.BYTES: "STRING"}.get(
        feature.type, schema_pb2.FeatureType.Name(feature.type)
    )


def _stats_type(feature: Any) -> str:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    kind = statistics_pb2.FeatureNameStatistics
    return {kind.INT: "INT", kind.FLOAT: "FLOAT", kind.STRING: "STRING", kind.BYTES: "STRING"}.get(
        feature.type, kind.Type.Name(feature.type)
    )


def _has_values(feature: Any) -> bool:
    which = feature.WhichOneof("stats")
    common = getattr(feature, which).common_stats if which else None
    return bool(common and common.num_non_missing)


def _rows_without_value(feature: Any) -> str | int:
    """How many rows hold no value of ``feature`` ("some rows" where the statistics cannot tell)."""
    which = feature.WhichOneof("stats")
    if not which:
        return 0
    common = getattr(feature, which).common_stats
    rows = common.num_non_missing + common.num_missing
    if common.max_num_values <= 1:
        return int(rows - common.tot_num_values)
    return "some rows" if common.num_missing or not common.min_num_values else 0


def empty_columns(stats: Any) -> list[str]:
    """Columns a span's statistics list with no value at all (all cells empty)."""
    return sorted(feature_name(f) for f in stats.datasets[0].features if not _has_values(f))


@dataclass
class Break:
    """One way a span breaks the accepted schema."""

    column: str
    kind: str  # type | missing | new | domain | required
    message: str
    rows: int | str = 0  # kind required: the rows without a value


def breaks(
    current: Any, accepted: Any, where: str, span: int, empty: list[str] | None = None
) -> dict[str, Break]:
    """What in ``current`` (a span's statistics) breaks the ``accepted`` schema: a changed type,
    a missing or a new column, values outside a declared domain, a gap in a required column."""
    import tensorflow_data_validation as tfdv

    features = {feature_name(f): f for f in current.datasets[0].features}
    declared = {f.name: f for f in accepted.feature}
    out: dict[str, Break] = {}
    for name, feature in sorted(declared.items()):
        if name not in features:
            message = f"{name}: in the accepted schema ({where}), missing from span {span}"
            out[name] = Break(name, "missing", message)
            continue
        was, now = _schema_type(feature), _stats_type(features[name])
        if was != now and _has_values(features[name]):
            hint = ""
            if (was, now) == ("INT", "FLOAT"):
                hint = " (integers written with a decimal point, such as 8.0, read as FLOAT)"
            elif name in (empty or []):
                hint = f" (it held no values in {where}: the type there was a guess)"
            message = f"{name}: {was} in the accepted schema ({where}), {now} in span {span}{hint}"
            out[name] = Break(name, "type", message)
        elif feature.shape.dim and (gaps := _rows_without_value(features[name])):
            shape = ", ".join(str(d.size) for d in feature.shape.dim)
            rows = f"{gaps} row(s)" if isinstance(gaps, int) else gaps
            out[name] = Break(
                name,
                "required",
                f"{name}: a value in every row in the accepted schema ({where}: shape [{shape}], "
                f"so models built on it parse the column as required), none in {rows} of span "
                f"{span} (SchemaGen's infer_feature_shape: false keeps columns optional)",
                gaps,
            )
    for name in sorted(set(features) - set(declared)):
        message = f"{name}: new in span {span}, not in the accepted schema ({where})"
        out[name] = Break(name, "new", message)
    anomalies = tfdv.validate_statistics(current, accepted)
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    for name, info in sorted(anomalies.anomaly_info.items()):
        kinds = {anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason}
        domain = {
            k
            for k in kinds - _TYPE_ANOMALIES
            if k.startswith(_DOMAIN_PREFIXES) or k.endswith(_DOMAIN_SUFFIXES)
        }
        if domain and name not in out:
            detail = "; ".join(r.description for r in info.reason if r.description) or (
                info.short_description
            )
            message = f"{name}: outside its domain in the accepted schema ({where}): {detail}"
            constraints = declared[name].distribution_constraints if name in declared else None
            mass = constraints.min_domain_mass if constraints is not None else 0
            if 0 < mass < 1:
                share = f"{round(100 * (1 - mass), 4):g}%"
                allows = f"the {share} of span {span} that with.new_values allows"
                message += f" (new values over {allows})"
            out[name] = Break(name, "domain", message)
    return out


# Which fact a kind of break is against, and the policy switch (``with.evolve``) that lets it
# evolve by itself where that fact is not curated.
EVOLVES = {
    "type": ("type", "types"),
    "domain": ("domain", "domains"),
    "required": ("shape", "optional"),
}


def evolvable(found: Break, facts: dict[str, dict[str, str]], policy: dict[str, bool]) -> bool:
    """A type learned for a column that held no values (a guessed type), new values of an
    inferred domain, an inferred required column with gaps: each only where ``policy`` allows."""
    if found.kind not in EVOLVES:
        return False
    fact, switch = EVOLVES[found.kind]
    origin = facts.get(found.column, {}).get(fact, "curated")
    if not policy.get(switch, False) or origin == "curated":
        return False
    return origin == "guess" if found.kind == "type" else True


def evolve(
    accepted: Any,
    candidate: Any,
    found: list[Break],
    facts: dict[str, dict[str, str]],
    span: int,
    where: str,
) -> tuple[Any, dict[str, dict[str, str]], dict[str, str]]:
    """The accepted schema with each of ``found`` taken from span ``span``'s own schema
    (``candidate``): the learned type, the grown domain, the column made optional. Returns the
    new schema, its facts, and column → what changed."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    out = schema_pb2.Schema()
    out.CopyFrom(accepted)
    facts = {k: dict(v) for k, v in facts.items()}
    own = {f.name: f for f in candidate.feature}
    own_domains = {d.name: d for d in candidate.string_domain}
    domains = {d.name: d for d in out.string_domain}
    changed: dict[str, str] = {}
    for item in found:
        [feature] = [f for f in out.feature if f.name == item.column]
        theirs = own.get(item.column)
        if item.kind == "type" and theirs is not None:
            feature.CopyFrom(theirs)
            if theirs.HasField("domain") and theirs.domain in own_domains:
                if theirs.domain not in domains:
                    domains[theirs.domain] = out.string_domain.add()
                domains[theirs.domain].CopyFrom(own_domains[theirs.domain])
            facts.setdefault(item.column, {})["type"] = "inferred"
            changed[item.column] = (
                f"{item.column}: type {_schema_type(theirs)} learned in span {span} (it held no "
                f"values in {where})"
            )
        elif item.kind == "domain":
            mine = domains.get(feature.domain) if feature.HasField("domain") else None
            extra = own_domains.get(theirs.domain) if theirs is not None and theirs.domain else None
            if mine is not None and extra is not None:
                new = [v for v in extra.value if v not in set(mine.value)]
                mine.value.extend(new)
                shown = ", ".join(new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
                changed[item.column] = (
                    f"{item.column}: {len(new)} new value(s) joined the inferred domain in span "
                    f"{span}: {shown}"
                )
            else:  # the span held too many distinct values to list: the column is left open
                feature.ClearField("domain")
                changed[item.column] = (
                    f"{item.column}: span {span} held values outside the inferred domain and too "
                    "many distinct ones to list: the domain is dropped"
                )
        elif item.kind == "required":
            feature.ClearField("shape")
            feature.presence.min_fraction = 0.0
            rows = f"{item.rows} row(s)" if isinstance(item.rows, int) else item.rows
            changed[item.column] = (
                f"{item.column}: optional from span {span} (no value in {rows}; it had one in "
                f"every row of {where})"
            )
    return out, facts, changed


def fix(origin: Origin | None, pipeline: str, span: int, imported: str = "") -> str:
    """What a person does about a schema break."""
    if origin is not None and origin.source == "imported":
        where = f" ({imported})" if imported else ""
        return "fix the data, or change the imported schema file" + where + " on purpose and re-run"
    return (
        f"fix the data, or make span {span}'s schema the accepted one on purpose: "
        f"tfxd schema accept {pipeline or 'PIPELINE'} --span {span}, then run the span again"
    )
