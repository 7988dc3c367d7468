"""TFLitePusher executor: check blessing, build and measure variants, push one atomic version."""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import path_utils

from tfxd.components.tflite_pusher import convert as tfl
from tfxd.components.tflite_pusher.params import TFLiteSettings
from tfxd.infra.versions import (
    MANIFEST,
    Destination,
    PushError,
    already_pushed,
    mark_not_pushed,
    mark_pushed,
    push_saved_model,
)

PROPERTY = "tfxd_manifest"


def blessed(input_dict: dict[str, list[Any]]) -> tuple[bool, str]:
    for key in ("model_blessing", "infra_blessing"):
        for artifact in input_dict.get(key) or []:
            if not fileio.exists(os.path.join(artifact.uri, "BLESSED")):
                return False, f"{key} says NOT blessed"
    return True, ""


def _hint(variant: str, signature: tfl.Signature, failure: str = "") -> str:
    if "hashtable need to be initialized" in failure:
        return (
            "; TFLite does not run the SavedModel's table initializers (Transform's vocabularies, "
            f"tensorflow/tensorflow#52206): convert signature '{tfl.MODEL}' (the model on "
            "transformed features, the lookups done before it)"
        )
    if variant == "int8" and signature.serialized:
        return (
            "; full int8 of a signature over serialized tf.Examples is not supported by the "
            f"converter: convert signature '{tfl.MODEL}' (the model's own inputs) for int8"
        )
    return ""


def _dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


class Executor(base_executor.BaseExecutor):
    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        [model_artifact] = input_dict["model"]
        [pushed] = output_dict["pushed_model"]
        config = TFLiteSettings.from_json(exec_properties["config"])
        dest = destination(exec_properties["destination"], config)
        saved_model = path_utils.serving_model_path(model_artifact.uri)
        ok, why = blessed(input_dict)
        if ok and (twice := already_pushed(dest, saved_model)):
            ok, why = False, twice
        if not ok:
            mark_not_pushed(pushed, why)
            return
        try:
            source = tfl.Source(saved_model, config.signature, config.output, config.label)
        except ValueError as err:
            raise PushError(f"TFLitePusher '{dest.node}': {err}") from err
        [examples] = input_dict["examples"]
        splits = artifact_utils.decode_split_names(examples.split_names)

        def files(split: str) -> list[str]:
            uri = artifact_utils.get_split_uri([examples], split)
            return sorted(glob.glob(os.path.join(uri, "*.gz")))

        eval_split = config.eval_split if config.eval_split in splits else splits[-1]
        train_split = "train" if "train" in splits else splits[0]
        try:
            feed, labels = source.read(files(eval_split), config.eval_examples)
            representative, _ = source.read(
                files(train_split), config.representative_examples, labels=False
            )
        except ValueError as err:
            raise PushError(f"TFLitePusher '{dest.node}': {err}") from err
        signature = source.signature
        reference = tfl.accuracy(source.predict(feed), labels) if len(labels) else None
        results = []
        contents: dict[str, bytes] = {}
        work = tempfile.mkdtemp(prefix="tflite-")
        converted = tfl.convert_isolated(
            saved_model,
            signature.key,
            config.variants,
            representative,
            work,
            select_tf_ops=config.select_tf_ops,
        )
        for variant in config.variants:
            result = tfl.VariantResult(variant)
            content = converted[variant]
            try:
                if isinstance(content, str):
                    raise RuntimeError(content + _hint(variant, signature))
                result.bytes = len(content)
                result.tf_ops = tfl.tf_ops(content)
                try:
                    result.metric, result.latency_ms = tfl.evaluate(
                        content, signature, feed, labels
                    )
                except RuntimeError as err:
                    raise RuntimeError(str(err) + _hint(variant, signature, str(err))) from None
                result.drop = (reference - result.metric) if reference is not None else None
                if result.drop is not None and result.drop > config.max_drop:
                    result.reason = (
                        f"accuracy {result.metric:.4f} is {result.drop:.4f} below the SavedModel's "
                        f"{reference:.4f} (max_drop {config.max_drop})"
                    )
                else:
                    result.pushed = True
                    contents[variant] = content
            except Exception as err:  # a variant that fails must not stop the others
                result.reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:500]}"
            results.append(result)
        shutil.rmtree(work, ignore_errors=True)

        record: dict[str, Any] = {
            "source_model": saved_model,
            "signature": signature.key,
            "span": config.span,
            "saved_model": {"bytes": _dir_bytes(saved_model), "accuracy": reference},
            "eval": {"split": eval_split, "examples": int(len(labels))},
            "blessed": True,
            "variants": [r.to_dict() for r in results],
        }

        def tflite(folder: Path) -> None:
            (folder / "tflite").mkdir()
            for variant, content in contents.items():
                (folder / "tflite" / f"{variant}.tflite").write_bytes(content)

        version = push_saved_model(dest, saved_model, record, tflite)
        mark_pushed(pushed, dest, version)
        pushed.set_string_custom_property(PROPERTY, json.dumps(record, sort_keys=True))
        fileio.makedirs(pushed.uri)
        with fileio.open(os.path.join(pushed.uri, MANIFEST), "w") as handle:
            handle.write(json.dumps(record, indent=2))


def destination(folder: str, config: TFLiteSettings) -> Destination:
    """Versions under ``<folder>/<model_name>/``, the pointer in ``<folder>``."""
    root = Path(folder)
    name = config.model_name
    return Destination(config.node, root, name, root / name)
