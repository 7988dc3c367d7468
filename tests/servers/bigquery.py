"""The BigQuery emulator (PyPI's bqemulator, in its own Python 3.11 venv set up by
scripts/bqemulator.sh) on 127.0.0.1: REST for the BigQuery client, gRPC for Storage Read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from tests.servers.process import answers, environment, free_port, server_process

PROJECT = "tfxd-test"


def emulator_venv() -> str | None:
    venv = os.environ.get("TFXD_BQEMULATOR", os.path.expanduser("~/.cache/tfxd/bqemulator"))
    return venv if os.path.exists(os.path.join(venv, "bin", "bqemulator")) else None


@contextmanager
def bigquery_server() -> Iterator[dict[str, str]]:
    """Start the emulator; yield the env vars pointing at it (also set in os.environ)."""
    venv = emulator_venv()
    if venv is None:
        raise RuntimeError("the BigQuery emulator is not installed: bash scripts/bqemulator.sh")
    rest, grpc = free_port(), free_port()
    command = [f"{venv}/bin/bqemulator", "start", f"--rest-port={rest}", f"--grpc-port={grpc}"]
    command += [f"--project={PROJECT}", "--log-level=warning"]
    env = {
        "BIGQUERY_EMULATOR_HOST": f"http://127.0.0.1:{rest}",
        "BIGQUERY_STORAGE_EMULATOR_HOST": f"127.0.0.1:{grpc}",
    }
    with server_process(
        lambda folder: command,
        lambda folder: answers(f"{env['BIGQUERY_EMULATOR_HOST']}/bigquery/v2/projects"),
        "the BigQuery emulator",
        env={"HOME": f"{venv}/home"},  # where its DuckDB extensions are
    ):
        with environment(env):
            yield env
