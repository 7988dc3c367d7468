"""``tfxd compile --target kserve``: a KServe InferenceService that serves exactly the version the
serving pointer names (or ``--version``), checked against KServe's own model.

KServe's TF Serving runtime serves the highest numbered folder under ``storageUri`` unless given a
model config file; the pushers write one per version (``kserve-<N>.config``, base path
``/mnt/models``) beside the versions, and the manifest passes it as ``--model_config_file``. A
rollback on a cluster is a new revision of this manifest (``tfxd rollback``, then compile and
``kubectl apply`` again); ``--canary P`` sends P% of traffic to the new revision.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tfxd.errors import TfxdError
from tfxd.infra.versions import (
    CLUSTER_BASE,
    cluster_config_name,
    cluster_name,
    write_cluster_config,
)
from tfxd.runners.serve import SOURCE, destination, serving_python

SECRET_WORDS = ("secret", "password", "token", "key=")


def manifest(
    pipe: Any,
    *,
    storage_uri: str,
    version: int | None = None,
    canary: int | None = None,
    service_account: str | None = None,
    node: str | None = None,
) -> dict[str, Any]:
    dest = destination(pipe, node)
    known = dest.versions()
    chosen = dest.serving() if version is None else version
    if chosen is None:
        raise TfxdError(
            f"nothing serves under {dest.folder} yet (no serving pointer): push a model first, "
            "or pass --version N"
        )
    if chosen not in known:
        raise TfxdError(
            f"no complete version {chosen} under {dest.model_dir} (versions: "
            f"{', '.join(map(str, known)) or 'none'}): pass --version with one of them"
        )
    if "://" not in storage_uri:
        raise TfxdError(
            f"--storage-uri {storage_uri!r} is not a URI KServe can fetch: give where the "
            f"versions under {dest.model_dir} are copied on the cluster (s3://, gs://, pvc://)"
        )
    if any(word in storage_uri.lower() for word in SECRET_WORDS) or "@" in storage_uri:
        raise TfxdError(
            "--storage-uri carries a credential: credentials go in a Kubernetes secret bound to "
            "a service account (--service-account), never into the manifest"
        )
    if canary is not None and not 0 <= canary <= 100:
        raise TfxdError(f"--canary {canary}: a percentage of traffic, 0 to 100")
    write_cluster_config(dest.model_dir, dest.model, chosen)
    name = cluster_name(dest.model)
    predictor: dict[str, Any] = {
        "model": {
            "modelFormat": {"name": "tensorflow"},
            "storageUri": storage_uri.rstrip("/"),
            "args": [f"--model_config_file={CLUSTER_BASE}/{cluster_config_name(chosen)}"],
        }
    }
    if canary is not None:
        predictor["canaryTrafficPercent"] = canary
    if service_account:
        predictor["serviceAccountName"] = service_account
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "labels": {"tfxd/pipeline": cluster_name(pipe.name)},
            "annotations": {
                "tfxd/model-version": str(chosen),
                "tfxd/pipeline-file": Path(pipe.loaded.path).name,
            },
        },
        "spec": {"predictor": predictor},
    }


def check_with_kserve(document: dict[str, Any]) -> str | None:
    """Problems KServe's own model finds, or None; a note when it cannot be asked."""
    try:
        python = serving_python()
    except TfxdError as err:
        return f"not checked against KServe's model: {err}"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(document, handle)
    try:
        done = subprocess.run(
            [str(python), "-m", "tfxd.serving.manifest_check", handle.name],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(SOURCE)},
            timeout=120,
        )
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        problems = done.stdout.strip() or done.stderr.strip().splitlines()[-1]
        raise TfxdError(f"the InferenceService does not pass KServe's model: {problems}")
    return None


def compile_kserve(pipe: Any, args: Any) -> list[str]:
    """``tfxd compile --target kserve``'s work, from its arguments; returns notes to print."""
    if not args.storage_uri:
        raise TfxdError("--target kserve needs --storage-uri: where the versions are copied")
    options = {
        "storage_uri": args.storage_uri,
        "version": args.version,
        "canary": args.canary,
        "service_account": args.service_account,
        "node": args.node,
    }
    document = manifest(pipe, **options)
    note = check_with_kserve(document)
    Path(args.output).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    version = document["metadata"]["annotations"]["tfxd/model-version"]
    notes = [
        f"pins version {version}: copy {destination(pipe, options.get('node')).model_dir} "
        f"to {document['spec']['predictor']['model']['storageUri']} before kubectl apply"
    ]
    return notes + ([note] if note else [])
