"""Run records in a real ML Metadata store: what a record holds, how two runs compare, which run a
name picks, and what `tfxd reproduce` refuses, on real files (no pipeline runs here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.runners.test_plan import finished, make, store_at
from tfxd.errors import MetadataError
from tfxd.mlmd.compare import compare, find_run
from tfxd.mlmd.records import METRICS, PACKAGES_TYPE, read_record, write_record
from tfxd.mlmd.views import list_runs
from tfxd.pipelines.code import module_sources
from tfxd.pipelines.pipeline import validate_file
from tfxd.runners.plan import node_keys
from tfxd.runners.recording import compose


def recorded(tmp_path: Path, store, run: str, overrides: dict | None = None):
    """A run of the plan tests' pipeline as the local runner leaves it, with its record."""
    pipe = validate_file(tmp_path / "pipeline.yaml", overrides or {})
    keys = node_keys(pipe, None)
    record = compose(pipe, run, None, "local", keys)
    write_record(store, record)
    ids = finished(store, "planned", keys, run)
    return record, ids


def with_helpers(tmp_path: Path) -> None:
    """model.py imports a helper beside it and one from a package under the pipeline folder."""
    make(tmp_path)
    (tmp_path / "code" / "model.py").write_text(
        "import numpy\nfrom helpers import scale\nfrom common.features import NAMES\n\n"
        "def preprocessing_fn(inputs):\n    return {n: scale(inputs[n]) for n in NAMES}\n"
    )
    (tmp_path / "code" / "helpers.py").write_text("def scale(x):\n    return x * 2\n")
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "__init__.py").write_text("")
    (tmp_path / "common" / "features.py").write_text("from . import units\nNAMES = ['x']\n")
    (tmp_path / "common" / "units.py").write_text("CM = 1\n")
    (tmp_path / "common" / "unused.py").write_text("X = 1\n")


def test_module_sources_follow_local_imports_only(tmp_path):
    with_helpers(tmp_path)
    found = module_sources(tmp_path / "code" / "model.py", tmp_path)
    assert sorted(found) == [
        "code/helpers.py",
        "code/model.py",
        "common/__init__.py",
        "common/features.py",
        "common/units.py",
    ]  # numpy is a package of the run, common/unused.py is not imported
    assert found["code/helpers.py"]["text"].startswith("def scale")
    (tmp_path / "code" / "broken.py").write_text("def (:\n")
    assert list(module_sources(tmp_path / "code" / "broken.py", tmp_path)) == ["code/broken.py"]


def test_a_record_round_trips_and_keeps_packages_once(tmp_path):
    with_helpers(tmp_path)
    store = store_at(tmp_path / "metadata.db")
    first, _ = recorded(tmp_path, store, "r1")
    recorded(tmp_path, store, "r2")
    again = read_record(store, "planned", "r1")
    assert again == first
    assert again.file["text"] == (tmp_path / "pipeline.yaml").read_text()
    assert set(again.modules["code/model.py"]) >= {"code/helpers.py", "common/features.py"}
    assert again.nodes["examples"]["inputs"]["files"]["single_split"]["a.csv"]
    assert again.packages["ml-metadata"]  # what is installed, by name
    assert len(store.get_contexts_by_type(PACKAGES_TYPE)) == 1  # two runs, one list
    first.parameters = {"changed": True}
    write_record(store, first)  # a re-run of a run id keeps the first record
    assert read_record(store, "planned", "r1").parameters == again.parameters
    assert read_record(store, "planned", "r3") is None


