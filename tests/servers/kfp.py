"""An HTTP server on 127.0.0.1 that speaks the KFP v2beta1 REST API far enough for ``kfp.Client``,
records every request, and enforces what the real API server enforces on the calls tfxd makes:
bearer auth (when a token is set), the strict parse of an upload as a bare PipelineSpec (optionally
followed by a platform-spec document), schema 2.1.0, pipelineInfo.name and root, unique pipeline,
version and experiment names (HTTP 409), required run fields, known pipeline versions and
parameters, 6-field cron, max_concurrency in [1, 10]."""

from __future__ import annotations

import email.parser
import itertools
import json
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

NOW = "2026-11-25T10:00:00Z"


class Rejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class State:
    token: str | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    pipelines: dict[str, dict] = field(default_factory=dict)
    versions: dict[str, dict] = field(default_factory=dict)
    specs: dict[str, dict] = field(default_factory=dict)  # version id → PipelineSpec
    experiments: dict[str, dict] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)
    recurring: dict[str, dict] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def new_id(self, kind: str) -> str:
        return f"{kind}-{next(self.ids)}"


def parse_template(data: bytes) -> dict:
    """What the API server does with an uploaded YAML: a bare PipelineSpec, strictly."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    try:
        docs = [d for d in yaml.safe_load_all(data) if d is not None]
    except yaml.YAMLError as err:
        raise Rejected(400, f"failed to parse the pipeline file: {err}") from None
    if not docs or not isinstance(docs[0], dict):
        raise Rejected(400, "unknown template format")
    spec = docs[0]
    try:
        json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    except json_format.ParseError:
        raise Rejected(400, "unknown template format: not a PipelineSpec") from None
    if spec.get("schemaVersion") != "2.1.0":
        raise Rejected(400, f"unsupported schema version {spec.get('schemaVersion')!r}")
    if not spec.get("pipelineInfo", {}).get("name") or "root" not in spec:
        raise Rejected(400, "invalid pipeline spec: pipelineInfo.name and root are required")
    for extra in docs[1:]:
        if not isinstance(extra, dict) or "platforms" not in extra:
            raise Rejected(400, "unknown template format: second document is not a PlatformSpec")
    return spec


class Handler(BaseHTTPRequestHandler):
    state: State

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.handle_call("GET")

    def do_POST(self) -> None:
        self.handle_call("POST")

    def do_DELETE(self) -> None:
        self.handle_call("DELETE")

    def handle_call(self, method: str) -> None:
        url = urllib.parse.urlparse(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        call = {
            "method": method,
            "path": url.path,
            "query": query,
            "authorization": self.headers.get("Authorization"),
        }
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser().parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
            )
            call["files"] = {
                part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                for part in message.get_payload()
            }
        elif raw:
            call["body"] = json.loads(raw)
        self.state.calls.append(call)
        try:
            if self.state.token and call["authorization"] != f"Bearer {self.state.token}":
                raise Rejected(401, "Unauthorized: missing or invalid bearer token")
            status, body = 200, self.route(method, url.path, query, call)
        except Rejected as err:
            status, body = err.status, {"error": str(err), "message": str(err), "code": 3}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def route(self, method: str, path: str, query: dict, call: dict) -> dict:
        s = self.state
        base = "/apis/v2beta1/"
        if not path.startswith(base):
            raise Rejected(404, f"no route {path}")
        parts = path[len(base) :].split("/")
        if parts == ["healthz"]:
            return {"commit_sha": "test", "tag_name": "2.3.0", "multi_user": False}
        if parts == ["pipelines", "upload"] and method == "POST":
            name = query.get("name", "")
            if not name:
                raise Rejected(400, "pipeline name is required")
            spec = parse_template(call["files"]["uploadfile"])
            if any(p["display_name"] == name for p in s.pipelines.values()):
                raise Rejected(409, f"pipeline with name {name!r} already exists")
            pid = s.new_id("pipeline")
            s.pipelines[pid] = {
                "pipeline_id": pid,
                "display_name": name,
                "description": query.get("description", ""),
                "created_at": NOW,
            }
            self.add_version(pid, name, spec)
            return s.pipelines[pid]
        if parts == ["pipelines", "upload_version"] and method == "POST":
            pid, name = query.get("pipelineid", ""), query.get("name", "")
            if pid not in s.pipelines:
                raise Rejected(404, f"pipeline {pid!r} not found")
            spec = parse_template(call["files"]["uploadfile"])
            if any(
                v["pipeline_id"] == pid and v["display_name"] == name for v in s.versions.values()
            ):
                raise Rejected(409, f"pipeline version {name!r} already exists")
            return self.add_version(pid, name, spec)
        if parts == ["pipelines"] and method == "GET":
            found = [p for p in s.pipelines.values() if matches(p, query)]
            return {"pipelines": found, "total_size": len(found)} if found else {}
        if len(parts) == 3 and parts[0] == "pipelines" and parts[2] == "versions":
            found = [v for v in s.versions.values() if v["pipeline_id"] == parts[1]]
            found.reverse()  # newest first (sort_by created_at desc)
            return {"pipeline_versions": found, "total_size": len(found)}
        if parts == ["experiments"] and method == "GET":
            found = [e for e in s.experiments.values() if matches(e, query)]
            return {"experiments": found, "total_size": len(found)} if found else {}
        if parts == ["experiments"] and method == "POST":
            name = call["body"].get("display_name", "")
            if not name:
                raise Rejected(400, "experiment name is required")
            if any(e["display_name"] == name for e in s.experiments.values()):
                raise Rejected(409, f"experiment {name!r} already exists")
            eid = s.new_id("experiment")
            s.experiments[eid] = {
                "experiment_id": eid,
                "display_name": name,
                "created_at": NOW,
                "storage_state": "AVAILABLE",
            }
            return s.experiments[eid]
        if parts == ["runs"] and method == "POST":
            body = self.checked_run(call["body"])
            rid = str(uuid.uuid5(uuid.NAMESPACE_URL, s.new_id("run")))  # KFP's ids are UUIDs
            s.runs[rid] = {**body, "run_id": rid, "state": "PENDING", "created_at": NOW}
            return s.runs[rid]
        if parts == ["runs"] and method == "GET":
            runs = list(reversed(s.runs.values()))  # newest first (sort_by created_at desc)
            return {"runs": runs, "total_size": len(runs)}
        if parts == ["recurringruns"] and method == "POST":
            body = self.checked_run(call["body"])
            trigger = body.get("trigger") or {}
            cron = (trigger.get("cron_schedule") or {}).get("cron")
            interval = (trigger.get("periodic_schedule") or {}).get("interval_second")
            if bool(cron) == bool(interval):
                raise Rejected(400, "a recurring run needs exactly one trigger")
            if cron and len(cron.split()) != 6:
                raise Rejected(400, f"invalid cron expression {cron!r}: expected 6 fields")
            if not 1 <= int(body.get("max_concurrency") or 0) <= 10:
                raise Rejected(400, "max concurrency of the recurring run must be in [1, 10]")
            jid = s.new_id("recurring")
            s.recurring[jid] = {**body, "recurring_run_id": jid, "status": "ENABLED"}
            return s.recurring[jid]
        raise Rejected(404, f"no route {method} {path}")

    def add_version(self, pid: str, name: str, spec: dict) -> dict:
        vid = self.state.new_id("version")
        self.state.versions[vid] = {
            "pipeline_id": pid,
            "pipeline_version_id": vid,
            "display_name": name,
            "created_at": NOW,
            "pipeline_spec": spec,
        }
        self.state.specs[vid] = spec
        return self.state.versions[vid]

    def checked_run(self, body: dict) -> dict:
        if not body.get("display_name"):
            raise Rejected(400, "display_name is required")
        if body.get("experiment_id") not in self.state.experiments:
            raise Rejected(404, f"experiment {body.get('experiment_id')!r} not found")
        ref = body.get("pipeline_version_reference") or {}
        vid = ref.get("pipeline_version_id")
        if vid not in self.state.versions or self.state.versions[vid]["pipeline_id"] != ref.get(
            "pipeline_id"
        ):
            raise Rejected(404, f"pipeline version {vid!r} not found")
        declared = self.state.specs[vid]["root"].get("inputDefinitions", {}).get("parameters", {})
        given = (body.get("runtime_config") or {}).get("parameters") or {}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise Rejected(400, f"parameter {unknown[0]!r} is not an input of the pipeline")
        return body


def matches(item: dict, query: dict) -> bool:
    if "filter" not in query:
        return True
    for predicate in json.loads(query["filter"]).get("predicates", []):
        if item.get(predicate["key"]) != predicate.get(
            "stringValue", predicate.get("string_value")
        ):
            return False
    return True


class KfpServer:
    """Start with ``with KfpServer() as server:``; ``server.url``, ``server.state``."""

    def __init__(self, token: str | None = None):
        self.state = State(token=token)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> KfpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self) -> list[str]:
        return [f"{c['method']} {c['path']}" for c in self.state.calls]
