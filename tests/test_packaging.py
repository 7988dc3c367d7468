"""skaffold.yaml, Dockerfile and the example agree with each other (checked structurally: no Docker
engine or skaffold binary runs here)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import PENGUIN, REPO
from tfxd.spec import load


def test_skaffold_builds_the_image_the_example_names():
    config = yaml.safe_load((REPO / "skaffold.yaml").read_text())
    assert re.fullmatch(r"skaffold/v4(beta\d+)?", config["apiVersion"])
    assert config["kind"] == "Config"
    assert set(config) <= {
        "apiVersion",
        "kind",
        "metadata",
        "build",
        "manifests",
        "deploy",
        "profiles",
        "test",
        "portForward",
        "requires",
        "verify",
        "customActions",
    }
    [artifact] = config["build"]["artifacts"]
    assert set(artifact) <= {"image", "context", "docker", "sync", "requires", "hooks", "platforms"}
    dockerfile = REPO / artifact.get("context", ".") / artifact["docker"]["dockerfile"]
    assert dockerfile.is_file()
    image = load(PENGUIN / "pipeline.yaml").checked().spec.runners.kubeflow.image
    assert image.split(":")[0] == artifact["image"]


def test_dockerfile_installs_tfxd_and_pipelines_where_the_compiler_expects():
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.10", text, re.M)
    assert "-c constraints.txt" in text
    assert re.search(r"^COPY pipelines \./pipelines$", text, re.M)
    assert re.search(r"^WORKDIR /tfxd$", text, re.M)
    assert "PYTHONPATH=/tfxd" in text
    kfp = load(PENGUIN / "pipeline.yaml").checked().spec.runners.kubeflow
    assert (
        kfp.python_path == "/tfxd" and kfp.pipeline_dir is None
    )  # default /tfxd/pipelines/penguin


def test_readme_opens_with_the_two_commands():
    lines = (REPO / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```")]
    assert [line.split("#")[0].strip() for line in block] == [
        "bash scripts/run-example.sh",
        "bash scripts/test.sh",
    ]
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_every_tfxd_command_in_the_readme_parses():
    import shlex

    from tfxd.cli import parser

    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    commands = [line.split("#")[0].strip() for line in lines if line.startswith("tfxd ")]
    assert len(commands) >= 10
    for command in commands:
        args = shlex.split(command.rstrip("\\").strip())[1:]
        parsed = parser().parse_args(args)  # exits (fails the test) on an unknown command or flag
        assert parsed.func is not None, command


@pytest.mark.parametrize(
    "spec", sorted((REPO / "pipelines").glob("*/pipeline.yaml")), ids=lambda p: p.parent.name
)
def test_every_example_pipeline_validates_and_compiles_for_kubeflow(spec, tmp_path):
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.kubeflow import compile_kubeflow

    (spec.parent / "data").mkdir(exist_ok=True)  # written by `tfxd example`, not committed
    compile_kubeflow(validate_file(spec), tmp_path / "spec.yaml")
    assert (tmp_path / "spec.yaml").stat().st_size > 1000


def test_every_relative_link_in_the_docs_resolves():
    pages = [REPO / "README.md", *(REPO / "docs").glob("*.md")]
    pages += (REPO / "tfxd" / "components").glob("*/README.md")
    broken = [
        f"{page.relative_to(REPO)}: {target}"
        for page in pages
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text(encoding="utf-8"))
        if not re.match(r"https?:|mailto:", target) and not (page.parent / target).exists()
    ]
    assert not broken, broken


def test_the_readme_is_a_front_page():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= 10_000
    assert "declarative" in text.split("```")[0].lower()  # what tfxd is, before any command