def test_compare_names_parameters_code_data_packages_nodes_and_metrics(tmp_path):
    with_helpers(tmp_path)
    text = (tmp_path / "pipeline.yaml").read_text()
    (tmp_path / "pipeline.yaml").write_text(
        text.replace("spec:\n", "spec:\n  parameters: {steps: 10}\n")
    )
    store = store_at(tmp_path / "metadata.db")
    a, ids_a = recorded(tmp_path, store, "r1")
    (tmp_path / "common" / "units.py").write_text("CM = 100\n")
    (tmp_path / "data" / "b.csv").write_text("x,y\n5,6\n")
    b, ids_b = recorded(tmp_path, store, "r2", {"steps": "20"})
    b.packages = {**a.packages, "tensorflow": "9.9.9"}
    for ids, accuracy in ((ids_a, 0.5), (ids_b, 0.75)):
        [execution] = store.get_executions_by_id([ids["transform"]])
        execution.custom_properties[METRICS].string_value = json.dumps({"accuracy": accuracy})
        store.put_executions([execution])
    old, new = sorted(list_runs(store, "planned"), key=lambda r: r.run_id)
    sections = compare(old, new, a, b).sections
    assert sections["parameters"] == ["steps: 10 → 20"]
    code = sections["code"]
    assert code[0] == "common/units.py changed:"
    assert "  -CM = 1" in code and "  +CM = 100" in code
    assert sections["data"] == ["examples: b.csv added"]
    assert sections["packages"] == [f"tensorflow: {a.packages.get('tensorflow')} → 9.9.9"]
    assert sections["metrics"] == ["accuracy: 0.5 → 0.75 (+0.25)"]
    assert "nodes" not in sections  # every node ran in both
    assert compare(old, new, None, b).sections["records"] == [
        "run r1 has no run record: its parameters, code, data and packages are not known"
    ]


def test_runs_are_named_by_number_id_or_unique_beginning(tmp_path):
    make(tmp_path)
    store = store_at(tmp_path / "metadata.db")
    for run in ("2026-01-01T10:00", "2026-01-01T11:00", "2026-01-02T09:00"):
        recorded(tmp_path, store, run)
    finished(store, "other", {"x": {}}, "elsewhere")
    assert find_run(store, "planned", "1").run_id == "2026-01-02T09:00"
    assert find_run(store, "planned", "2026-01-02").run_id == "2026-01-02T09:00"
    with pytest.raises(MetadataError, match=r"run '2026-01-01' is ambiguous \(2026-01-01T10:00"):
        find_run(store, "planned", "2026-01-01")
    with pytest.raises(MetadataError, match="run #7: pipeline 'planned' has 3 run"):
        find_run(store, "planned", "7")
    with pytest.raises(MetadataError, match="no run 'nope' of pipeline 'planned' in ML Metadata"):
        find_run(store, "planned", "nope")
    with pytest.raises(MetadataError, match="run elsewhere is not a run of pipeline 'planned'"):
        find_run(store, "planned", "elsewhere")


def test_seeds_are_shared_by_a_run_and_given_back(tmp_path, monkeypatch):
    from tfxd.seeds import SEEDS_ENV, seed

    path = tmp_path / ".seeds" / "run.json"
    code = "from tfxd.seeds import seed; print(seed('train'))"
    env = {"PATH": "/usr/bin:/bin", SEEDS_ENV: str(path), "PYTHONPATH": str(REPO)}
    drawn = {
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(3)
    }
    assert len(drawn) == 1  # every process of the run gets the same seed
    assert json.loads(path.read_text()) == {"train": int(drawn.pop())}
    path.write_text(json.dumps({"train": 1234}))  # a reproduction's recorded seed
    monkeypatch.setenv(SEEDS_ENV, str(path))
    assert seed("train") == 1234
    seed("other"), seed("third")  # new names draw their own and are kept
    assert set(json.loads(path.read_text())) == {"train", "other", "third"}
    monkeypatch.delenv(SEEDS_ENV)
    assert 0 <= seed("train") < 2**31  # outside a run: a fresh seed, nothing kept


