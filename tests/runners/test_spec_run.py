"""``tfxd run-spec`` on hand-written PipelineSpecs whose tasks run a small Python entrypoint."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from tfxd.errors import TfxdError
from tfxd.runners.cel import CelError, evaluate
from tfxd.runners.spec_run import run_spec

FAKE_IMAGE = Path(__file__).parent / "fake_image"
EXAMPLES = "title: tfx.Examples\ntype: object\n"


def component(inputs: list[str], params: list[str], executor: str = "exec-ok") -> dict:
    body: dict[str, Any] = {
        "executorLabel": executor,
        "outputDefinitions": {
            "artifacts": {"out": {"artifactType": {"instanceSchema": EXAMPLES}}},
            "parameters": {"echo": {"parameterType": "STRING"}},
        },
    }
    definitions: dict[str, Any] = {}
    if inputs:
        definitions["artifacts"] = {
            k: {"artifactType": {"instanceSchema": EXAMPLES}} for k in inputs
        }
    if params:
        definitions["parameters"] = {k: {"parameterType": "STRING"} for k in params}
    if definitions:
        body["inputDefinitions"] = definitions
    return body


def artifact_from(task: str) -> dict:
    return {"taskOutputArtifact": {"producerTask": task, "outputArtifactKey": "out"}}


def toy_spec(root: Path) -> dict:
    """a(greeting, const) → b(a.out) ; c runs only if a's output is large → d(c.out) ; e(a.echo)."""
    executor = {
        "container": {
            "image": "fake:latest",
            "command": ["python", "-m", "fake_task"],
            "args": ["ok", "{{$}}"],
        }
    }
    return {
        "pipelineInfo": {"name": "toy"},
        "schemaVersion": "2.1.0",
        "sdkVersion": "test",
        "defaultPipelineRoot": str(root),
        "deploymentSpec": {
            "executors": {
                "exec-ok": executor,
                "exec-fail": {"container": {**executor["container"], "args": ["fail", "{{$}}"]}},
            }
        },
        "components": {
            "comp-a": component([], ["greeting", "size"]),
            "comp-b": component(["src"], []),
            "comp-c": component(["src"], []),
            "comp-d": component(["src"], []),
            "comp-e": component([], ["said"]),
        },
        "root": {
            "inputDefinitions": {
                "parameters": {
                    "greeting": {"parameterType": "STRING", "defaultValue": "/app/data/hello"}
                }
            },
            "dag": {
                "tasks": {
                    "a": {
                        "componentRef": {"name": "comp-a"},
                        "taskInfo": {"name": "a"},
                        "inputs": {
                            "parameters": {
                                "greeting": {"componentInputParameter": "greeting"},
                                "size": {"runtimeValue": {"constant": "small"}},
                            }
                        },
                    },
                    "b": {
                        "componentRef": {"name": "comp-b"},
                        "taskInfo": {"name": "b"},
                        "dependentTasks": ["a"],
                        "inputs": {"artifacts": {"src": artifact_from("a")}},
                    },
                    "c": {
                        "componentRef": {"name": "comp-c"},
                        "taskInfo": {"name": "c"},
                        "dependentTasks": ["a"],
                        "inputs": {"artifacts": {"src": artifact_from("a")}},
                        "triggerPolicy": {
                            "condition": "(inputs.artifacts['src'].artifacts[0].metadata['n'] "
                            "> 1000.0)"
                        },
                    },
                    "d": {
                        "componentRef": {"name": "comp-d"},
                        "taskInfo": {"name": "d"},
                        "dependentTasks": ["c"],
                        "inputs": {"artifacts": {"src": artifact_from("c")}},
                    },
                    "e": {
                        "componentRef": {"name": "comp-e"},
                        "taskInfo": {"name": "e"},
                        "inputs": {
                            "parameters": {
                                "said": {
                                    "taskOutputParameter": {
                                        "producerTask": "a",
                                        "outputParameterKey": "echo",
                                    }
                                }
                            }
                        },
                    },
                }
            },
        },
    }


