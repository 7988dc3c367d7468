"""The lineage tree at 80 and 200 columns: paths relative to the folder they share, digests cut,
no line wider than the terminal, no path broken inside a word; --wide keeps everything whole."""

from __future__ import annotations

from rich.console import Console

from tfxd.mlmd.lineage import LineageNode, show_tree

BASE = "/home/someone/projects/taxi-forecasting/pipelines/taxi/experiments/runs/taxi_native_keras"
DIGEST = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0b"
FINGERPRINT = (
    f"split:train,num_files:12,sha256:{DIGEST}\nsplit:eval,num_files:3,sha256:{DIGEST[::-1]}"
)


def tree() -> LineageNode:
    examples = LineageNode(
        3,
        "Examples",
        f"{BASE}/examples/Examples/examples/1",
        "examples",
        1,
        "complete",
        details=[
            "input files: /data/exports/chicago_taxi_trips/2026/half-year-exports-by-pickup-time",
            "  span-6/train/part-000.csv, span-6/train/part-001.csv, span-6/eval/part-000.csv",
            f"fingerprint: {FINGERPRINT}",
        ],
    )
    transform = LineageNode(
        7,
        "TransformGraph",
        f"{BASE}/transform/TransformGraph/transform_graph_with_a_long_name/4",
        "transform",
        4,
        "complete",
        [examples],
    )
    deep = LineageNode(
        9,
        "Schema",
        f"{BASE}/schema/Schema/schema/" + "nested/" * 12 + "2",
        "schema",
        2,
        "cached",
        [examples],
    )
    transform.inputs.append(deep)
    return LineageNode(
        12, "Model", f"{BASE}/train/Model/model/8", "train", 8, "complete", [transform]
    )


def rendered(width: int, wide: bool = False) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    show_tree(tree(), console, wide)
    return console.export_text().splitlines()


def test_at_80_columns_every_line_fits_and_no_path_is_broken():
    lines = rendered(80)
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    assert lines[0] == "artifacts under"
    assert "".join(lines[1:3]) == f"{BASE}/" and lines[1].endswith("/")  # broken after a /
    text = "\n".join(lines)
    for whole in ("train/Model/model/8", "examples/Examples/examples/1", "(shown above)"):
        assert whole in text
    # the deep path loses its middle, on one line, and keeps its version
    [deep] = [line for line in lines if "schema/Schema" in line]
    assert "…" in deep and deep.endswith("nested/2")
    assert DIGEST not in text and f"sha256 {DIGEST[:12]}" in text
    assert "train: 12 file(s)" in text and "eval: 3 file(s)" in text


def test_at_200_columns_and_wide_paths_are_whole():
    lines = rendered(200)
    assert max(len(line) for line in lines) <= 200
    assert "…" not in "\n".join(lines)
    wide = "\n".join(rendered(80, wide=True))
    assert DIGEST in wide and "nested/" * 12 + "2" in wide
