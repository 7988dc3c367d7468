"""BaselineModel from its ``with:`` block."""

from __future__ import annotations

from typing import Any

from tfxd.components.baseline_model.component import BaselineModel
from tfxd.components.baseline_model.params import BaselineModelParams
from tfxd.components.registry import BuildContext


def build(ctx: BuildContext, inputs: dict[str, Any], p: BaselineModelParams) -> Any:
    return BaselineModel(source=ctx.path(p.source))
