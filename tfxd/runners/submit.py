"""``tfxd submit`` and ``tfxd runs --host``: a Kubeflow Pipelines v2 API server through the real
``kfp.Client``.

Submitting uploads the compiled spec as a pipeline (or as a new version when the name exists;
versions are named by the spec's content hash, so re-submitting an unchanged spec reuses its
version), then creates a run and/or a recurring run in an experiment. Every check that can fail
without the server (compilation, parameter names, the schedule) runs before the first request, so
bad input uploads nothing. What a failure after the upload leaves behind: the uploaded pipeline
version (reused by the next submit), and no run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tfxd.errors import TfxdError
from tfxd.runners.compiled import coerce_parameter

HEALTHZ = "/apis/v2beta1/healthz"
_INTERVAL = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SubmitError(TfxdError):
    """The KFP API server could not be reached, refused the credentials or rejected a request."""


@dataclass
class Connection:
    host: str
    token: str | None
    token_source: str


@dataclass
class Submitted:
    pipeline_id: str
    version_id: str
    version_name: str
    new_pipeline: bool
    new_version: bool
    experiment_id: str | None = None
    run_id: str | None = None
    recurring_run_id: str | None = None


def connection(host: str, *, token_env: str | None, kubeconfig: str | None) -> Connection:
    """Where and how to authenticate: a bearer token from an env var (default ``KFP_TOKEN``), or
    the current user's token in a kubeconfig file."""
    host = host.rstrip("/")
    if not re.match(r"^https?://", host):
        raise SubmitError(f"--host {host}: write the API server URL, e.g. http://localhost:8888")
    if kubeconfig is not None:
        return Connection(host, _kubeconfig_token(kubeconfig), f"kubeconfig {kubeconfig}")
    name = token_env or "KFP_TOKEN"
    token = os.environ.get(name)
    if token_env and not token:
        raise SubmitError(f"--token-env {name}: the variable is not set")
    return Connection(host, token or None, f"env {name}" if token else "no token")


def _kubeconfig_token(path: str) -> str:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    file = Path(path).expanduser()
    if not file.is_file():
        raise SubmitError(f"--kubeconfig {path}: no such file")
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(config_file=str(file), client_configuration=configuration)
    except Exception as err:  # the kubernetes client raises many kinds for a bad file
        raise SubmitError(f"--kubeconfig {path}: cannot load it: {err}") from err
    token = configuration.api_key.get("authorization", "")
    token = token.removeprefix("Bearer ").strip()
    if not token:
        raise SubmitError(
            f"--kubeconfig {path}: the current user has no token (exec and certificate "
            "credentials are not supported here): pass a token with --token-env"
        )
    return token


def preflight(conn: Connection) -> None:
    """One GET of healthz with a short timeout, so that a wrong host or token fails fast and
    clearly (``kfp.Client`` retries healthz for 25 s and reports neither)."""
    request = urllib.request.Request(conn.host + HEALTHZ)
    if conn.token:
        request.add_header("Authorization", f"Bearer {conn.token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            raise SubmitError(
                f"the KFP API server at {conn.host} refused the credentials (HTTP {err.code}; "
                f"token from {conn.token_source}): set a valid token in KFP_TOKEN, or pass "
                "--token-env NAME or --kubeconfig FILE"
            ) from None
        raise SubmitError(
            f"the KFP API server at {conn.host} answered healthz with HTTP {err.code}: is this "
            "the KFP API endpoint (e.g. the ml-pipeline service, port 8888)?"
        ) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise SubmitError(
            f"cannot reach the KFP API server at {conn.host}: {reason}; check --host (e.g. "
            "kubectl port-forward -n kubeflow svc/ml-pipeline 8888:8888)"
        ) from None


def client(conn: Connection):
    import kfp

    preflight(conn)
    with _quiet():
        return kfp.Client(host=conn.host, existing_token=conn.token)


@contextlib.contextmanager
def _quiet():
    """kfp.Client prints links and logs retries; tfxd reports for itself."""
    import logging

    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def api_call(what: str, call, *args: Any, **kwargs: Any) -> Any:
    import kfp_server_api

    try:
        with _quiet():
            return call(*args, **kwargs)
    except kfp_server_api.ApiException as err:
        raise SubmitError(f"{what}: {_server_message(err)}") from None


def _server_message(err: Any) -> str:
    status = getattr(err, "status", "?")
    body = getattr(err, "body", "") or ""
    try:
        parsed = json.loads(body)
        message = parsed.get("error") or parsed.get("message") or body
    except (ValueError, AttributeError):
        message = body or getattr(err, "reason", "")
    if status in (401, 403):
        return f"HTTP {status}, the server refused the credentials: {message}"
    return f"HTTP {status}: {str(message).strip()}"


def schedule(cron: str | None, every: str | None) -> dict[str, Any]:
    """KFP's scheduler takes 6-field cron (seconds first); a 5-field crontab gets second 0."""
    if (cron is None) == (every is None):
        raise SubmitError("a recurring run needs exactly one of --cron or --every")
    if cron is not None:
        fields = cron.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise SubmitError(
                f"--cron {cron!r}: write 5 fields (minute hour day month weekday) or KFP's 6 "
                "(with seconds first), e.g. '0 3 * * *'"
            )
        return {"cron_expression": " ".join(fields)}
    match = _INTERVAL.match(every or "")
    if not match or int(match.group(1)) == 0:
        raise SubmitError(f"--every {every!r}: write a number and a unit, e.g. 30m, 6h, 1d")
    return {"interval_second": int(match.group(1)) * _SECONDS[match.group(2)]}


