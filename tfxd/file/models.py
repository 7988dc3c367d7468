"""Typed model of a pipeline file (``apiVersion: tfxd/v1``, ``kind: Pipeline``).

These models check structure only. What depends on component types (their parameters, inputs and
outputs) is checked against the component registry by ``tfxd.pipelines.pipeline``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tfxd.file.uris import LOCAL_ROOT, LOCAL_SQLITE, URI, local

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
NODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,62}$"
ENV_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
PARAM_REF = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
MULTI_PROCESSING_FROM_MB = 100.0  # Beam in worker processes from this input size (bench/scale.py)


class Strict(BaseModel):
    """Unknown keys are errors; field names match the YAML."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Metadata(Strict):
    name: str = Field(pattern=NAME_PATTERN, description="Pipeline name: lowercase, digits, '-'.")
    description: str = ""


class MySQL(Strict):
    """MLMD on MySQL; credentials are read from the named environment variables at run time."""

    host: str
    port: int = Field(3306, ge=1, le=65535)
    database: str
    user_env: str = Field(pattern=ENV_PATTERN, description="Env var holding the user name.")
    password_env: str = Field(pattern=ENV_PATTERN, description="Env var holding the password.")


class MetadataStore(Strict):
    """Where ML Metadata lives: a SQLite file (local default) or a MySQL server."""

    sqlite: Annotated[str | None, local(LOCAL_SQLITE)] = Field(
        None, description="SQLite file, relative to the pipeline file."
    )
    mysql: MySQL | None = None

    @model_validator(mode="after")
    def _one_backend(self) -> MetadataStore:
        if self.sqlite is not None and self.mysql is not None:
            raise ValueError("set exactly one of 'sqlite' or 'mysql'")
        return self


class Component(Strict):
    """One node. Its id is the key in ``components``; edges come from ``inputs``."""

    type: str = Field(description="Component type, e.g. CsvExampleGen, Trainer.")
    inputs: dict[str, str] = Field(
        default_factory=dict, description="Input name → 'node.output' reference."
    )
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="Parameters of the component type."
    )
    after: list[str] = Field(
        default_factory=list,
        description="Nodes that must succeed first, without passing data (e.g. a gate).",
    )


class SecretRef(Strict):
    """A Kubernetes Secret key exposed to every task as an environment variable."""

    secret: str = Field(description="Name of the Kubernetes Secret.")
    key: str = Field(description="Key inside the Secret.")


