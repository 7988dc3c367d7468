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
from tfxd.components.versions import (
    MANIFEST,
    Destination,
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
        config = json.loads(exec_properties["config"])
        dest = destination(exec_properties["destination"], config)
        saved_model = path_utils.serving_model_path(model_artifact.uri)
        ok, why = blessed(input_dict)
        if ok and (twice := already_pushed(dest, saved_model)):
            ok, why = False, twice
        if not ok:
            mark_not_pushed(pushed, why)
            return
        model = tfl.load_keras(saved_model)
        names = tfl.input_names(model)
        [examples] = input_dict["examples"]
        splits = artifact_utils.decode_split_names(examples.split_names)

        def files(split: str) -> list[str]:
            uri = artifact_utils.get_split_uri([examples], split)
            return sorted(glob.glob(os.path.join(uri, "*.gz")))

        eval_split = config["eval_split"] if config["eval_split"] in splits else splits[-1]
        inputs, labels = tfl.read_examples(
            files(eval_split), model, config["label"], config["eval_examples"]
        )
        train_split = "train" if "train" in splits else splits[0]
        representative, _ = tfl.read_examples(
            files(train_split), model, config["label"], config["representative_examples"]
        )
        reference = tfl.accuracy(model.predict(inputs, verbose=0), labels) if inputs else None
        results = []
        contents: dict[str, bytes] = {}
        work = tempfile.mkdtemp(prefix="tflite-")
        converted = tfl.convert_isolated(saved_model, config["variants"], representative, work)
        for variant in config["variants"]:
            result = tfl.VariantResult(variant)
            content = converted[variant]
            try:
                if isinstance(content, str):
                    raise RuntimeError(content)
                result.bytes = len(content)
                result.metric, result.latency_ms = tfl.evaluate(content, names, inputs, labels)
                result.drop = (reference - result.metric) if reference is not None else None
                if result.drop is not None and result.drop > config["max_drop"]:
                    result.reason = (
                        f"accuracy {result.metric:.4f} is {result.drop:.4f} below the SavedModel's "
                        f"{reference:.4f} (max_drop {config['max_drop']})"
                    )
                else:
                    result.pushed = True
                    contents[variant] = content
            except Exception as err:  # a variant that fails must not stop the others
                result.reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:300]}"
            results.append(result)
        shutil.rmtree(work, ignore_errors=True)

        record: dict[str, Any] = {
            "source_model": saved_model,
            "span": config.get("span"),
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


def destination(folder: str, config: dict[str, Any]) -> Destination:
    """Versions under ``<folder>/<model_name>/``, the pointer in ``<folder>``."""
    root = Path(folder)
    name = config["model_name"]
    return Destination(config.get("node", ""), root, name, root / name)
