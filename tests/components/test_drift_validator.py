"""DriftValidator: scores, baselines, history and the executor, on statistics of real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tfxd.components.drift_validator.params import SHIFT
from tfxd.infra.drift import (
    DriftError,
    History,
    Verdict,
    compare,
    pick_baseline,
    quantile_js,
    quantile_shift,
)

RNG = np.random.default_rng(7)


def frame(n: int = 600, fare_scale: float = 1.0, cash: float = 0.5, tips: bool = True):
    data = {
        "fare": RNG.lognormal(2.3, 0.5, n) * fare_scale,
        "payment_type": RNG.choice(["Cash", "Card"], n, p=[cash, 1 - cash]),
        "zeros": np.where(RNG.random(n) < 0.6, 0.0, RNG.exponential(3, n)),  # heavy ties at 0
    }
    if tips:
        data["tips"] = RNG.exponential(2, n)
    return pd.DataFrame(data)


def stats(df):
    import tensorflow_data_validation as tfdv

    return tfdv.generate_statistics_from_dataframe(df)


def schema_of(stats_list):
    import tensorflow_data_validation as tfdv

    return tfdv.infer_schema(stats_list)


def feature(stats_list, name):
    return next(f for f in stats_list.datasets[0].features if f.path.step[0] == name)


def run_compare(current, baselines, **kwargs):
    options = dict(
        span=2,
        policy="fail",
        categorical=0.1,
        numeric=0.1,
        shift=SHIFT,
        overrides={},
        skip=[],
    )
    options.update(kwargs)
    return compare(current, baselines, schema_of(current), **options)


def test_quantile_js_is_small_for_the_same_distribution_and_large_for_a_shift():
    a, b = stats(frame()), stats(frame())
    shifted = stats(frame(fare_scale=3.0))
    same = quantile_js(feature(b, "fare").num_stats, feature(a, "fare").num_stats)
    moved = quantile_js(feature(shifted, "fare").num_stats, feature(a, "fare").num_stats)
    assert same < 0.05 < 0.3 < moved <= 1.0
    # Heavy ties (60% zeros) do not read as drift between two samples of one distribution.
    ties = quantile_js(feature(b, "zeros").num_stats, feature(a, "zeros").num_stats)
    assert ties < 0.05


def test_compare_flags_exactly_the_shifted_features():
    base = stats(frame())
    current = stats(frame(fare_scale=3.0, cash=0.95))
    verdict = run_compare(current, [(1, base)])
    assert verdict.status == "drift"
    assert {s.feature for s in verdict.breaches} == {"fare", "payment_type"}
    by = {(s.feature, s.metric): s for s in verdict.scores}
    assert set(by) == {
        ("fare", "jensen_shannon"),
        ("fare", "wasserstein"),
        ("zeros", "jensen_shannon"),
        ("zeros", "wasserstein"),
        ("tips", "jensen_shannon"),
        ("tips", "wasserstein"),
        ("payment_type", "l_infinity"),
    }
    assert by[("payment_type", "l_infinity")].score == pytest.approx(0.45, abs=0.08)
    # Fares x3 move values about twice their typical distance from the median.
    assert by[("fare", "wasserstein")].score > 1.5
    assert "fare jensen_shannon" in verdict.message() and "> 0.1" in verdict.message()
    assert "fare wasserstein" in verdict.message() and "> 1" in verdict.message()
    # Per-feature thresholds and skip lists apply.
    relaxed = run_compare(
        current,
        [(1, base)],
        overrides={"fare": {"jensen_shannon": 0.99, "wasserstein": 10}},
        skip=["payment_type"],
    )
    assert relaxed.status == "pass"
    assert "payment_type" not in {s.feature for s in relaxed.scores}


def test_cold_start_missing_and_added_features_and_empty_span():
    base = stats(frame())
    cold = run_compare(base, [])
    assert cold.status == "no baseline" and cold.scores == []
    without_tips = stats(frame(tips=False))
    verdict = run_compare(without_tips, [(1, base)])
    assert verdict.missing == ["tips"] and verdict.status == "drift"
    assert "tips missing (in baseline span 1)" in verdict.message()
    back = run_compare(base, [(1, without_tips)])
    assert back.added == ["tips"]
    empty = stats(frame().iloc[:0])
    with pytest.raises(DriftError, match="span 2 has no examples"):
        run_compare(empty, [(1, base)])


@pytest.fixture(scope="module")
def taxi_half_years():
    """Statistics of the taxi sample's first six half-years, as the wheel ships them, and of
    span 6 with every trip_miles x 2.5."""
    import io

    from tfxd.examples import taxi_spans

    frames = {
        k: pd.read_csv(io.BytesIO(v)) for k, v in taxi_spans(list(range(1, 7)), "half-year").items()
    }
    shifted = frames[6].copy()
    shifted["trip_miles"] = shifted["trip_miles"] * 2.5
    return {k: stats(df) for k, df in frames.items()}, stats(shifted)


def test_the_shift_score_sees_a_scale_shift_that_half_years_of_taxi_data_do_not_make(
    taxi_half_years,
):
    spans, shifted = taxi_half_years
    natural = {
        k: quantile_shift(
            feature(spans[k], "trip_miles").num_stats, feature(spans[k - 1], "trip_miles").num_stats
        )
        for k in range(2, 7)
    }
    moved = quantile_shift(
        feature(shifted, "trip_miles").num_stats, feature(spans[5], "trip_miles").num_stats
    )
    assert moved > SHIFT > max(natural.values()), (moved, natural)
    assert moved > 2 * max(natural.values()), (moved, natural)
    # With every default, five natural half-year changes pass: the clock columns move with the
    # spans (not scored), nothing else breaches; the shifted span breaches on trip_miles only.
    earlier = {k: [spans[k - 1]] for k in range(2, 7)}
    for k in range(2, 7):
        verdict = run_compare(spans[k], [(k - 1, spans[k - 1])], span=k, earlier=earlier)
        assert verdict.breaches == [] and verdict.missing == [], (k, verdict.message())
        assert {"trip_start_timestamp", "trip_start_month"} <= set(verdict.moving), k
    verdict = run_compare(shifted, [(5, spans[5])], span=6, earlier=earlier)
    assert {s.feature for s in verdict.breaches} == {"trip_miles"}, verdict.message()
    assert "wasserstein" in {s.metric for s in verdict.breaches}
    # After a rejected span, the baseline and the span before it cover the same half of the
    # year; the month still moves, as it did at earlier steps (span 5 after 3, 3 after 2).
    after = run_compare(spans[6], [(5, spans[5])], span=6, earlier={5: [spans[3], spans[2]]})
    assert "trip_start_month" in after.moving and after.breaches == [], after.message()


def test_a_column_that_jumps_out_of_its_range_is_scored_not_taken_for_a_clock():
    one, two = stats(frame()), stats(frame())
    far = frame()
    far["fare"] = far["fare"] + 1_000  # every fare outside the range spans 1 and 2 held
    verdict = run_compare(stats(far), [(2, two)], span=3, earlier={2: [one]})
    assert "fare" not in verdict.moving
    assert ("fare", "wasserstein") in {(s.feature, s.metric) for s in verdict.breaches}
    # The first comparison cannot tell a clock from a jump: it is recorded as moving.
    first = run_compare(stats(far), [(1, one)], span=2)
    assert first.moving == ["fare"] and "fare" not in {s.feature for s in first.scores}
    # A column named under features: is always scored.
    named = run_compare(stats(far), [(1, one)], span=2, overrides={"fare": {"wasserstein": 2}})
    assert named.moving == [] and "fare" in {s.feature for s in named.breaches}


def test_baseline_modes():
    assert pick_baseline("previous_span", 5, [1, 2, 4]) == [4]
    assert pick_baseline("previous_span", 5, [5]) == []  # re-run of the only accepted span
    assert pick_baseline("last_spans", 5, [1, 2, 3, 4], last=3) == [2, 3, 4]
    assert pick_baseline(2, 5, [1, 2, 4]) == [2]
    with pytest.raises(DriftError, match="baseline span 3 is not in the drift history"):
        pick_baseline(3, 5, [1, 2, 4])


def test_verdict_json_round_trip():
    verdict = run_compare(stats(frame(fare_scale=3)), [(1, stats(frame()))])
    again = Verdict.from_json(verdict.to_json())
    assert again == verdict and json.loads(verdict.to_json())["status"] == "drift"


def test_history_lists_only_complete_span_files(tmp_path):
    history = History(str(tmp_path / "h"))
    assert history.spans() == []
    history.add(3, stats(frame()))
    history.add(1, stats(frame()))
    (tmp_path / "h" / "span-9.pb.tmp").write_bytes(b"half")  # an interrupted write
    assert history.spans() == [1, 3]
    assert history.load(3).datasets[0].num_examples == 600
    (tmp_path / "h" / "span-7.pb").write_bytes(b"\xff\xfe not a proto")
    with pytest.raises(DriftError, match="cannot read statistics .*span-7.pb"):
        history.load(7)


# ------------------------------------------------------------------ executor


def artifacts(tmp_path: Path, df, span: int, schema_text: str | None = None):
    from tfx.types import standard_artifacts
    from tfx.utils import io_utils

    examples = standard_artifacts.Examples()
    examples.set_int_custom_property("span", span)
    stats_artifact = standard_artifacts.ExampleStatistics()
    stats_artifact.uri = str(tmp_path / f"stats{span}")
    stats_artifact.split_names = '["train", "eval"]'
    data = stats(df)
    for split in ("train", "eval"):
        os.makedirs(tmp_path / f"stats{span}" / f"Split-{split}", exist_ok=True)
        (tmp_path / f"stats{span}" / f"Split-{split}" / "FeatureStats.pb").write_bytes(
            data.SerializeToString()
        )
    schema = standard_artifacts.Schema()
    schema.uri = str(tmp_path / f"schema{span}")
    os.makedirs(schema.uri, exist_ok=True)
    if schema_text is None:
        io_utils.write_pbtxt_file(os.path.join(schema.uri, "schema.pbtxt"), schema_of(data))
    else:
        (Path(schema.uri) / "schema.pbtxt").write_text(schema_text)
    return examples, stats_artifact, schema


def run_executor(
    tmp_path: Path,
    df,
    span: int,
    *,
    policy: str = "fail",
    with_uri: bool = True,
    imported: str | None = None,
    new_values: float = 0.01,
    evolve: dict[str, bool] | None = None,
):
    from tfx.dsl.components.base import base_executor
    from tfx.proto.orchestration import execution_result_pb2

    from tfxd.components.drift_validator.executor import Executor
    from tfxd.components.reports.artifacts import MarkdownReport

    examples, statistics, schema = artifacts(tmp_path, df, span, imported)
    report = MarkdownReport()
    report.uri = str(tmp_path / f"report{span}" / "value")
    uri = str(tmp_path / f"out{span}.pb") if with_uri else None
    executor = Executor(base_executor.BaseExecutor.Context(executor_output_uri=uri))
    config = {
        "baseline": "previous_span",
        "last_spans": 1,
        "on_drift": policy,
        "categorical": 0.1,
        "numeric": 0.1,
        "features": {},
        "skip": [],
        "pipeline": "taxi",
        "new_values": new_values,
    }
    if evolve is not None:
        config["evolve"] = evolve
    if imported is not None:
        config.update(schema_source="imported", schema_file="schema/taxi.pbtxt")
    executor.Do(
        {"examples": [examples], "statistics": [statistics], "schema": [schema]},
        {"report": [report]},
        {"config": json.dumps(config), "history": str(tmp_path / "history"), "split": "train"},
    )
    output = execution_result_pb2.ExecutorOutput()
    if with_uri:
        output.ParseFromString(Path(uri).read_bytes())
    return output, Path(report.uri).read_text()


def test_executor_records_passes_and_fails_the_execution_on_drift(tmp_path):
    from google.protobuf import wrappers_pb2

    first, text = run_executor(tmp_path, frame(), 1)
    assert "no baseline" in text and first.execution_result.code == 0
    assert json.loads(first.execution_properties["tfxd_drift"].string_value)["status"] == (
        "no baseline"
    )
    second, text = run_executor(tmp_path, frame(), 2)
    assert second.execution_result.code == 0 and "Baseline: span(s) 1" in text
    assert History(str(tmp_path / "history")).spans() == [1, 2]

    third, text = run_executor(tmp_path, frame(fare_scale=3, cash=0.95), 3)
    assert third.execution_result.code == 9
    assert third.execution_result.result_message.startswith("span 3 drifted from span(s) 2: ")
    detail = wrappers_pb2.StringValue()
    third.execution_result.metadata_details[0].Unpack(detail)
    assert {s.feature for s in Verdict.from_json(detail.value).breaches} == {
        "fare",
        "payment_type",
    }
    assert "**breach**" in text
    assert History(str(tmp_path / "history")).spans() == [1, 2]  # a rejected span is no baseline

    fourth, _ = run_executor(tmp_path, frame(), 4)
    assert fourth.execution_result.code == 0
    assert json.loads(fourth.execution_properties["tfxd_drift"].string_value)["baseline"] == [2]


def test_warn_policy_passes_and_no_output_uri_raises(tmp_path):
    run_executor(tmp_path, frame(), 1)
    warned, text = run_executor(tmp_path, frame(fare_scale=3), 2, policy="warn")
    assert warned.execution_result.code == 0 and "DRIFT" in text
    with pytest.raises(DriftError, match="span 3 drifted"):
        run_executor(tmp_path, frame(fare_scale=9), 3, with_uri=False)


def verdict_of(output) -> Verdict:
    from google.protobuf import wrappers_pb2

    detail = wrappers_pb2.StringValue()
    output.execution_result.metadata_details[0].Unpack(detail)
    return Verdict.from_json(detail.value)


def tracts(n: int, as_text: bool):
    values = RNG.integers(17031010100, 17031840000, n)
    return [f"t{v}" for v in values] if as_text else values


def test_a_changed_type_breaks_the_accepted_schema_until_accepted_on_purpose(tmp_path):
    from tfxd.infra.schema_store import Origin, SchemaStore

    first = frame().assign(tract=tracts(600, as_text=True))
    assert run_executor(tmp_path, first, 1)[0].execution_result.code == 0
    store = SchemaStore(str(tmp_path / "history"))
    assert store.accepted()[1] == Origin("span 1", "first", span=1, at=store.accepted()[1].at)

    # Same distributions, but the column now holds integers: a break, whatever drift says.
    out, text = run_executor(tmp_path, frame().assign(tract=tracts(600, as_text=False)), 2)
    assert out.execution_result.code == 9
    message = out.execution_result.result_message
    assert message == (
        "span 2 breaks the accepted schema: tract: STRING in the accepted schema (span 1), INT "
        "in span 2. Fix: fix the data, or make span 2's schema the accepted one on purpose: "
        "tfxd schema accept taxi --span 2, then run the span again"
    )
    assert verdict_of(out).status == "schema" and "SCHEMA BREAK" in text
    assert History(str(tmp_path / "history")).spans() == [1]  # a broken span is no baseline

    # Accepting span 2's schema (what `tfxd schema accept` does) lets span 2 through.
    store.accept(store.candidate(2)[0], Origin("span 2", "accept", span=2))
    again, _ = run_executor(tmp_path, frame().assign(tract=tracts(600, as_text=False)), 2)
    assert again.execution_result.code == 0
    assert store.accepted()[1].label() == "span 2, by tfxd schema accept"


def test_missing_and_new_columns_break_the_accepted_schema(tmp_path):
    run_executor(tmp_path, frame(), 1)
    out, _ = run_executor(tmp_path, frame(tips=False).assign(extra=1.5), 2)
    assert out.execution_result.code == 9
    assert verdict_of(out).schema_breaks == {
        "tips": "tips: in the accepted schema (span 1), missing from span 2",
        "extra": "extra: new in span 2, not in the accepted schema (span 1)",
    }


def test_an_inferred_domain_grows_by_new_values_and_a_takeover_is_drift(tmp_path):
    from tfxd.infra.schema_store import SchemaStore

    run_executor(tmp_path, frame(), 1)
    rare = frame()
    rare.loc[:2, "payment_type"] = "Bitcoin"  # 3 of 600 rows: a new company
    out, text = run_executor(tmp_path, rare, 2)
    assert out.execution_result.code == 0
    verdict = Verdict.from_json(out.execution_properties["tfxd_drift"].string_value)
    assert verdict.schema_evolved == {
        "payment_type": "payment_type: 1 new value(s) joined the inferred domain in span 2: Bitcoin"
    }
    assert "schema evolved (by policy, with.evolve): payment_type: 1 new value" in text
    store = SchemaStore(str(tmp_path / "history"))
    schema, origin = store.accepted()
    [domain] = [d for d in schema.string_domain if d.name == "payment_type"]
    assert sorted(domain.value) == ["Bitcoin", "Card", "Cash"]
    assert origin.label() == "span 2, evolved by policy" and "Bitcoin" in origin.reason
    assert [(v["version"], v["span"], v["how"]) for v in store.versions()] == [
        (1, 1, "first"),
        (2, 2, "evolved"),
    ]
    # A renamed category is a new value that takes half the span: drift, not a quiet evolution.
    renamed = frame().replace({"payment_type": {"Card": "CARD"}})
    out, _ = run_executor(tmp_path, renamed, 3)
    assert out.execution_result.code == 9
    assert verdict_of(out).schema_breaks == {} and verdict_of(out).status == "drift"
    assert {s.feature for s in verdict_of(out).breaches} == {"payment_type"}
    assert len(store.versions()) == 2  # a rejected span evolves nothing
    # With evolve.domains off, the share rule of new_values applies, named as such.
    strict, _ = run_executor(
        tmp_path, rare.replace({"payment_type": {"Bitcoin": "Doge"}}), 4, new_values=0.001,
        evolve={"types": True, "domains": False, "optional": True},
    )  # fmt: skip
    assert strict.execution_result.code == 9
    assert (
        verdict_of(strict)
        .schema_breaks["payment_type"]
        .endswith("(new values over the 0.1% of span 4 that with.new_values allows)")
    )


def test_a_type_learned_for_an_empty_column_evolves_a_type_that_had_values_stops(tmp_path):
    from tfxd.infra.schema_store import SchemaStore

    empty = frame().assign(tract=[""] * 600)  # exported as empty cells: no values at all
    empty["tract"] = None
    assert run_executor(tmp_path, empty, 1)[0].execution_result.code == 0
    out, _ = run_executor(tmp_path, frame().assign(tract=tracts(600, as_text=False)), 2)
    assert out.execution_result.code == 0, out.execution_result.result_message
    verdict = Verdict.from_json(out.execution_properties["tfxd_drift"].string_value)
    assert verdict.schema_evolved == {
        "tract": "tract: type INT learned in span 2 (it held no values in span 1)"
    }
    store = SchemaStore(str(tmp_path / "history"))
    assert store.facts()["tract"]["type"] == "inferred" and store.accepted()[1].empty == []
    # Now the type was read off values: text in span 3 is a break, not another evolution.
    out, _ = run_executor(tmp_path, frame().assign(tract=tracts(600, as_text=True)), 3)
    assert out.execution_result.code == 9
    assert verdict_of(out).schema_breaks["tract"] == (
        "tract: INT in the accepted schema (span 2, evolved by policy), STRING in span 3"
    )
    # With evolve.types off, the guessed type stops the span as before.
    again = tmp_path / "off"
    again.mkdir()
    run_executor(again, empty, 1)
    off = {"types": False, "domains": True, "optional": True}
    out, _ = run_executor(again, frame().assign(tract=tracts(600, False)), 2, evolve=off)
    assert out.execution_result.code == 9
    assert "the type there was a guess" in verdict_of(out).schema_breaks["tract"]


def test_accepting_a_span_keeps_the_values_accepted_before():
    from tfxd.infra.schema_store import widen

    before = schema_of(stats(frame()))
    only_cash = schema_of(stats(frame(cash=1.0)))
    [domain] = [d for d in widen(only_cash, before).string_domain if d.name == "payment_type"]
    assert sorted(domain.value) == ["Card", "Cash"]


IMPORTED = """
feature { name: "fare" type: FLOAT }
feature { name: "zeros" type: FLOAT }
feature { name: "tips" type: FLOAT }
feature { name: "community" type: INT }
feature { name: "payment_type" type: BYTES domain: "payment_type" }
string_domain { name: "payment_type" value: "Cash" value: "Card" }
"""


def test_an_imported_schema_checks_the_first_span_too_int_as_float_and_domain(tmp_path):
    # A span exported by pandas writes integers as 8.0: caught at the gate, not in Transform.
    floats = frame().assign(community=RNG.integers(1, 77, 600).astype(float))
    out, _ = run_executor(tmp_path, floats, 1, imported=IMPORTED)
    assert out.execution_result.code == 9
    assert out.execution_result.result_message == (
        "span 1 breaks the accepted schema: community: INT in the accepted schema (imported "
        "schema), FLOAT in span 1 (integers written with a decimal point, such as 8.0, read as "
        "FLOAT). Fix: fix the data, or change the imported schema file (schema/taxi.pbtxt) on "
        "purpose and re-run"
    )
    good = frame().assign(community=RNG.integers(1, 77, 600))
    assert run_executor(tmp_path, good, 1, imported=IMPORTED)[0].execution_result.code == 0

    bitcoin = good.assign(payment_type=RNG.choice(["Cash", "Card", "Bitcoin"], 600))
    out, _ = run_executor(tmp_path, bitcoin, 2, imported=IMPORTED)
    assert out.execution_result.code == 9
    [(name, text)] = verdict_of(out).schema_breaks.items()
    assert name == "payment_type" and "Bitcoin" in text
    assert text.startswith("payment_type: outside its domain in the accepted schema (imported")


# ------------------------------------------------------------------ pipeline level (no run)


@pytest.fixture
def taxi_copy(tmp_path: Path) -> Path:
    import shutil

    from tests.conftest import REPO
    from tfxd.examples import write_example_data

    folder = tmp_path / "taxi"
    shutil.copytree(
        REPO / "pipelines" / "taxi", folder, ignore=shutil.ignore_patterns("runs", "data")
    )
    write_example_data("taxi", tmp_path, spans=[1])
    return folder / "pipeline.yaml"


def test_schema_accept_records_and_refuses_what_it_cannot_do(taxi_copy, tmp_path):
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    from tfxd.errors import TfxdError
    from tfxd.file import load
    from tfxd.infra.schema_store import Origin, SchemaStore
    from tfxd.mlmd.accepted_schema import accept, acceptances, show
    from tfxd.pipelines.pipeline import check

    pipe = check(load(taxi_copy), {})
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "mlmd.db")
    store = metadata_store.MetadataStore(config)
    type_id = store.put_context_type(metadata_store_pb2.ContextType(name="pipeline"))
    store.put_contexts([metadata_store_pb2.Context(type_id=type_id, name="taxi")])  # as runs do
    root = str(tmp_path / "root")
    store_dir = SchemaStore(f"{root}/drift/drift")
    assert show(pipe, root) == [
        "drift: no accepted schema yet (the first span that passes sets it)"
    ]
    with pytest.raises(TfxdError, match="no schema of span 7 in .*: the gate has not checked"):
        accept(pipe, store, root, 7)
    with pytest.raises(TfxdError, match=r"no gate 'gate' \(gates: drift\): fix --node"):
        accept(pipe, store, root, 1, node="gate")

    first = schema_of(stats(frame()))
    store_dir.accept(first, Origin("span 1", "first", span=1))
    store_dir.keep_candidate(2, schema_of(stats(frame(cash=1.0))), ["tips"])
    assert accept(pipe, store, root, 2, reason="new export") == (
        "drift",
        "span 1",
        "span 2, by tfxd schema accept",
    )
    [done] = acceptances(store, "taxi")
    assert (done.node, done.span, done.reason) == ("drift", 2, "new export")
    assert store_dir.accepted()[1].empty == ["tips"]
    assert show(pipe, root)[0].startswith("drift: accepted schema from span 2, by tfxd schema")

    store_dir.accept(first, Origin("imported", "imported"))
    with pytest.raises(TfxdError, match="checks spans against an imported schema: change that"):
        accept(pipe, store, root, 2)


def test_unknown_feature_names_are_spec_errors(taxi_copy):
    from tfxd.errors import PipelineFileError
    from tfxd.pipelines.pipeline import validate_file

    text = taxi_copy.read_text()
    text = text.replace("fare: {jensen_shannon: 0.2}", "fair: {jensen_shannon: 0.2}")
    text = text.replace("skip: [trip_start_timestamp,", "skip: [trip_start_timestmp,")
    taxi_copy.write_text(text)
    with pytest.raises(PipelineFileError) as caught:
        validate_file(taxi_copy)
    message = str(caught.value)
    assert "no feature 'fair' in the data of 'examples'" in message
    assert "did you mean 'fare'?" in message
    assert "did you mean 'trip_start_timestamp'?" in message


def test_after_orders_without_data_on_every_target(taxi_copy, tmp_path):
    import yaml

    from tfxd.errors import PipelineFileError
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.kubeflow import compile_text

    pipe = validate_file(taxi_copy)
    assert pipe.nodes["train"].after == ["drift"]
    assert pipe.order.index("drift") < pipe.order.index("train")
    spec = next(iter(yaml.safe_load_all(compile_text(pipe)[0])))
    assert "drift" in spec["root"]["dag"]["tasks"]["train"]["dependentTasks"]
    taxi_copy.write_text(taxi_copy.read_text().replace("after: [drift]", "after: [drfit]"))
    with pytest.raises(PipelineFileError, match="'after' of 'train' names unknown node 'drfit'"):
        validate_file(taxi_copy)


# ------------------------------------------------------------------ serving baseline and skew


def lineage_store(tmp_path: Path, spans_pushed: list[tuple[int, bool]]):
    """A real SQLite MLMD holding, per (span, pushed): Examples → Trainer → Model → Pusher →
    PushedModel, as TFX records them."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "metadata.db")
    store = metadata_store.MetadataStore(config)
    types = {
        n: store.put_artifact_type(mlmd.ArtifactType(name=n))
        for n in ("Examples", "Model", "PushedModel")
    }
    trainer = store.put_execution_type(mlmd.ExecutionType(name="Trainer"))
    pusher = store.put_execution_type(mlmd.ExecutionType(name="Pusher"))
    ctx_type = store.put_context_type(mlmd.ContextType(name="pipeline"))
    [ctx_id] = store.put_contexts([mlmd.Context(type_id=ctx_type, name="taxi")])
    [context] = store.get_contexts_by_id([ctx_id])

    def artifact(kind: str, **custom: int):
        a = mlmd.Artifact(type_id=types[kind], uri=f"/{kind}")
        for key, value in custom.items():
            a.custom_properties[key].int_value = value
        return a

    def step(kind: int, inputs: list, outputs: list) -> None:
        pairs = [(a, mlmd.Event(type=mlmd.Event.INPUT)) for a in inputs]
        pairs += [(a, mlmd.Event(type=mlmd.Event.OUTPUT)) for a in outputs]
        _, ids, _ = store.put_execution(mlmd.Execution(type_id=kind), pairs, [context])
        for a, new_id in zip([a for a, _ in pairs], ids, strict=True):
            a.id = new_id

    for span, pushed in spans_pushed:
        examples, model = artifact("Examples", span=span), artifact("Model")
        step(trainer, [], [examples])  # (its producer does not matter here)
        step(trainer, [examples], [model])
        step(pusher, [model], [artifact("PushedModel", pushed=int(pushed))])
    return store, {"sqlite": str(tmp_path / "metadata.db")}


