"""The file ExampleGens fingerprint their inputs by content: the same bytes rewritten keep the
cache, other bytes of the same size and modification time break it (TFX's own driver fingerprints
count, bytes and modification seconds and gets both wrong), and `tfxd plan` predicts each."""

from __future__ import annotations

import os
from pathlib import Path

from tfxd.infra.fingerprints import content_hashes, fingerprint_text

PIPELINE = """\
apiVersion: tfxd/v1
kind: Pipeline
metadata: {name: content}
spec:
  root: runs
  components:
    examples:
      type: CsvExampleGen
      with:
        input_base: data
        input_splits: {train: "span-{SPAN}/train/*", eval: "span-{SPAN}/eval/*"}
"""


def write(folder: Path, span: int, rows: str) -> Path:
    for split in ("train", "eval"):
        path = folder / "data" / f"span-{span}" / split / "part.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x,y\n" + rows)
    return folder / "data" / f"span-{span}" / "train" / "part.csv"


def same_size_and_time(path: Path) -> None:
    """Swap two bytes of ``path`` and put its modification time back."""
    stat, text = path.stat(), path.read_bytes()
    path.write_bytes(text[:4] + text[5:6] + text[4:5] + text[6:])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def test_driver_fingerprints_the_newest_span_by_content(tmp_path):
    from tfx.components.example_gen import utils
    from tfx.proto import example_gen_pb2
    from tfx.utils import proto_utils

    from tfxd.components.example_gen.driver import ContentDriver

    write(tmp_path, 1, "1,2\n")
    part = write(tmp_path, 2, "12,34\n")
    config = example_gen_pb2.Input(
        splits=[
            example_gen_pb2.Input.Split(name="train", pattern="span-{SPAN}/train/*"),
            example_gen_pb2.Input.Split(name="eval", pattern="span-{SPAN}/eval/*"),
        ]
    )

    def resolve() -> dict:
        base = str(tmp_path / "data")
        props = {"input_base": base, "input_config": proto_utils.proto_to_json(config)}
        return ContentDriver(None).resolve_exec_properties(props, None, None)

    first = resolve()
    assert first[utils.SPAN_PROPERTY_NAME] == 2
    patterns = {"train": "span-2/train/*", "eval": "span-2/eval/*"}
    base = str(tmp_path / "data")
    assert first["input_fingerprint"] == fingerprint_text(content_hashes(base, patterns))
    assert first["input_fingerprint"].startswith("split:train,num_files:1,sha256:")

    stamp = part.stat().st_mtime + 10
    part.write_bytes(part.read_bytes())
    os.utime(part, (stamp, stamp))
    assert resolve()["input_fingerprint"] == first["input_fingerprint"]
    same_size_and_time(part)
    assert resolve()["input_fingerprint"] != first["input_fingerprint"]


def test_runs_cache_on_content_and_plan_says_so(tmp_path):
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.launch import open_history, prepare
    from tfxd.runners.local import run_pipeline

    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    part = write(tmp_path, 1, "".join(f"{i},{i * 7}\n" for i in range(20)))

    def predicted_then_run() -> tuple[str, str, str]:
        pipe = validate_file(tmp_path / "pipeline.yaml")
        store = open_history(pipe)
        [step] = prepare(pipe, "local", store).predict(store).nodes
        del store
        [done] = run_pipeline(pipe, capture_logs=False).steps
        return step.action, step.reason, done.status

    assert predicted_then_run() == ("run", "no earlier execution", "done")
    stamp = part.stat().st_mtime + 10
    part.write_bytes(part.read_bytes())  # the same bytes, exported again
    os.utime(part, (stamp, stamp))
    assert predicted_then_run()[::2] == ("cached", "cached")
    same_size_and_time(part)
    reason = "input files: span-1/train/part.csv changed"
    assert predicted_then_run() == ("run", reason, "done")


def test_a_run_hashes_each_input_file_once(tmp_path, monkeypatch):
    """The run protocol's plan keys hash the inputs; the driver, later in the same run, finds
    their digests known (a run that executes used to hash each file three times)."""
    from tfxd.infra import fingerprints
    from tfxd.pipelines.pipeline import validate_file
    from tfxd.runners.local import run_pipeline

    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    write(tmp_path, 1, "".join(f"{i},{i * 3}\n" for i in range(30)))
    hashed: list[str] = []

    def counting_open(path, *args, **kwargs):
        hashed.append(os.path.relpath(path, tmp_path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(fingerprints, "open", counting_open, raising=False)
    pipe = validate_file(tmp_path / "pipeline.yaml")
    [done] = run_pipeline(pipe, capture_logs=False, jobs=1).steps
    assert done.status == "done"
    assert sorted(hashed) == ["data/span-1/eval/part.csv", "data/span-1/train/part.csv"]
    hashed.clear()
    [again] = run_pipeline(validate_file(tmp_path / "pipeline.yaml"), capture_logs=False).steps
    assert again.status == "cached"  # the shortcut: hashed by the plan keys only
    assert len(hashed) == 2
