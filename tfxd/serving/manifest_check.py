"""Check an InferenceService manifest against KServe's own ``V1beta1InferenceService`` model (run
in the serving environment, where the ``kserve`` package is): it must deserialize, and serialize
back to the same document, so a misspelled or unknown field is an error and not dropped.

    .venv-serve/bin/python -m tfxd.serving.manifest_check MANIFEST.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(before):  # what the model adds (its defaults) is not a problem
            here = f"{where}.{key}" if where else key
            if key not in after:
                out.append(f"{here}: not a field of KServe's InferenceService")
            else:
                out.extend(differences(before[key], after[key], here))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                for d in differences(b, a, f"{where}[{i}]")]  # fmt: skip
    return [] if before == after else [f"{where}: {before!r} reads back as {after!r}"]


def check(document: dict[str, Any]) -> list[str]:
    from kserve import ApiClient, V1beta1InferenceServiceSpec
    from kubernetes.client import ApiClient as KubernetesClient

    problems = [
        f"{key}: {value!r}, not {want!r}"
        for key, want in (("apiVersion", "serving.kserve.io/v1beta1"), ("kind", "InferenceService"))
        if (value := document.get(key)) != want
    ]
    extra = sorted(set(document) - {"apiVersion", "kind", "metadata", "spec"})
    problems += [f"{key}: not a field of KServe's InferenceService" for key in extra]
    # The metadata is Kubernetes' ObjectMeta, read by the Kubernetes client; the spec KServe's.
    for key, client, klass in (
        ("metadata", KubernetesClient(), "V1ObjectMeta"),
        ("spec", ApiClient(), V1beta1InferenceServiceSpec),
    ):
        try:
            model = client._ApiClient__deserialize(document.get(key), klass)
        except (ValueError, TypeError, AttributeError) as err:
            problems.append(f"{key}: {err}")
            continue
        problems += differences(document.get(key), client.sanitize_for_serialization(model), key)
    return problems


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        problems = check(json.load(handle))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