def test_serving_span_traces_the_newest_pushed_model(tmp_path):
    from tfxd.infra.drift import serving_span

    store, _ = lineage_store(tmp_path, [(1, True), (2, True), (3, False)])
    assert serving_span(store, "taxi") == 2  # span 3's model was not pushed (not blessed)
    assert serving_span(store, "other") is None


def test_serving_baseline_and_skew_in_the_executor(tmp_path):
    from tfx.dsl.components.base import base_executor
    from tfx.types import standard_artifacts

    from tfxd.components.drift_validator.executor import Executor
    from tfxd.components.reports.artifacts import MarkdownReport

    _, reference = lineage_store(tmp_path, [(1, True)])
    history = History(str(tmp_path / "history"))
    history.add(1, stats(frame()))
    examples, statistics, schema = artifacts(tmp_path, frame(), 2)
    _, served, _ = artifacts(tmp_path, frame(fare_scale=3), 9)  # serving logs, shifted
    report = MarkdownReport()
    report.uri = str(tmp_path / "report" / "value")
    config = {
        "baseline": "serving",
        "metadata": reference,
        "pipeline": "taxi",
        "last_spans": 1,
        "on_drift": "fail",
        "categorical": 0.1,
        "numeric": 0.1,
        "features": {},
        "skip": [],
    }
    executor = Executor(base_executor.BaseExecutor.Context(executor_output_uri=None))
    with pytest.raises(DriftError) as caught:
        executor.Do(
            {
                "examples": [examples],
                "statistics": [statistics],
                "schema": [schema],
                "serving_statistics": [served],
            },
            {"report": [report]},
            {"config": json.dumps(config), "history": str(tmp_path / "history"), "split": "train"},
        )
    message = str(caught.value)
    assert message.startswith("span 2 drifted from span(s) 1: serving skew fare")
    assert "Train/serving skew" in Path(report.uri).read_text()
    assert isinstance(served, standard_artifacts.ExampleStatistics)


