"""Metadata views: finding the store from the pipeline file, MySQL credentials by env var name."""

from __future__ import annotations

import pytest

from tests.conftest import PENGUIN
from tfxd.errors import MetadataError, TfxdError
from tfxd.file import load
from tfxd.mlmd.store import connection_config
from tfxd.mlmd.views import find_pipeline_file

MYSQL = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: demo}
spec:
  root: runs
  metadata: {mysql: {host: db.internal, port: 3307, database: mlmd, user_env: MLMD_USER,
             password_env: MLMD_PASSWORD}}
  components:
    stats: {type: StatisticsGen, inputs: {examples: stats.examples}}
"""


def test_mysql_connection_takes_credentials_from_env(tmp_path, monkeypatch):
    path = tmp_path / "p.yaml"
    path.write_text(MYSQL.replace("inputs: {examples: stats.examples}", ""))
    loaded = load(path)
    monkeypatch.delenv("MLMD_USER", raising=False)
    monkeypatch.delenv("MLMD_PASSWORD", raising=False)
    with pytest.raises(MetadataError, match="needs environment variable.*MLMD_USER, MLMD_PASSWORD"):
        connection_config(loaded)
    monkeypatch.setenv("MLMD_USER", "ml")
    monkeypatch.setenv("MLMD_PASSWORD", "pw-from-env")
    config = connection_config(loaded)
    assert (config.mysql.host, config.mysql.port, config.mysql.database) == (
        "db.internal",
        3307,
        "mlmd",
    )
    assert config.mysql.user == "ml" and config.mysql.password == "pw-from-env"
    assert "pw-from-env" not in path.read_text()


def test_sqlite_store_missing_says_run_first(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(MYSQL.split("  metadata:")[0] + "  components:\n    s: {type: X}\n")
    with pytest.raises(MetadataError, match="no ML Metadata at .*run the pipeline first"):
        connection_config(load(path))


def test_find_pipeline_file_by_name(monkeypatch):
    monkeypatch.chdir(PENGUIN.parent.parent)
    assert find_pipeline_file("penguin").path == PENGUIN / "pipeline.yaml"
    with pytest.raises(TfxdError, match="no pipeline file for 'nope'.*-f FILE"):
        find_pipeline_file("nope")