def test_reproduce_refuses_naming_each_difference_unless_allowed(tmp_path):
    from tfxd.runners.reproduce import differences, recorded_pipeline, refused

    with_helpers(tmp_path)
    store = store_at(tmp_path / "metadata.db")
    record, _ = recorded(tmp_path, store, "r1")
    pipe = recorded_pipeline(read_record(store, "planned", "r1"))
    assert differences(record, pipe) == []

    (tmp_path / "common" / "units.py").write_text("CM = 100\n")
    data = tmp_path / "data" / "a.csv"
    stat = data.stat()
    data.write_bytes(b"x,y\n7,8\n")  # other bytes, same size and time
    import os

    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    record.packages = {**record.packages, "tensorflow": "0.0.1"}
    found = differences(record, pipe)
    assert [(d.kind, d.name) for d in found] == [
        ("code", "common/units.py"),
        ("data", "a.csv"),
        ("packages", "tensorflow"),
    ]
    assert found[0].lines[:2] == ["common/units.py changed:", "  --- common/units.py"]
    assert found[1].lines == ["examples: a.csv changed"]
    assert found[2].lines[0].startswith("tensorflow: 0.0.1 → ")
    assert [d.name for d in refused(found, ["code", "tensorflow"])] == ["a.csv"]
    assert refused(found, ["code,data", "packages"]) == []


def test_a_reproduction_writes_only_into_its_own_folder(tmp_path):
    import shutil

    import yaml

    from tfxd.file.load import load_partial
    from tfxd.pipelines.pipeline import check
    from tfxd.runners.reproduce import relocated_text

    for name in ("penguin-pubsub", "penguin"):
        shutil.copytree(
            REPO / "pipelines" / name, tmp_path / name, ignore=shutil.ignore_patterns("runs")
        )
    path = tmp_path / "penguin-pubsub" / "pipeline.yaml"
    text = path.read_text().replace(
        "    push:\n",
        "    baseline: {type: BaselineModel, with: {source: runs/serving}}\n    push:\n",
    )
    path.write_text(text)
    from tfxd.components.baseline_model.serving import resolve
    from tfxd.infra.versions import set_serving

    served = tmp_path / "penguin-pubsub" / "runs" / "serving"
    (served / "penguin" / "17").mkdir(parents=True)
    (served / "penguin" / "17" / "saved_model.pb").write_bytes(b"model 17")
    (served / "penguin" / "18").mkdir(parents=True)  # newer, not the one served
    (served / "penguin" / "18" / "saved_model.pb").write_bytes(b"model 18")
    set_serving(served, "penguin", 17)
    pipe = validate_file(path)
    record = compose(pipe, "r1", None, "local", node_keys(pipe, None))
    assert record.nodes["baseline"]["inputs"] == {"serving": str(served / "penguin" / "17")}
    assert record.nodes["examples"]["inputs"] == {
        "unrecorded": "a stream: what a run drains is acknowledged and gone"
    }
    drained = tmp_path / "drained"
    for split in ("train", "eval"):
        (drained / f"Split-{split}").mkdir(parents=True)
    again = tmp_path / "again"
    moved = relocated_text(record, pipe, again, {"examples": str(drained)})
    body = yaml.safe_load(moved)["spec"]
    assert body["root"] == str(again / "root")
    assert body["metadata"] == {"sqlite": str(again / "root" / "metadata.db")}
    assert body["components"]["push"]["with"]["destination"] == str(again / "serving" / "push")
    copy = again / "baseline" / "baseline"
    assert body["components"]["baseline"]["with"]["source"] == str(copy)
    assert resolve(str(copy)) == str(copy / "penguin" / "17")  # what served then, served
    assert (copy / "penguin" / "17" / "saved_model.pb").read_bytes() == b"model 17"
    assert body["components"]["examples"] == {
        "type": "ImportExampleGen",
        "with": {
            "input_base": str(drained),
            "input_splits": {"eval": "Split-eval/*", "train": "Split-train/*"},
        },
    }
    checked = check(load_partial(path, moved), {})
    assert checked.nodes["transform"].params.module_file == "../penguin/model.py"
