"""DriftValidator executor: score, record, report, then pass or fail the execution."""

from __future__ import annotations

import os
from typing import Any

from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils

from tfxd.components.drift_validator.params import DriftSettings
from tfxd.infra.drift import (
    DriftError,
    History,
    Verdict,
    compare,
    load_statistics,
    pick_baseline,
    serving_span,
)
from tfxd.infra.schema_store import (
    Origin,
    SchemaStore,
    breaks,
    empty_columns,
    evolvable,
    evolve,
    fix,
    tolerant,
)

PROPERTY = "tfxd_drift"  # the verdict as JSON: on the execution and on the report artifact


def report_markdown(verdict: Verdict) -> str:
    head = {
        "schema": "SCHEMA BREAK",
        "pass": "no drift",
        "drift": "DRIFT",
        "no baseline": "no baseline (first span: recorded, not compared)",
    }[verdict.status]
    lines = [f"# Drift check of span {verdict.span}: {head}", ""]
    if verdict.schema_from:
        lines += [f"Accepted schema: {verdict.schema_from}", ""]
    for name in sorted(verdict.schema_breaks):
        lines.append(f"- schema break: {verdict.schema_breaks[name]}")
    for name in sorted(verdict.schema_evolved):
        lines.append(f"- schema evolved (by policy, with.evolve): {verdict.schema_evolved[name]}")
    if verdict.schema_breaks:
        lines += ["", f"Fix: {verdict.schema_fix}", ""]
    if verdict.baseline:
        lines.append(
            f"Baseline: span(s) {', '.join(map(str, verdict.baseline))}; "
            f"policy on drift: {verdict.policy}"
        )
        lines += ["", "| feature | metric | score | threshold | |", "|---|---|---|---|---|"]
        for s in sorted(verdict.scores, key=lambda s: -s.score):
            mark = "**breach**" if s.drifted else ""
            lines.append(f"| {s.feature} | {s.metric} | {s.score:.4f} | {s.threshold:g} | {mark} |")
    for name in verdict.missing:
        lines.append(f"\n- `{name}` is missing from this span (present in the baseline)")
    for name in verdict.moving:
        lines.append(
            f"\n- `{name}` moves with the spans (its values lie outside the baseline's range, "
            "as the baseline's did outside the span's before it, like a timestamp): not scored; "
            "name it under `features:` to score it"
        )
    for name in verdict.added:
        lines.append(f"\n- `{name}` is new in this span (no baseline to compare with)")
    for name, text in sorted(verdict.anomalies.items()):
        lines.append(f"\n- schema anomaly in `{name}`: {text}")
    if verdict.skew:
        lines += ["", "Train/serving skew (serving data vs this span):", ""]
        lines += ["| feature | metric | score | threshold | |", "|---|---|---|---|---|"]
        for s in sorted(verdict.skew, key=lambda s: -s.score):
            mark = "**breach**" if s.drifted else ""
            lines.append(f"| {s.feature} | {s.metric} | {s.score:.4f} | {s.threshold:g} | {mark} |")
    return "\n".join(lines) + "\n"


def span_of(examples: Any) -> int:
    """The span ExampleGen's driver recorded (a custom property in TFX 1.16, else the property)."""
    if examples.has_custom_property("span"):
        return int(examples.get_custom_property("span"))
    return int(examples.span or 0)


