"""The container entrypoint of compiled Kubeflow specs: TFX's KFP v2 executor entrypoint, taught
the report artifact types (``system.HTML``, ``system.Markdown``), whose KFP schema titles are not
import paths as TFX assumes for types it does not know."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def main() -> None:
    from absl import app
    from tfx.orchestration.kubeflow.v2 import compiler_utils
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as tfx_entry

    from tfxd.components.reports.artifacts import TITLE_TO_CLASS_PATH

    compiler_utils.TITLE_TO_CLASS_PATH.update(TITLE_TO_CLASS_PATH)
    app.run(tfx_entry.main, flags_parser=tfx_entry._parse_flags)


if __name__ == "__main__":
    main()
