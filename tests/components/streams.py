"""Helpers the stream ExampleGens' tests share (Pub/Sub and Kafka): decoded features, MLMD
publication, spans as published, and runs through the CLI killed while a feeder publishes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def features(serialized: bytes) -> dict:
    import tensorflow as tf

    out = {}
    for key, f in tf.train.Example.FromString(serialized).features.feature.items():
        kind = f.WhichOneof("kind")
        out[key] = list(getattr(f, kind).value)
    return out


def publish_mlmd(tmp_path: Path, examples) -> None:
    """Record ``examples`` as a live artifact, as the launcher does once an execution ends."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    from tfxd.infra.mlmd_reference import connection_from_reference

    store = metadata_store.MetadataStore(
        connection_from_reference({"sqlite": str(tmp_path / "metadata.db")}, readonly=False)
    )
    kind = metadata_store_pb2.ArtifactType(name="Examples")
    artifact = metadata_store_pb2.Artifact(
        type_id=store.put_artifact_type(kind),
        uri=examples.uri,
        state=metadata_store_pb2.Artifact.LIVE,
    )
    store.put_artifacts([artifact])


def published_spans(root: Path) -> dict[int, list[int]]:
    """Span → the ``n`` of every example in it, from the live Examples artifacts in MLMD."""
    import tensorflow as tf
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    from tfxd.infra.mlmd_reference import connection_from_reference

    store = metadata_store.MetadataStore(
        connection_from_reference({"sqlite": str(root / "metadata.db")})
    )
    spans: dict[int, list[int]] = {}
    for artifact in store.get_artifacts_by_type("Examples"):
        if artifact.state != metadata_store_pb2.Artifact.LIVE:
            continue
        span = artifact.custom_properties["span"].int_value
        assert span not in spans, f"span {span} published twice"
        files = [str(f) for f in Path(artifact.uri).glob("Split-*/*.gz")]
        spans[span] = [
            features(r.numpy())["n"][0]
            for r in tf.data.TFRecordDataset(files, compression_type="GZIP")
        ]
    return spans


def kill_when(process, ready, what: str, delay: float = 0.0) -> None:
    import os
    import signal
    import time

    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def kill_twice_while_feeding(
    cwd: Path, journal: Path, feed: Callable[[int, int], None], total: int
) -> None:
    """A steady producer (``feed(start, stop)``, 10 messages every 0.25 s up to ``total``)
    while two runs of ``pipeline.yaml`` are SIGKILLed: the first while it drains (nothing
    staged), the second once its span is staged in ``journal``."""
    import subprocess
    import sys
    import threading
    import time

    def producer() -> None:
        for start in range(0, total, 10):
            feed(start, start + 10)
            time.sleep(0.25)

    fed = threading.Thread(target=producer)
    fed.start()
    run = [sys.executable, "-m", "tfxd.cli", "run", "pipeline.yaml"]
    start = lambda: subprocess.Popen(  # noqa: E731
        run, cwd=cwd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    first = start()  # the journal opens as the drain starts
    kill_when(first, journal.is_dir, "the drain", delay=1.0)
    assert not list(journal.glob("*.msgs"))
    second = start()
    kill_when(second, lambda: bool(list(journal.glob("*.msgs"))), "the span on disk")
    fed.join()


def run_until_empty(cwd: Path, total: int, env: dict[str, str] | None = None) -> dict:
    """Run ``pipeline.yaml`` until a run finds nothing new; the published spans, checked to
    hold each of ``total`` messages exactly once."""
    from tests.conftest import tfxd

    outcomes = []
    for _ in range(4):
        done = tfxd("run", "pipeline.yaml", cwd=cwd, env=env)
        outcomes.append(done.returncode)
        if done.returncode:
            assert "no new message within 3 s" in done.stdout + done.stderr
            break
    assert outcomes[0] == 0 and outcomes[-1] == 1, outcomes
    spans = published_spans(cwd / "runs")
    assert sorted(spans) == list(range(1, len(spans) + 1))
    every = sorted(n for ns in spans.values() for n in ns)
    assert every == list(range(total)), "a message was lost or repeated"
    return spans