def check_parameters(spec: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """Pipeline parameters typed as the spec declares them; unknown names are refused."""
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name not in declared:
            raise SubmitError(
                f"--param {name}: the compiled pipeline has no run-time parameter '{name}' "
                f"(it has: {', '.join(sorted(declared)) or 'none'}); other values are fixed at "
                "compile time"
            )
        kind = declared[name].get("parameterType", "STRING")
        out[name] = coerce_parameter(name, value, kind, SubmitError)
    return out


def submit(
    conn: Connection,
    text: str,
    *,
    name: str,
    description: str = "",
    experiment: str | None = None,
    run_name: str | None = None,
    params: dict[str, str] | None = None,
    create_run: bool = True,
    recurring: dict[str, Any] | None = None,
    max_concurrency: int = 1,
    run_root: str | None = None,
) -> Submitted:
    """Upload ``text`` (a compiled spec) as pipeline ``name`` and start what was asked for."""
    spec = next(iter(yaml.safe_load_all(text)))
    values = check_parameters(spec, params or {})
    if recurring is not None and not 1 <= max_concurrency <= 10:
        raise SubmitError(f"--max-concurrency {max_concurrency}: KFP allows 1 to 10")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    version_name = f"{name}-{digest}"
    kfp_client = client(conn)
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / f"{name}.yaml"
        package.write_text(text, encoding="utf-8")
        result = _upload(kfp_client, package, name, description, version_name, spec)
    if not create_run and recurring is None:
        return result
    experiment = experiment or name
    found = api_call(
        f"creating experiment '{experiment}'", kfp_client.create_experiment, experiment
    )
    result.experiment_id = found.experiment_id
    stamp = run_name or f"{name} {digest}"
    if create_run:
        run = api_call(
            "creating the run",
            kfp_client.run_pipeline,
            experiment_id=result.experiment_id,
            job_name=stamp,
            params=values,
            pipeline_id=result.pipeline_id,
            version_id=result.version_id,
            pipeline_root=run_root,
        )
        result.run_id = run.run_id
    if recurring is not None:
        job = api_call(
            "creating the recurring run",
            kfp_client.create_recurring_run,
            experiment_id=result.experiment_id,
            job_name=f"{stamp} (recurring)",
            params=values,
            pipeline_id=result.pipeline_id,
            version_id=result.version_id,
            max_concurrency=max_concurrency,
            no_catchup=True,
            pipeline_root=run_root,
            **recurring,
        )
        result.recurring_run_id = job.recurring_run_id
    return result


def _upload(
    kfp_client: Any, package: Path, name: str, description: str, version: str, spec: dict
) -> Submitted:
    import kfp_server_api

    pipeline_id = api_call(f"looking up pipeline '{name}'", kfp_client.get_pipeline_id, name)
    if pipeline_id is None:
        try:
            with _quiet():
                created = kfp_client.upload_pipeline(
                    str(package), pipeline_name=name, description=description or None
                )
        except kfp_server_api.ApiException as err:
            if err.status != 409:
                raise SubmitError(f"uploading pipeline '{name}': {_server_message(err)}") from None
            # Someone uploaded the name since we looked: add a version to theirs.
            pipeline_id = api_call(
                f"looking up pipeline '{name}'", kfp_client.get_pipeline_id, name
            )
        else:
            [first] = _versions(kfp_client, created.pipeline_id)
            return Submitted(
                created.pipeline_id, first.pipeline_version_id, first.display_name, True, True
            )
    same = _same_version(_versions(kfp_client, pipeline_id), version, spec)
    if same is not None:
        return Submitted(pipeline_id, same.pipeline_version_id, same.display_name, False, False)
    try:
        with _quiet():
            made = kfp_client.upload_pipeline_version(
                str(package), pipeline_version_name=version, pipeline_id=pipeline_id
            )
        return Submitted(pipeline_id, made.pipeline_version_id, version, False, True)
    except kfp_server_api.ApiException as err:
        if err.status != 409:
            raise SubmitError(
                f"uploading a version of pipeline '{name}': {_server_message(err)}"
            ) from None
    same = _same_version(_versions(kfp_client, pipeline_id), version, spec)
    if same is None:
        raise SubmitError(f"pipeline '{name}': version '{version}' conflicts but cannot be found")
    return Submitted(pipeline_id, same.pipeline_version_id, same.display_name, False, False)


def _versions(kfp_client: Any, pipeline_id: str) -> list[Any]:
    listed = api_call(
        "listing pipeline versions",
        kfp_client.list_pipeline_versions,
        pipeline_id,
        page_size=100,
        sort_by="created_at desc",
    )
    return list(listed.pipeline_versions or [])


def _same_version(versions: list[Any], name: str, spec: dict) -> Any:
    """An existing version holding this spec: by our content-hash name, or (for the first
    version, which KFP names after the pipeline) by the spec the server returns."""
    for existing in versions:
        if existing.display_name == name or existing.pipeline_spec == spec:
            return existing
    return None


def describe(done: Any, name: str, host: str, recurring: str | None) -> list[str]:
    """What ``tfxd submit`` did, in lines to print."""
    what = (
        "new pipeline" if done.new_pipeline else "new version" if done.new_version else "unchanged"
    )
    lines = [
        f"pipeline [bold]{name}[/] ({done.pipeline_id}) version {done.version_name} "
        f"({done.version_id}): {what}"
    ]
    if done.run_id:
        lines.append(f"run {done.run_id}: {host.rstrip('/')}/#/runs/details/{done.run_id}")
    if done.recurring_run_id:
        lines.append(f"recurring run {done.recurring_run_id} ({recurring})")
    return lines
