"""The catalogue: every type declared in its own folder, and no generic layer switching on a
type's name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tfxd.components.catalogue import registry

PACKAGE = Path(__file__).parents[2] / "tfxd"


def owner(type_name: str) -> Path:
    """The folder that declares the type: where its builder lives, beside its params.py."""
    module = registry()[type_name].build.partition(":")[0]
    return (PACKAGE.parent / module.replace(".", "/")).with_suffix(".py").parent


def test_type_names_appear_as_values_only_in_their_own_folder():
    names = set(registry())
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                if owner(node.value) not in path.parents:
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.value!r}")
    assert not found, "a generic layer names a component type; ask a capability:\n" + "\n".join(
        found
    )


def test_every_type_has_its_folder_parts_and_builds_by_reference():
    for name, component_type in registry().items():
        folder = owner(name)
        assert (folder / "params.py").is_file() and (folder / "build.py").is_file(), name
        if folder.name != "standard":  # TFX's own components: their executors are TFX's
            for part in ("component.py", "executor.py", "README.md"):
                assert (folder / part).is_file(), f"{name}: {folder.name}/{part}"
        module, _, attr = component_type.build.partition(":")
        assert module.startswith("tfxd.components.") and attr, component_type.build
        assert component_type.component.count(":") == 1, component_type.component


def test_declared_inputs_and_outputs_are_tfxs_spec_class():
    for name, component_type in registry().items():
        spec = component_type.component_class().SPEC_CLASS
        inputs = {k: (v.type.TYPE_NAME, bool(v.optional)) for k, v in spec.INPUTS.items()}
        outputs = {k: v.type.TYPE_NAME for k, v in spec.OUTPUTS.items()}
        assert component_type.inputs() == inputs, name
        assert component_type.outputs() == outputs, name


VENDOR = ("boto3", "botocore", "google.cloud", "kafka", "sqlalchemy", "psycopg2", "pymysql")


def test_a_service_client_is_imported_only_in_the_folders_service_module():
    found = []
    for path in sorted((PACKAGE / "components").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith(VENDOR) and path.name != "service.py":
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}")
    assert not found, "vendor I/O belongs in the folder's service.py:\n" + "\n".join(found)
    talking = [p.parent.name for p in (PACKAGE / "components").rglob("service.py")]
    assert sorted(talking) == sorted(
        f"{kind}_example_gen" for kind in ("s3", "sql", "bigquery", "pubsub", "kafka")
    )


def test_the_catalogue_imports_no_tensorflow():
    code = (
        "import sys; from tfxd.components.catalogue import registry; registry(); "
        "print(sorted(m for m in ('tensorflow', 'tfx', 'apache_beam') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_validate_and_plan_import_no_tensorflow_tfx_or_beam():
    """`tfxd validate` and `tfxd plan` read a pipeline from the catalogue's declarations alone."""
    code = (
        "import sys; from tfxd.cli import main; "
        "rc = main(['validate', 'pipelines/penguin-pubsub/pipeline.yaml']) "
        "or main(['plan', 'pipelines/penguin-pubsub/pipeline.yaml']); "
        "print(rc, sorted(m for m in ('tensorflow', 'tfx', 'apache_beam') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stdout


def test_the_reference_in_docs_is_generated_from_the_params_models():
    from tfxd.components.reference import render

    path = PACKAGE.parent / "docs" / "reference.md"
    current = path.read_text(encoding="utf-8")
    assert current == render(current), (
        "docs/reference.md is stale: run tfxd reference -o docs/reference.md"
    )