CPU_PATTERN = r"^([0-9]*[.])?[0-9]+m?$"
MEMORY_PATTERN = r"^[0-9]+(\.[0-9]+)?(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?$"
_MEMORY_UNITS = {
    "": 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def cpu_cores(value: str) -> float:
    """A Kubernetes CPU quantity ('500m', '2') in cores, as KFP's ResourceSpec wants it."""
    return float(value[:-1]) / 1000 if value.endswith("m") else float(value)


def memory_gb(value: str) -> float:
    """A Kubernetes memory quantity ('512Mi', '4G') in GB (10^9 bytes), as KFP's SDK converts it."""
    match = re.match(r"^([0-9.]+)([A-Za-z]*)$", value)
    assert match, value
    return float(match.group(1)) * _MEMORY_UNITS[match.group(2)] / 10**9


class Resources(Strict):
    cpu: str | None = Field(None, description="CPU cores: '2', '0.5' or millicores '500m'.")
    memory: str | None = Field(None, description="Memory: '512Mi', '4Gi', '2G'.")

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu(cls, value: Any) -> Any:
        value = _quantity(value)
        if value is not None and not re.match(CPU_PATTERN, value):
            raise ValueError(f"cpu '{value}': write cores ('2', '0.5') or millicores ('500m')")
        return value

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> Any:
        value = _quantity(value)
        if value is not None and not re.match(MEMORY_PATTERN, value):
            raise ValueError(
                f"memory '{value}': write a Kubernetes quantity such as '512Mi', '4Gi' or '2G'"
            )
        return value


def _quantity(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class Gpu(Strict):
    count: int = Field(1, ge=1, description="GPUs per pod.")
    type: str = Field("nvidia.com/gpu", description="Accelerator resource name or type.")


class Toleration(Strict):
    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = Field(None, ge=0)


class SecretVolume(Strict):
    secret: str = Field(description="Name of the Kubernetes Secret.")
    mount_path: str = Field(pattern=r"^/", description="Absolute path it is mounted at.")
    optional: bool = False


class PodSettings(Strict):
    """What a node's pod gets on Kubernetes; under runners.kubeflow for every node, under
    runners.kubeflow.nodes.<id> for one (maps merge key by key, lists add up)."""

    requests: Resources | None = None
    limits: Resources | None = None
    gpu: Gpu | None = None
    env: dict[str, str] = Field(
        default_factory=dict, description="Plain env vars (never secrets: use 'secrets')."
    )
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict, description="Env var name → Kubernetes Secret reference."
    )
    secret_volumes: list[SecretVolume] = Field(
        default_factory=list, description="Kubernetes Secrets mounted as files."
    )

    @field_validator("secrets", "env")
    @classmethod
    def _env_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.match(ENV_PATTERN, name):
                raise ValueError(f"'{name}' is not an environment variable name (A-Z, 0-9, _)")
        return value


class NodePod(PodSettings):
    image: str | None = Field(
        None, description="Image for this node (default: runners.kubeflow.image)."
    )


class Kubeflow(PodSettings):
    image: str = Field(description="Container image holding tfxd and the pipeline folder.")
    pipeline_root: str | None = Field(
        None, description="Pipeline root on the cluster (s3://, gs://, or a mounted path)."
    )
    pipeline_dir: str | None = Field(
        None,
        description="Where this pipeline's folder sits inside the image "
        "(default /tfxd/pipelines/<folder name>). Relative paths in the spec are rebased here.",
    )
    python_path: str = Field(
        "/tfxd",
        description="A folder on the image's PYTHONPATH that holds pipeline_dir; module files are "
        "imported from the image by their module name under it.",
    )
    nodes: dict[str, NodePod] = Field(
        default_factory=dict, description="Per-node pod settings, merged over the ones above."
    )

    def pod(self, node: str) -> NodePod:
        """The settings of ``node``'s pod: pipeline-wide ones with the node's merged over them
        (``image`` stays None unless the node has its own)."""
        own = self.nodes.get(node) or NodePod()

        def resources(a: Resources | None, b: Resources | None) -> Resources | None:
            if a is None or b is None:
                return b or a
            return Resources(cpu=b.cpu or a.cpu, memory=b.memory or a.memory)

        return NodePod(
            image=own.image,
            requests=resources(self.requests, own.requests),
            limits=resources(self.limits, own.limits),
            gpu=own.gpu or self.gpu,
            env={**self.env, **own.env},
            node_selector={**self.node_selector, **own.node_selector},
            tolerations=[*self.tolerations, *own.tolerations],
            secrets={**self.secrets, **own.secrets},
            secret_volumes=[*self.secret_volumes, *own.secret_volumes],
        )


class Airflow(Strict):
    schedule: str | None = Field(None, description="Cron expression or preset such as @daily.")
    start_date: dt.date = Field(dt.date(2026, 1, 1))
    catchup: bool = False
    retries: int = Field(0, ge=0, description="Retries of a failed task.")
    retry_delay_seconds: int = Field(300, ge=0, description="Wait before a retry (Airflow: 300).")


# The runners Beam 2.59 knows by name (StandardOptions.ALL_KNOWN_RUNNERS; a test keeps them equal)
BEAM_RUNNERS = (
    "DataflowRunner",
    "BundleBasedDirectRunner",
    "DirectRunner",
    "SwitchingDirectRunner",
    "InteractiveRunner",
    "FlinkRunner",
    "PortableRunner",
    "PrismRunner",
    "SparkRunner",
    "TestDirectRunner",
    "TestDataflowRunner",
)


def check_beam_args(value: list[str]) -> list[str]:
    """A ``--runner`` Beam cannot create is refused here, not in the middle of a run."""
    known = {r.lower() for r in BEAM_RUNNERS}
    for arg in value:
        name, sep, runner = arg.partition("=")
        if name != "--runner" or not sep or "." in runner:  # module.Class: Beam imports it
            continue
        if runner.lower() not in known and f"{runner.lower()}runner" not in known:
            raise ValueError(
                f"{arg}: Beam has no runner of that name; use one of {', '.join(BEAM_RUNNERS)} "
                "or a module.Class path"
            )
    return value


class Local(Strict):
    beam_args: list[str] = Field(default_factory=list, description="Extra Beam pipeline args.")

    _beam_args = field_validator("beam_args")(classmethod(lambda cls, v: check_beam_args(v)))


class Beam(Strict):
    """How a local run's Beam DirectRunner executes (unless beam_args name a runner or mode)."""

    mode: Literal["auto", "in_memory", "multi_processing"] = Field(
        "auto",
        description="auto: in memory below multi_processing_from_mb of input files, else one "
        "worker process per core.",
    )
    workers: int = Field(0, ge=0, description="multi_processing workers (0: one per usable core).")
    multi_processing_from_mb: float = Field(
        MULTI_PROCESSING_FROM_MB,
        gt=0,
        description="auto: input size (MB of the files the ExampleGens read) from which Beam runs "
        "in worker processes (measured crossover, docs/benchmarks.md).",
    )


class Runners(Strict):
    local: Local = Field(default_factory=Local)
    kubeflow: Kubeflow | None = None
    airflow: Airflow = Field(default_factory=Airflow)


class Watch(Strict):
    """How ``tfxd watch`` treats a span whose runs fail."""

    retries: int = Field(
        3, ge=0, description="Runs of a failing span after its first, before it is quarantined."
    )
    on_quarantine: Literal["skip", "strict"] = Field(
        "skip",
        description="skip: later spans go on; strict: the queue stops at a quarantined span "
        "until it is released (tfxd watch FILE --release SPAN).",
    )


class ServingLog(Strict):
    """What ``tfxd serve`` keeps of the requests it answers: spans of tf.Examples."""

    path: str = Field(
        "serving-log",
        description="Where the log's spans (span-1, span-2, …) go: a folder relative to the "
        "pipeline file, or an S3 prefix (s3://BUCKET/PREFIX; credentials from the AWS_* "
        "environment or the instance's role, never from this file).",
    )
    sample: float = Field(
        1.0, ge=0, le=1, description="Share of request rows logged (1: every row, 0.1: one in ten)."
    )
    span_rows: int = Field(100_000, ge=1, description="Rows after which a span is closed.")
    span_seconds: float = Field(
        3600, gt=0, description="Seconds after a span's first row when it is closed."
    )

    @field_validator("path")
    @classmethod
    def _folder_or_s3(cls, value: str) -> str:
        scheme = URI.match(value)
        if scheme and scheme.group(1) != "s3":
            raise ValueError(
                f"{scheme.group(1)}:// cannot hold the serving log: use a folder or s3://BUCKET/PREFIX"
            )
        if value.startswith("s3://") and not value[5:].split("/")[0]:
            raise ValueError("no bucket: write s3://BUCKET/PREFIX")
        return value


class Serving(Strict):
    """How ``tfxd serve`` logs what it answers, and what serving skew does."""

    log: ServingLog | None = Field(
        None, description="Log requests and predictions into spans (off when absent)."
    )
    on_serving_drift: Literal["warn", "retrain"] = Field(
        "warn",
        description="When a serving-log span's skew breaches its thresholds: warn (tfxd watch "
        "reports it, exit code 6) or retrain (tfxd watch also runs the pipeline on its newest "
        "span).",
    )


class Body(Strict):
    root: Annotated[str, local(LOCAL_ROOT)] = Field(
        description="pipeline_root for local runs, relative to the pipeline file."
    )
    metadata: MetadataStore = Field(default_factory=MetadataStore)
    parameters: dict[str, int | float | str | bool] = Field(
        default_factory=dict,
        description="Runtime parameters; refer to them as ${{ parameters.NAME }}.",
    )
    beam_args: list[str] = Field(
        default_factory=list, description="Beam args for every runner (e.g. --direct_num_workers)."
    )
    beam: Beam = Field(default_factory=Beam)
    components: dict[str, Component] = Field(min_length=1)

    _beam_args = field_validator("beam_args")(classmethod(lambda cls, v: check_beam_args(v)))
    runners: Runners = Field(default_factory=Runners)
    watch: Watch = Field(default_factory=Watch)
    serving: Serving = Field(default_factory=Serving)

    @field_validator("components")
    @classmethod
    def _node_ids(cls, value: dict[str, Component]) -> dict[str, Component]:
        for name in value:
            if not re.match(NODE_PATTERN, name):
                raise ValueError(
                    f"node id '{name}' must start with a letter and use only letters, digits, '_'"
                )
        return value


class PipelineFile(Strict):
    """A whole pipeline file."""

    api_version: Literal["tfxd/v1"] = Field(alias="apiVersion")
    kind: Literal["Pipeline"]
    metadata: Metadata
    body: Body = Field(alias="spec")
