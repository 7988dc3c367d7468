"""TFLitePusher's ``with:`` block (what the executor reads back from its config) and its type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from tfxd.components.registry import (
    LOCAL_FOLDER,
    Checks,
    ComponentType,
    Expect,
    Models,
    Params,
    Resolver,
    Sources,
    path_field,
)
from tfxd.components.settings import Settings
from tfxd.infra.versions import Destination


class TFLitePusherParams(Params):
    destination: Annotated[str, LOCAL_FOLDER] = Field(
        description="Serving folder: versions go to <destination>/<model_name>/<version>/, the "
        "serving pointer to <destination>/models.config.",
        json_schema_extra=path_field("dir-create"),
    )
    model_name: str | None = Field(None, description="Default: the pipeline name.")
    label: str = Field(
        description="Integer label: a feature of the examples, or an output of the model's "
        "transform_features signature (TFX modules make tips_xf there)."
    )
    variants: list[Literal["float32", "dynamic_range", "float16", "int8"]] = Field(
        default_factory=lambda: ["float32", "dynamic_range", "float16", "int8"],
        description="TFLite variants to build, measure and push.",
    )
    max_drop: float = Field(
        0.01, ge=0, description="A variant whose accuracy drops more than this is not pushed."
    )
    signature: str = Field(
        "serving_default",
        description="The SavedModel signature to convert and measure (TFX modules' "
        "serving_default takes serialized tf.Examples; its parsing runs as a TensorFlow op), or "
        "'model': a Keras model on its own inputs (the device does the preprocessing).",
    )
    output: str | None = Field(
        None, description="The signature's output holding the scores (default: its only one)."
    )
    select_tf_ops: bool = Field(
        True,
        description="Let ops without a TFLite kernel run as TensorFlow ops (the Flex delegate); "
        "each variant lists the ones it needs. false: TFLite builtins only.",
    )
    eval_split: str = "eval"
    eval_examples: int = Field(500, ge=1, description="Examples measured per variant.")
    representative_examples: int = Field(
        200, ge=1, description="Training examples calibrating full int8."
    )


class TFLiteSettings(TFLitePusherParams, Settings):
    """What the executor reads back (the ``config`` exec property; the destination travels as
    an exec property of its own)."""

    destination: str | None = None  # type: ignore[assignment]
    model_name: str  # type: ignore[assignment]
    max_drop: float = 0.01  # unbounded here: a negative bound refuses every variant
    span: int | None = None
    node: str = ""


def versions(node: str, p: TFLitePusherParams, pipeline: str, resolve: Resolver) -> Destination:
    folder = Path(resolve(p.destination))
    name = p.model_name or pipeline
    return Destination(node, folder, name, folder / name)


def expects(p: TFLitePusherParams, _: Sources) -> dict[str, Expect]:
    """A serving signature of a TFX module parses raw tf.Examples; ``model`` takes the Keras
    model's own (transformed) inputs."""
    if p.signature == "model":
        return {
            "examples": Expect(
                "transformed",
                "signature 'model' measures the Keras model on its own, transformed inputs",
                "examples: <Transform node>.transformed_examples",
            )
        }
    return {
        "examples": Expect(
            "raw",
            f"signature '{p.signature}' of a TFX module parses raw serialized tf.Examples",
            "examples: <ExampleGen node>.examples, or signature: model for transformed ones",
        )
    }


TYPE = ComponentType(
    "TFLitePusher",
    TFLitePusherParams,
    "tfxd.components.tflite_pusher.component:TFLitePusher",
    "tfxd.components.tflite_pusher.build:build",
    "blessed model → SavedModel + measured TFLite variants, one atomic version, served",
    consumes={
        "model": "Model",
        "examples": "Examples",
        "model_blessing": "ModelBlessing?",
        "infra_blessing": "InfraBlessing?",
    },
    produces={"pushed_model": "PushedModel"},
    models=Models(versions=versions, serving_field="destination"),
    checks=Checks(expects=expects),
)