def write(spec: dict, path: Path, platform: dict | None = None) -> Path:
    path.write_text(yaml.safe_dump_all([spec, *([platform] if platform else [])]))
    return path


def run(path: Path, **kwargs: Any):
    kwargs.setdefault("mounts", {"/app": str(FAKE_IMAGE)})
    return run_spec(path, console=Console(width=200, record=True), **kwargs)


def statuses(result) -> dict[str, str]:
    return {t.name: t.status for t in result.steps}


def data(result, task: str) -> str:
    return (Path(result.root) / result.run_id / task / "out" / "data.txt").read_text()


def test_runs_in_order_passing_parameters_artifacts_and_conditions(tmp_path):
    path = write(toy_spec(tmp_path / "root"), tmp_path / "toy.yaml")
    result = run(path, params={"greeting": "hi"})
    assert result.ok
    assert statuses(result) == {
        "a": "done",
        "b": "done",
        "c": "skipped",  # a's output is small, so c's condition is false ...
        "d": "skipped",  # ... and d, downstream of c, cannot run either
        "e": "done",
    }
    assert data(result, "a") == "greeting=hi,size=small;"
    assert data(result, "b") == ";src<greeting=hi,size=small;>"
    assert data(result, "e") == "said=greeting=hi,size=small;"
    executor_input = json.loads(
        (Path(result.root) / result.run_id / "b" / "executor_input.json").read_text()
    )
    [src] = executor_input["inputs"]["artifacts"]["src"]["artifacts"]
    assert src["metadata"] == {"n": len("greeting=hi,size=small;")}
    assert src["type"]["instanceSchema"] == EXAMPLES


def test_mount_rewrites_image_paths_in_parameters(tmp_path):
    path = write(toy_spec(tmp_path / "root"), tmp_path / "toy.yaml")
    result = run(path)
    assert data(result, "a") == f"greeting={FAKE_IMAGE}/data/hello,size=small;"


def test_true_condition_runs_the_branch(tmp_path):
    spec = toy_spec(tmp_path / "root")
    spec["root"]["dag"]["tasks"]["c"]["triggerPolicy"]["condition"] = (
        "!(inputs.artifacts['src'].artifacts[0].metadata['n'] > 1000.0) && "
        "inputs.artifacts['src'].artifacts[0].uri != ''"
    )
    result = run(write(spec, tmp_path / "toy.yaml"))
    assert statuses(result)["c"] == "done" and statuses(result)["d"] == "done"


def test_failure_stops_the_run_and_a_rerun_resumes(tmp_path):
    spec = toy_spec(tmp_path / "root")
    spec["components"]["comp-b"]["executorLabel"] = "exec-fail"
    path = write(spec, tmp_path / "toy.yaml")
    first = run(path, run_id="r1")
    assert not first.ok
    states = statuses(first)
    assert states["a"] == "done" and states["b"] == "failed"
    assert "fake task failing on purpose" in next(t for t in first.steps if t.name == "b").error
    assert {states["d"], states["e"]} == {"not run"}
    spec["components"]["comp-b"]["executorLabel"] = "exec-ok"
    second = run(write(spec, path), run_id="r1")
    assert second.ok
    assert statuses(second) == {
        "a": "resumed",
        "b": "done",
        "c": "skipped",
        "d": "skipped",
        "e": "done",
    }


def test_parameter_errors(tmp_path):
    spec = toy_spec(tmp_path / "root")
    path = write(spec, tmp_path / "toy.yaml")
    with pytest.raises(TfxdError, match=r"--param colour: .* declares no such pipeline parameter"):
        run(path, params={"colour": "red"})
    del spec["root"]["inputDefinitions"]["parameters"]["greeting"]["defaultValue"]
    with pytest.raises(TfxdError, match="'greeting' has no default: pass --param greeting=VALUE"):
        run(write(spec, path))


