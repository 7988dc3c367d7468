"""Model history and rollback over every pusher's destination (TFX's Pusher and TFLitePusher):
versions, their manifests, the serving pointer, and rollbacks recorded in ML Metadata (who, when,
why)."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from rich.console import Console
from rich.table import Table

from tfxd.errors import TfxdError
from tfxd.infra.versions import Destination, PushError, manifest
from tfxd.mlmd.text import slashed
from tfxd.serving.status import running

ROLLBACK_TYPE = "tfxd.Rollback"


def destinations(pipe: Any) -> list[Destination]:
    """Where each node that keeps model versions (its type says so) keeps them."""
    out = []
    for node_id in pipe.order:
        node = pipe.nodes[node_id]
        if node.type.models.versions is not None:
            out.append(
                node.type.models.versions(node_id, node.params, pipe.name, pipe.loaded.location)
            )
    if not out:
        raise TfxdError(
            f"{pipe.loaded.path}: no pusher node (Pusher, TFLitePusher): nothing keeps model "
            "versions"
        )
    return out


def print_models(pipe: Any, console: Console) -> None:
    for dest in destinations(pipe):
        serving = dest.serving()
        table = Table(title=f"versions of {dest.model}")
        for column in ("version", "created", "span", "accuracy", "blessed"):
            table.add_column(column, no_wrap=True)
        table.add_column("tflite KB")  # wraps between variants
        for version in reversed(dest.versions()):
            m = manifest(dest.model_dir, version)
            sizes = ", ".join(
                f"{v['variant']} {v['bytes'] / 1024:.1f}"
                for v in m.get("variants", [])
                if v["pushed"]
            )
            accuracy = m.get("saved_model", {}).get("accuracy")
            table.add_row(
                f"{version}{' *' if version == serving else ''}",
                str(m.get("created", ""))[:16].replace("T", " "),
                str(m.get("span", "") if m.get("span") is not None else "-"),
                f"{accuracy:.4f}" if isinstance(accuracy, float) else "-",
                "yes" if m.get("blessed") else "no",
                sizes or "-",
            )
        console.print(table)
        console.print("* serving; versions under", markup=False)
        for line in slashed(f"{dest.model_dir}/", console.width - 2):
            console.print(f"  {line}", markup=False, highlight=False)
        for server in running(dest.folder, dest.model):
            console.print(
                f"tfxd serve on {server.address} (pid {server.pid}) answers version "
                f"{server.version if server.version is not None else 'none'}"
                + (f" since {server.since}" if server.since else "")
            )
            for version, why in sorted(server.refused.items()):
                console.print(f"  refused version {version}: {why}", soft_wrap=True)


def rollback(
    pipe: Any,
    *,
    to: int | None,
    reason: str,
    force: bool,
    connection: Any,
) -> tuple[int | None, int]:
    """Point serving at ``to`` (default: the version before the serving one); returns
    (from, to). Refuses unknown or unblessed versions unless ``force``."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    [dest, *more] = destinations(pipe)
    if more:
        raise TfxdError(
            f"several pusher nodes ({', '.join(d.node for d in [dest, *more])}): rollback "
            "supports one per pipeline"
        )
    known = dest.versions()
    current = dest.serving()
    if to is None:
        older = [v for v in known if current is None or v < current]
        if not older:
            raise PushError(
                f"no version older than the serving one ({current}) under {dest.model_dir}: "
                "pass --to VERSION"
            )
        to = older[-1]
    if to not in known:
        raise PushError(
            f"no complete version {to} under {dest.model_dir} (versions: "
            f"{', '.join(map(str, known)) or 'none'})"
        )
    if not manifest(dest.model_dir, to).get("blessed") and not force:
        raise PushError(f"version {to} was not blessed: pass --force to serve it anyway")
    dest.serve(to)
    store = metadata_store.MetadataStore(connection)
    type_id = store.put_execution_type(mlmd.ExecutionType(name=ROLLBACK_TYPE), can_add_fields=True)
    execution = mlmd.Execution(type_id=type_id, last_known_state=mlmd.Execution.COMPLETE)
    for key, value in {
        "model": dest.model,
        "from_version": str(current) if current is not None else "",
        "to_version": str(to),
        "user": getpass.getuser(),
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "reason": reason,
        "forced": str(force).lower(),
    }.items():
        execution.custom_properties[key].string_value = value
    context = store.get_context_by_type_and_name("pipeline", pipe.name)
    store.put_execution(execution, [], [context] if context is not None else [])
    return current, to