class Executor(base_executor.BaseExecutor):
    @staticmethod
    def _serving_baseline(config: DriftSettings, accepted: list[int]) -> list[int]:
        """The span the serving model was trained on (MLMD lineage); none before a first push."""
        from ml_metadata import metadata_store

        from tfxd.infra.mlmd_reference import connection_from_reference

        store = metadata_store.MetadataStore(connection_from_reference(config.metadata or {}))
        span = serving_span(store, config.pipeline)
        if span is None:
            return []
        if span not in accepted:
            raise DriftError(
                f"the serving model was trained on span {span}, which is not in the drift "
                f"history (accepted spans: {', '.join(map(str, accepted)) or 'none'})"
            )
        return [span]

    @staticmethod
    def _check_schema(
        verdict: Verdict, current: Any, schema: Any, folder: str, config: DriftSettings
    ) -> Any:
        """Checks the span against the accepted schema (the imported one, or the first accepted
        span's, as it evolved since); what may evolve by policy (``with.evolve``) does. Returns
        what to store as the accepted schema if the span passes: ``(schema, origin, facts)``."""
        store = SchemaStore(folder)
        empty = empty_columns(current)
        store.keep_candidate(verdict.span, schema, empty)
        if config.schema_source == "imported":
            accepted, origin = schema, Origin("imported", "imported")
            store.accept(schema, origin)  # so that `tfxd schema` sees it is imported
            facts = store.facts()
        elif (found := store.accepted()) is not None:
            accepted, origin = found
            facts = store.facts()
        else:  # cold start: this span's schema becomes the accepted one if the span passes
            return (
                schema,
                Origin(f"span {verdict.span}", "first", span=verdict.span, empty=empty),
                None,
            )
        where = origin.label()
        checked = accepted  # an imported schema's domains are curated: exact
        if origin.source != "imported" and not config.evolve.get("domains"):
            checked = tolerant(accepted, config.new_values)
        found_breaks = breaks(current, checked, where, verdict.span, origin.empty)
        grows = [b for b in found_breaks.values() if evolvable(b, facts, config.evolve)]
        stops = {c: b.message for c, b in found_breaks.items() if b not in grows}
        verdict.schema_from = where
        verdict.schema_breaks = stops
        verdict.schema_fix = fix(origin, config.pipeline, verdict.span, config.schema_file or "")
        if stops or not grows:
            return None
        evolved, new_facts, changed = evolve(accepted, schema, grows, facts, verdict.span, where)
        verdict.schema_evolved = changed
        learned = {c for c, b in found_breaks.items() if b in grows and b.kind == "type"}
        reason = "; ".join(changed[c] for c in sorted(changed))
        new = Origin(
            f"span {verdict.span}",
            "evolved",
            span=verdict.span,
            reason=reason,
            empty=[c for c in origin.empty if c not in learned],
        )
        return evolved, new, new_facts

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> Any:
        from tfx.orchestration.portable import outputs_utils
        from tfx.proto.orchestration import execution_result_pb2

        [examples] = input_dict["examples"]
        [statistics] = input_dict["statistics"]
        [schema_artifact] = input_dict["schema"]
        [report] = output_dict["report"]
        split = exec_properties["split"]
        if split not in artifact_utils.decode_split_names(statistics.split_names):
            raise DriftError(
                f"DriftValidator: the statistics have no split '{split}' "
                f"(they have {statistics.split_names}): set with.split"
            )
        span = span_of(examples)  # StatisticsGen does not carry the span over
        current = load_statistics(
            os.path.join(artifact_utils.get_split_uri([statistics], split), "FeatureStats.pb")
        )
        schema = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema_artifact.uri))
        history = History(exec_properties["history"])
        config = DriftSettings.from_json(exec_properties["config"])
        mode = config.baseline
        if mode == "serving":
            spans = self._serving_baseline(config, history.spans())
        else:
            spans = pick_baseline(mode, span, history.spans(), config.last_spans)
        options = dict(
            policy=config.on_drift,
            categorical=config.categorical,
            numeric=config.numeric,
            shift=config.shift,
            overrides=config.features,
            skip=config.skip,
        )
        accepted = history.spans()
        earlier = {  # up to 4 accepted spans before each baseline, newest first
            s: [history.load(a) for a in reversed([a for a in accepted if a < s][-4:])]
            for s in spans
        }
        verdict = compare(
            current,
            [(s, history.load(s)) for s in spans],
            schema,
            span=span,
            earlier=earlier,
            **options,
        )
        serving = input_dict.get("serving_statistics") or []
        if serving:
            # Train/serving skew: serving data scored against this span's training data.
            [serving_stats] = serving
            first = artifact_utils.decode_split_names(serving_stats.split_names)[0]
            served = load_statistics(
                os.path.join(
                    artifact_utils.get_split_uri([serving_stats], first), "FeatureStats.pb"
                )
            )
            verdict.skew = compare(served, [(span, current)], schema, span=span, **options).scores
        accept = self._check_schema(verdict, current, schema, history.folder, config)
        text = verdict.to_json()
        fileio.makedirs(os.path.dirname(report.uri))
        report.write(report_markdown(verdict))
        report.set_string_custom_property(PROPERTY, text)
        # A schema break always stops the run: the nodes after the gate would crash on it.
        failed = bool(verdict.schema_breaks) or (
            verdict.status == "drift" and verdict.policy == "fail"
        )
        if not failed:
            # An accepted span becomes a baseline for later ones; a rejected one never does.
            history.add(span, current)
            if accept is not None:
                SchemaStore(history.folder).accept(*accept)
        output = execution_result_pb2.ExecutorOutput()
        output.execution_properties[PROPERTY].string_value = text
        if failed:
            from google.protobuf import wrappers_pb2

            output.execution_result.code = 9  # FAILED_PRECONDITION
            output.execution_result.result_message = verdict.message()
            # A failed execution keeps only its result: the verdict rides along for `tfxd drift`.
            output.execution_result.metadata_details.add().Pack(
                wrappers_pb2.StringValue(value=text)
            )
        else:
            outputs_utils.populate_output_artifact(output, output_dict)
        uri = getattr(self._context, "executor_output_uri", None)
        if uri is None:  # runners that ignore ExecutorOutput (TFX's KFP entrypoint): fail loudly
            if failed:
                raise DriftError(verdict.message())
            return None
        with fileio.open(uri, "wb") as handle:
            handle.write(output.SerializeToString())
        return None