def test_remote_root_needs_a_local_one(tmp_path):
    spec = toy_spec(tmp_path / "root")
    spec["defaultPipelineRoot"] = "s3://bucket/root"
    with pytest.raises(TfxdError, match="s3://bucket/root is not a local folder: pass --root"):
        run(write(spec, tmp_path / "toy.yaml"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s["root"]["dag"]["tasks"]["b"].update(
                {"parameterIterator": {"itemInput": "x", "items": {"raw": "[1]"}}}
            ),
            "task 'b': an iterator",
        ),
        (
            lambda s: s["root"]["dag"]["tasks"]["b"].update(
                {"triggerPolicy": {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}}
            ),
            "task 'b': an exit handler",
        ),
        (
            lambda s: s["deploymentSpec"]["executors"].update(
                {"exec-ok": {"importer": {"artifactUri": {"constant": "gs://x"}}}}
            ),
            r"task 'a': a non-container executor \(importer\)",
        ),
        (
            lambda s: s["deploymentSpec"]["executors"]["exec-ok"]["container"].update(
                {"command": ["java", "-jar", "x.jar"]}
            ),
            "task 'a': a command that is not Python",
        ),
        (
            lambda s: s["deploymentSpec"]["executors"]["exec-ok"]["container"].update(
                {"args": ["{{$.inputs.parameters['greeting']}}"]}
            ),
            "task 'a': the placeholder",
        ),
        (
            lambda s: s["components"].update({"comp-b": {"dag": {"tasks": {}}}}),
            "task 'b': a sub-DAG",
        ),
    ],
)
def test_refuses_what_it_cannot_execute_by_task_name(tmp_path, change, message):
    spec = copy.deepcopy(toy_spec(tmp_path / "root"))
    change(spec)
    with pytest.raises(TfxdError, match=message):
        run(write(spec, tmp_path / "toy.yaml"))
    assert not (tmp_path / "root").exists(), "nothing runs before the whole spec is checked"


def test_rejects_what_is_not_a_bare_pipeline_spec(tmp_path):
    job = {"displayName": "toy", "pipelineSpec": toy_spec(tmp_path)}
    with pytest.raises(TfxdError, match="not a bare PipelineSpec"):
        run(write(job, tmp_path / "job.yaml"))


def test_secret_env_vars_come_from_this_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TOY_TOKEN", raising=False)
    platform = {
        "platforms": {
            "kubernetes": {
                "deploymentSpec": {
                    "executors": {
                        "exec-ok": {
                            "secretAsEnv": [
                                {
                                    "secretName": "toy",
                                    "keyToEnv": [{"secretKey": "t", "envVar": "TOY_TOKEN"}],
                                }
                            ]
                        }
                    }
                }
            }
        }
    }
    path = write(toy_spec(tmp_path / "root"), tmp_path / "toy.yaml", platform)
    console = Console(width=200, record=True)
    result = run_spec(path, mounts={"/app": str(FAKE_IMAGE)}, console=console)
    assert result.ok
    assert "lacks TOY_TOKEN" in console.export_text()


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("(inputs.artifacts['m'].artifacts[0].metadata['blessed'] == 1.0)", True),
        ("!((inputs.artifacts['m'].artifacts[0].metadata['blessed'] == 1.0))", False),
        ("(inputs.artifacts['m'].artifacts[0].metadata['blessed'] < 1.0) || true", True),
        ("(inputs.artifacts['m'].artifacts[0].uri + '/x') == '/m/x'", True),
        ("inputs.artifacts['m'].artifacts[0].metadata['name'] == 'a'", True),
    ],
)
def test_cel_subset(condition, expected):
    inputs = {
        "artifacts": {"m": {"artifacts": [{"uri": "/m", "metadata": {"blessed": 1, "name": "a"}}]}}
    }
    assert evaluate(condition, inputs) is expected


def test_cel_errors():
    inputs = {"artifacts": {"m": {"artifacts": [{"metadata": {}}]}}}
    with pytest.raises(CelError, match="no 'blessed'"):
        evaluate("inputs.artifacts['m'].artifacts[0].metadata['blessed'] == 1.0", inputs)
    with pytest.raises(CelError, match="unknown name 'size'"):
        evaluate("size(inputs.artifacts) == 1", inputs)
