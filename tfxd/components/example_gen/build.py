"""The TFX configs the ExampleGens share: input and output splits, and the span a run reads."""

from __future__ import annotations

from typing import Any

from tfx.proto import example_gen_pb2, range_config_pb2

from tfxd.components.example_gen.params import (
    FileExampleGenParams,
    QueryGenParams,
    complete_day,
    query_has_spans,
)
from tfxd.components.registry import BuildContext


def hash_splits(buckets: dict[str, int]) -> example_gen_pb2.Output:
    """Output splits by hash buckets, as every ExampleGen takes them."""
    splits = [example_gen_pb2.SplitConfig.Split(name=n, hash_buckets=b) for n, b in buckets.items()]
    return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=splits))


def _static_range(span: int) -> dict[str, Any]:
    static = range_config_pb2.StaticRange(start_span_number=span, end_span_number=span)
    return {"range_config": range_config_pb2.RangeConfig(static_range=static)}


def file_configs(ctx: BuildContext, p: FileExampleGenParams) -> dict[str, Any]:
    """input_config or output_config of a file-based ExampleGen and, with a span chosen for the
    run (``tfxd run --span``, ``tfxd watch``), the range_config that reads exactly that span
    instead of the newest one."""
    if not p.input_splits:
        return {"output_config": hash_splits(p.output_splits)}
    splits = [example_gen_pb2.Input.Split(name=n, pattern=pat) for n, pat in p.input_splits.items()]
    configs: dict[str, Any] = {"input_config": example_gen_pb2.Input(splits=splits)}
    if ctx.span is not None and any("{SPAN}" in pattern for pattern in p.input_splits.values()):
        configs.update(_static_range(ctx.span))
    return configs


def query_configs(ctx: BuildContext, p: QueryGenParams) -> dict[str, Any]:
    """input_config, output_config and range_config of a query-based ExampleGen: one query per
    split keeps its splits; one query is hash-split; day spans are ``--span`` or yesterday."""
    splits = p.input_splits or {"single_split": p.queries()[0]}
    configs: dict[str, Any] = {
        "input_config": example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name=n, pattern=q) for n, q in splits.items()]
        ),
        "output_config": (
            example_gen_pb2.Output() if p.input_splits else hash_splits(p.output_splits)
        ),
    }
    if query_has_spans(p.queries()):
        configs.update(_static_range(ctx.span if ctx.span is not None else complete_day()))
    return configs
