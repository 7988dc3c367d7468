"""Experiments through the CLI on a small pipeline whose module imports a helper and asks for a
seed, with its ML Metadata on a real MariaDB server: two runs with different parameters, the runs
table, `--compare` and `lineage`, `tfxd reproduce` of the first run (data outputs byte-identical,
the recorded seed given back: the module writes it into the transformed examples), its refusal
once the helper changed, and a server that is down or refuses the login."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import tfxd
from tests.servers.process import missing
from tests.servers.sql import PASSWORD, mariadb_bin, mariadb_server

# three pipeline runs, each a fresh CLI process (~2.5 min)
pytestmark = [pytest.mark.slow, pytest.mark.heavy]

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: exp}
spec:
  root: runs
  metadata:
    mysql:
      host: 127.0.0.1
      port: PORT
      database: tfxd
      user_env: MLMD_USER
      password_env: MLMD_PASSWORD
  parameters: {infer: false}
  components:
    examples: {type: CsvExampleGen, with: {input_base: data}}
    stats: {type: StatisticsGen, inputs: {examples: examples.examples}}
    schema:
      type: SchemaGen
      inputs: {statistics: stats.statistics}
      with: {infer_feature_shape: "${{ parameters.infer }}"}
    transform:
      type: Transform
      inputs: {examples: examples.examples, schema: schema.schema}
      with: {module_file: code/prep.py}
"""

PREP = """\
import tensorflow as tf
from helpers import double

from tfxd.seeds import seed


def preprocessing_fn(inputs):
    x = inputs["x"]
    rows = x.dense_shape[0] if isinstance(x, tf.SparseTensor) else tf.shape(x)[0]
    return {"x2": double(x), "seed": tf.fill([rows, 1], tf.constant(seed("transform"), tf.int64))}
"""
ENV = {"MLMD_USER": "tfxd", "MLMD_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def mariadb_port():
    if mariadb_bin() is None:
        missing("MariaDB", "bash scripts/test-servers.sh installs it")
    with mariadb_server() as url:
        yield int(re.search(r":(\d+)/", url).group(1))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``tfxd`` in a fresh process, as users run it (the module, its helper and its seed are
    imported anew each run)."""
    env = {**os.environ, **ENV, "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-m", "tfxd.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def make(folder: Path, port: int) -> Path:
    (folder / "data").mkdir(parents=True)
    rows = "".join(f"{i},{(i * 37) % 11}\n" for i in range(60))
    (folder / "data" / "part-1.csv").write_text("x,y\n" + rows)
    (folder / "data" / "part-2.csv").write_text("x,y\n" + rows[: len(rows) // 2])
    (folder / "code").mkdir()
    (folder / "code" / "prep.py").write_text(PREP)
    (folder / "code" / "helpers.py").write_text("def double(x):\n    return x * 2\n")
    (folder / "pipeline.yaml").write_text(PIPELINE.replace("PORT", str(port)))
    return folder / "pipeline.yaml"


def test_compare_lineage_and_reproduce_a_run(tmp_path, mariadb_port, monkeypatch):
    from ml_metadata import metadata_store

    from tfxd.infra.mlmd_reference import connection_from_reference
    from tfxd.mlmd.records import read_record
    from tfxd.mlmd.views import list_runs

    path = make(tmp_path, mariadb_port)
    first = cli("run", str(path), cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    second = cli("run", str(path), "--param", "infer=true", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr

    table = tfxd("runs", "exp", "-f", str(path), cwd=tmp_path, env=ENV)
    assert table.returncode == 0, table.stderr
    assert re.search(r"┃ infer\s*┃", table.stdout)  # the parameter that differs is a column
    rows = [line for line in table.stdout.splitlines() if re.match(r"│ [12] ", line)]
    assert [re.search(r"(true|false)", row).group(1) for row in rows] == ["true", "false"]

    compared = tfxd("runs", "exp", "-f", str(path), "--compare", "2", "1", cwd=tmp_path, env=ENV)
    assert compared.returncode == 0, compared.stderr
    text = compared.stdout
    assert "infer: false → true" in text
    nodes = text.split("\nnodes\n")[1]
    assert "examples: ran → cached" in nodes and "schema" not in nodes  # schema ran in both
    assert re.search(r"\nseeds\n  transform: \d+ → \d+", text)  # each run drew its own
    lineage = tfxd("lineage", "exp", "--model", "latest", "-f", str(path), cwd=tmp_path, env=ENV)
    assert "pipeline 'exp' has no Model artifact yet" in lineage.stderr  # read from MariaDB

    done = cli("reproduce", "exp", "2", "-f", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for output in ("examples.examples", "stats.statistics", "schema.schema"):
        assert re.search(rf"same\s+{re.escape(output)} \(", done.stdout), (output, done.stdout)
    # The module wrote its seed into every example: identical only with the recorded seed.
    assert re.search(r"same\s+transform.transformed_examples \(Examples\)", done.stdout)
    assert "reproduced: run" in done.stdout
    where = Path(re.search(r"reproducing run \S+ of 'exp' in (\S+)", done.stdout).group(1))
    assert where.is_relative_to(tmp_path / "runs" / "reproduce")

    ref = {"mysql": {"host": "127.0.0.1", "port": mariadb_port, "database": "tfxd"}}
    ref["mysql"].update(user_env="MLMD_USER", password_env="MLMD_PASSWORD")
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    original = list_runs(metadata_store.MetadataStore(connection_from_reference(ref)), "exp")[-1]
    fresh = connection_from_reference({"sqlite": str(where / "root" / "metadata.db")})
    [again] = list_runs(metadata_store.MetadataStore(fresh), "exp")
    assert original.seeds and again.seeds == original.seeds
    record = read_record(metadata_store.MetadataStore(fresh), "exp", again.run_id)
    assert record.reproduces == original.run_id and record.parameters == {"infer": False}

    (tmp_path / "code" / "helpers.py").write_text("def double(x):\n    return x * 3\n")
    refused = tfxd("reproduce", "exp", original.run_id, "-f", str(path), cwd=tmp_path, env=ENV)
    assert refused.returncode != 0
    message = refused.stdout + refused.stderr
    assert "1 difference(s) from its record" in message
    assert "code: code/helpers.py changed:" in message and "+    return x * 3" in message
    assert "pass --allow code (or the names) to reproduce anyway" in message

    unknown = tfxd("reproduce", "exp", "zzz", "-f", str(path), cwd=tmp_path, env=ENV)
    assert "no run 'zzz' of pipeline 'exp' in ML Metadata: see tfxd runs exp" in unknown.stderr

    wrong = tfxd("runs", "exp", "-f", str(path), cwd=tmp_path, env={"MLMD_PASSWORD": "nope"})
    assert (
        f"the server at 127.0.0.1:{mariadb_port} refused the login of the user in $MLMD_USER "
        "with the password in $MLMD_PASSWORD" in wrong.stderr
    )
    assert "nope" not in wrong.stderr and PASSWORD not in wrong.stderr
    from tests.servers.process import free_port

    down = path.read_text().replace(f"port: {mariadb_port}", f"port: {free_port()}")
    (tmp_path / "down.yaml").write_text(down)
    refused = tfxd("run", "down.yaml", cwd=tmp_path, env=ENV)
    assert "spec.metadata.mysql: no MySQL server answers at 127.0.0.1:" in refused.stderr
