"""The BigQuery emulator (PyPI's bqemulator, in its own Python 3.11 venv set up by
scripts/bqemulator.sh) on 127.0.0.1: REST for the BigQuery client, gRPC for Storage Read."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.sql_servers import free_port

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
    folder, rest, grpc = tempfile.mkdtemp(prefix="tfxd-bq-"), free_port(), free_port()
    log = open(os.path.join(folder, "log"), "wb")
    process = subprocess.Popen(
        [f"{venv}/bin/bqemulator", "start", f"--rest-port={rest}", f"--grpc-port={grpc}"]
        + [f"--project={PROJECT}", "--log-level=warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HOME": f"{venv}/home"},  # where its DuckDB extensions are
        start_new_session=True,
    )
    env = {
        "BIGQUERY_EMULATOR_HOST": f"http://127.0.0.1:{rest}",
        "BIGQUERY_STORAGE_EMULATOR_HOST": f"127.0.0.1:{grpc}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{env['BIGQUERY_EMULATOR_HOST']}/bigquery/v2/projects")
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the BigQuery emulator did not start: see {log.name}"
                    ) from None
                time.sleep(0.1)
        yield env
    finally:
        process.kill()
        process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
