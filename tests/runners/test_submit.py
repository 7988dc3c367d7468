"""``tfxd submit`` with the real ``kfp.Client`` against a recording KFP API server on 127.0.0.1."""

from __future__ import annotations

import json
import socket

import pytest
import yaml
from rich.console import Console

from tests.conftest import PENGUIN
from tests.servers.kfp import KfpServer
from tfxd.cli import main
from tfxd.pipelines.pipeline import validate_file
from tfxd.runners import remote_runs, submit
from tfxd.runners.kubeflow import compile_text
from tfxd.runners.submit import SubmitError


@pytest.fixture(scope="module")
def penguin_text(penguin_data) -> str:
    text, _ = compile_text(validate_file(PENGUIN / "pipeline.yaml"))
    return text


def conn(server: KfpServer, token: str | None = None) -> submit.Connection:
    return submit.Connection(server.url, token, "test")


def test_upload_run_resubmit_new_version_recurring_and_list(penguin_text):
    with KfpServer() as server:
        first = submit.submit(
            conn(server), penguin_text, name="penguin", params={"data_root": "s3://b/penguin"}
        )
        assert first.new_pipeline and first.run_id
        assert server.paths() == [
            "GET /apis/v2beta1/healthz",  # our preflight
            "GET /apis/v2beta1/healthz",  # kfp.Client's constructor
            "GET /apis/v2beta1/pipelines",
            "POST /apis/v2beta1/pipelines/upload",
            "GET /apis/v2beta1/pipelines/pipeline-1/versions",
            "GET /apis/v2beta1/experiments",
            "POST /apis/v2beta1/experiments",
            "POST /apis/v2beta1/runs",
        ]
        upload = server.state.calls[3]
        assert upload["query"]["name"] == "penguin"
        assert upload["files"]["uploadfile"].decode() == penguin_text
        run = server.state.calls[-1]["body"]
        assert run["experiment_id"] == first.experiment_id
        assert run["pipeline_version_reference"] == {
            "pipeline_id": first.pipeline_id,
            "pipeline_version_id": first.version_id,
        }
        assert run["runtime_config"]["parameters"] == {"data_root": "s3://b/penguin"}

        # The same spec again: no new version, the experiment is found, a second run starts.
        again = submit.submit(conn(server), penguin_text, name="penguin")
        assert (again.new_pipeline, again.new_version) == (False, False)
        assert again.version_id == first.version_id
        assert again.experiment_id == first.experiment_id
        assert "POST /apis/v2beta1/pipelines/upload_version" not in server.paths()
        assert len(server.state.experiments) == 1 and len(server.state.runs) == 2

        # A changed spec becomes a new version of the same pipeline; a recurring run on it.
        changed = penguin_text.replace("ghcr.io/tfxd/penguin:latest", "ghcr.io/tfxd/penguin:v2")
        third = submit.submit(
            conn(server),
            changed,
            name="penguin",
            create_run=False,
            recurring=submit.schedule("0 3 * * *", None),
            max_concurrency=2,
        )
        assert third.new_version and third.version_id != first.version_id
        assert third.run_id is None and third.recurring_run_id
        job = server.state.recurring[third.recurring_run_id]
        assert job["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"  # KFP's 6 fields
        assert job["max_concurrency"] == 2 and job["no_catchup"] is True
        assert job["mode"] == "ENABLE"

        server.state.runs[again.run_id]["state"] = "SUCCEEDED"  # what the cluster would report
        runs = remote_runs.list_remote_runs(conn(server), "penguin")
        assert [(r.run_id, r.state) for r in runs] == [
            (again.run_id, "SUCCEEDED"),
            (first.run_id, "PENDING"),
        ]


def test_interval_schedule_and_cli(penguin_data, capsys):
    with KfpServer() as server:
        code = main(
            [
                "submit",
                str(PENGUIN / "pipeline.yaml"),
                "--host",
                server.url,
                "--experiment",
                "nightly",
                "--every",
                "6h",
                "--max-concurrency",
                "3",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        assert "new pipeline" in out and "recurring run" in out
        [job] = server.state.recurring.values()
        assert job["trigger"]["periodic_schedule"]["interval_second"] == 6 * 3600
        [experiment] = server.state.experiments.values()
        assert experiment["display_name"] == "nightly"
        assert main(["runs", "penguin", "--host", server.url]) == 0
        assert "PENDING" in capsys.readouterr().out


def remote_table(server: KfpServer, width: int, wide: bool = False) -> str:
    console = Console(width=width, record=True, color_system=None)
    remote_runs.print_remote_runs(conn(server), "penguin", 20, console, wide=wide)
    return console.export_text()


def test_remote_runs_read_at_80_and_200_columns(penguin_text):
    with KfpServer() as server:
        first = submit.submit(conn(server), penguin_text, name="penguin")
        second = submit.submit(conn(server), penguin_text, name="penguin")
        done = server.state.runs[first.run_id]
        done.update(state="SUCCEEDED", finished_at="2026-11-25T10:07:31.123456Z")
        assert len(first.run_id) == 36  # a UUID, as KFP's API server makes them

        narrow = remote_table(server, 80)
        lines = narrow.splitlines()
        assert max(len(line) for line in lines) <= 80
        header = next(line for line in lines if "state" in line)
        for shown in ("run", "state", "created", "finished"):
            assert shown in header, header
        assert "…" not in narrow  # no cell squeezed: shortened or left out, and said so
        assert first.run_id[:8] in narrow and first.run_id not in narrow
        assert "11-25 10:07" in narrow and "SUCCEEDED" in narrow and "PENDING" in narrow
        note = " ".join(lines[-2:])
        assert "shortened to fit 80 columns: run, created, finished" in note and "--wide" in note

        wide = remote_table(server, 200)
        assert first.run_id in wide and second.run_id in wide
        assert "2026-11-25 10:07:31" in wide and "--wide" not in wide
        assert first.run_id in remote_table(server, 80, wide=True)

        console = Console(width=80, record=True, color_system=None)
        remote_runs.print_remote_runs(conn(server), "penguin", 20, console, as_json_text=True)
        listed = json.loads(console.export_text())
        assert [r["run_id"] for r in listed] == [second.run_id, first.run_id]
        assert listed[1]["state"] == "SUCCEEDED" and listed[1]["finished"].startswith("2026-11-25")


def test_token_from_env_or_kubeconfig_is_sent(penguin_text, tmp_path, monkeypatch):
    monkeypatch.setenv("KFP_TOKEN", "tok-env")
    with KfpServer(token="tok-env") as server:
        submit.submit(
            submit.connection(server.url, token_env=None, kubeconfig=None),
            penguin_text,
            name="penguin",
            create_run=False,
        )
        assert {c["authorization"] for c in server.state.calls} == {"Bearer tok-env"}
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://k8s.invalid"}}],
                "users": [{"name": "u", "user": {"token": "tok-kube"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    with KfpServer(token="tok-kube") as server:
        connection = submit.connection(server.url, token_env=None, kubeconfig=str(kubeconfig))
        submit.submit(connection, penguin_text, name="penguin", create_run=False)
        assert server.state.pipelines


def test_unreachable_host():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(SubmitError, match=rf"cannot reach the KFP API server at .*:{port}"):
        submit.submit(submit.Connection(f"http://127.0.0.1:{port}", None, "test"), "{}", name="x")


def test_bad_token_is_refused_clearly(penguin_text):
    with KfpServer(token="right") as server:
        with pytest.raises(SubmitError, match=r"refused the credentials \(HTTP 401"):
            submit.submit(conn(server, "wrong"), penguin_text, name="penguin")
        assert not server.state.pipelines


def test_rejected_spec_leaves_nothing(penguin_text):
    old = penguin_text.replace("schemaVersion: 2.1.0", "schemaVersion: 2.0.0")
    job = yaml.safe_dump({"displayName": "penguin", "pipelineSpec": yaml.safe_load(penguin_text)})
    with KfpServer() as server:
        with pytest.raises(SubmitError, match="HTTP 400: unsupported schema version '2.0.0'"):
            submit.submit(conn(server), old, name="penguin")
        with pytest.raises(SubmitError, match="HTTP 400: unknown template format"):
            submit.submit(conn(server), job, name="penguin")
        assert not server.state.pipelines and not server.state.runs


def test_bad_arguments_fail_before_any_request(penguin_text):
    with KfpServer() as server:
        with pytest.raises(SubmitError, match="no run-time parameter 'train_steps'"):
            submit.submit(conn(server), penguin_text, name="penguin", params={"train_steps": "5"})
        with pytest.raises(SubmitError, match="KFP allows 1 to 10"):
            submit.submit(
                conn(server),
                penguin_text,
                name="penguin",
                recurring={"interval_second": 60},
                max_concurrency=11,
            )
        assert server.state.calls == []
    with pytest.raises(SubmitError, match="exactly one of --cron or --every"):
        submit.schedule("0 3 * * *", "1h")
    with pytest.raises(SubmitError, match="write 5 fields"):
        submit.schedule("0 3 * *", None)
    with pytest.raises(SubmitError, match="--every '5x'"):
        submit.schedule(None, "5x")
    with pytest.raises(SubmitError, match="--host localhost:8888: write the API server URL"):
        submit.connection("localhost:8888", token_env=None, kubeconfig=None)
