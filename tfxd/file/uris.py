"""URIs among the pipeline file's paths."""

from __future__ import annotations

import re
from typing import Any

from pydantic import AfterValidator

URI = re.compile(r"^([a-z][a-z0-9+.-]*)://")


def local(what: str) -> AfterValidator:
    """A path field's check that it is not a URI: ``what`` needs a local (or mounted) file."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and (scheme := URI.match(value)):
            raise ValueError(f"{scheme.group(1)}:// cannot hold {what}")
        return value

    return AfterValidator(check)


LOCAL_ROOT = (  # its outputs, MLMD's SQLite file and staged modules are local files
    "a local run's root: give a folder; a cluster's root is runners.kubeflow.pipeline_root"
)
LOCAL_SQLITE = "MLMD's SQLite file: give a local path, or use 'mysql'"
