"""skaffold.yaml, Dockerfile and the example agree with each other (checked structurally: no Docker
engine or skaffold binary runs here)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import PENGUIN, REPO
from tfxd.file import load


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
    image = load(PENGUIN / "pipeline.yaml").checked().body.runners.kubeflow.image
    assert image.split(":")[0] == artifact["image"]


def test_dockerfile_installs_tfxd_and_pipelines_where_the_compiler_expects():
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.10", text, re.M)
    assert "-c constraints.txt" in text
    assert re.search(r"^COPY pipelines \./pipelines$", text, re.M)
    assert re.search(r"^WORKDIR /tfxd$", text, re.M)
    assert "PYTHONPATH=/tfxd" in text
    kfp = load(PENGUIN / "pipeline.yaml").checked().body.runners.kubeflow
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

    from tfxd import cli
    from tfxd.cli_parser import parser

    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    commands = [line.split("#")[0].strip() for line in lines if line.startswith("tfxd ")]
    assert len(commands) >= 10
    for command in commands:
        args = shlex.split(command.rstrip("\\").strip())[1:]
        parsed = parser().parse_args(args)  # exits (fails the test) on an unknown command or flag
        assert callable(getattr(cli, "cmd_" + parsed.command.replace("-", "_"))), command


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


HOLE = "\x00"


def _message_pieces() -> list[str]:
    """The literal text of every string in the package, cut where a value goes in."""
    import ast

    pieces = []
    for path in (REPO / "tfxd").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                parts = [v.value if isinstance(v, ast.Constant) else HOLE for v in node.values]
                text = "".join(parts)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            pieces += _unquote(text).split(HOLE)
    return [p for p in pieces if p.strip()]


def _unquote(text: str) -> str:
    return text.replace(f"'{HOLE}'", HOLE).replace(f'"{HOLE}"', HOLE)


def _covered(piece: str, source: list[str]) -> bool:
    """Whether ``piece`` is source text: inside one string, or joined from the end of one, whole
    strings and the start of another (a message built from parts)."""
    if any(piece in s for s in source):
        return True
    ends = {len(piece[:j]) for j in range(3, len(piece)) for s in source if s.endswith(piece[:j])}
    seen = set()
    while ends:
        j = ends.pop()
        seen.add(j)
        rest = piece[j:]
        if any(s.startswith(rest) for s in source):
            return True
        ends |= {j + len(s) for s in source if len(s) >= 3 and rest.startswith(s)} - seen
    return False


def test_the_error_catalogue_quotes_the_messages_the_code_makes():
    """docs/errors.md: each message's text outside `{…}` (a value) and `…` (left out) is text
    the package writes, so a message reworded in the code fails here until the page follows."""
    source = _message_pieces()
    rows = [
        line
        for line in (REPO / "docs" / "errors.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith("| problem")
    ]
    assert len(rows) >= 35
    stale = []
    for row in rows:
        for fragment in re.findall(r"`([^`]+)`", row.split(" | ", 1)[1]):
            text = _unquote(re.sub(r"\{[^}]*\}", HOLE, fragment.replace("\\|", "|")))
            for piece in re.split(f"{HOLE}|…", text):
                piece = piece.strip(" :;,.()")
                if len(piece) >= 4 and not _covered(piece, source):
                    stale.append(f"{row.split(' | ')[0]} | {piece!r}")
    assert not stale, "docs/errors.md quotes text the code does not write:\n" + "\n".join(stale)


def test_no_module_is_over_400_lines():
    long = [
        f"{path.relative_to(REPO)}: {n}"
        for path in sorted((REPO / "tfxd").rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert not long, "split these by what they do:\n" + "\n".join(long)