def test_a_gap_in_a_column_the_accepted_schema_requires_is_a_break(tmp_path):
    """An inferred shape [1] (a value in every row of span 1) makes models parse the column as
    required: a later span with a gap would crash them (TFMA on the serving model, the server).
    Unless the policy lets it become optional (the default) where that shape was inferred."""
    from tfxd.infra.schema_store import SchemaStore

    run_executor(tmp_path, frame(), 1)
    gap = frame().astype({"payment_type": object})
    gap.loc[:1, "payment_type"] = None
    off = {"types": True, "domains": True, "optional": False}
    out, _ = run_executor(tmp_path, gap, 2, evolve=off)
    assert out.execution_result.code == 9
    assert verdict_of(out).schema_breaks == {
        "payment_type": "payment_type: a value in every row in the accepted schema (span 1: "
        "shape [1], so models built on it parse the column as required), none in 2 row(s) of "
        "span 2 (SchemaGen's infer_feature_shape: false keeps columns optional)"
    }
    # By default an inferred required column with gaps becomes optional, recorded as such.
    out, _ = run_executor(tmp_path, gap, 2)
    assert out.execution_result.code == 0
    verdict = Verdict.from_json(out.execution_properties["tfxd_drift"].string_value)
    assert verdict.schema_evolved == {
        "payment_type": "payment_type: optional from span 2 (no value in 2 row(s); it had one "
        "in every row of span 1)"
    }
    [feature] = [f for f in SchemaStore(str(tmp_path / "history")).accepted()[0].feature
                 if f.name == "payment_type"]  # fmt: skip
    assert not feature.shape.dim
    # An imported (curated) schema's required column never evolves.
    curated = tmp_path / "curated"
    curated.mkdir()
    required = IMPORTED.replace(
        'domain: "payment_type" }', 'domain: "payment_type" shape { dim { size: 1 } } }'
    )
    out, _ = run_executor(curated, gap.assign(community=1), 1, imported=required)
    assert out.execution_result.code == 9 and "payment_type" in verdict_of(out).schema_breaks
