"""tfxd's CsvExampleGen executor on real files: the Examples TFX's own executor makes, and the
rows that cannot be read or break the accepted schema set aside by file:line, up to a share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.components.executors import execute, records, tricky_csv

ACCEPTED = """
feature { name: "id" type: INT shape { dim { size: 1 } } }
feature { name: "x" type: FLOAT }
feature { name: "name" type: BYTES }
feature { name: "count" type: INT }
feature { name: "tract" type: INT }
"""
GOOD = [f"{i},{i / 2},n{i},{i % 7},{'abc' if i == 20 else ''}" for i in range(10, 110)]
BAD = [
    "2,N/A,b,4,",  # not a number in a FLOAT column
    ",1.0,c,5,",  # no id: its shape makes it required
    "4,2.0,d,7.5,",  # not an integer in an INT column
    "6,1.0,f,2,,extra",  # one field too many
    '7,"1,000",g,1,',  # a thousands separator
]


def gate_history(tmp_path: Path) -> str:
    """A gate's history folder whose accepted schema is ``ACCEPTED``, from span 1, in which
    ``tract`` held no values (its INT type a guess)."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from tfxd.infra.schema_store import Origin, SchemaStore

    history = tmp_path / "history"
    schema = text_format.Parse(ACCEPTED, schema_pb2.Schema())
    SchemaStore(str(history)).accept(
        schema, Origin(source="span 1", how="first", span=1, empty=["tract"])
    )
    return str(history)


def run(tmp_path: Path, rows: list[str], **settings):
    from tfxd.components.example_gen.component import CsvExampleGen
    from tfxd.components.example_gen.executor import CsvExecutor, CsvSettings

    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "part.csv").write_text("id,x,name,count,tract\n" + "\n".join(rows) + "\n")
    component = CsvExampleGen(input_base=str(data), custom_config=CsvSettings(**settings).pack())
    return execute(CsvExecutor, component, tmp_path / "out")


def test_the_examples_are_the_ones_tfx_csv_example_gen_makes(tmp_path):
    from tfx.components import CsvExampleGen as TfxCsvExampleGen
    from tfx.components.example_gen.csv_example_gen.executor import Executor as TfxCsv

    from tfxd.components.example_gen.component import CsvExampleGen
    from tfxd.components.example_gen.executor import CsvExecutor

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "data.csv").write_bytes(tricky_csv())
    base = str(tmp_path / "data")
    ours = execute(CsvExecutor, CsvExampleGen(input_base=base), tmp_path / "ours")
    theirs = execute(TfxCsv, TfxCsvExampleGen(input_base=base), tmp_path / "theirs")
    for split in ("train", "eval"):
        assert records(ours.uri, split) == records(theirs.uri, split), split
    assert ours.get_int_custom_property("tfxd_bad_rows") == 0
    assert ours.get_int_custom_property("tfxd_rows") == 39
    assert not (Path(ours.uri) / "BadRows").exists()


def test_rows_against_the_accepted_schema_are_set_aside_with_file_line_and_why(tmp_path):
    history = gate_history(tmp_path)
    rows = GOOD[:3] + BAD + GOOD[3:]
    examples = run(tmp_path, rows, accepted_schema=history, max_bad_rows=0.05)
    kept = records(examples.uri, "train") + records(examples.uri, "eval")
    assert len(kept) == len(GOOD) and examples.get_int_custom_property("tfxd_rows") == len(GOOD)
    assert examples.get_int_custom_property("tfxd_bad_rows") == len(BAD)
    # every x left is a float: the bad cells widened nothing to text
    assert all(e.features.feature["x"].float_list.value for e in kept)
    folder = Path(examples.uri) / "BadRows"
    assert examples.get_string_custom_property("tfxd_bad_rows_file") == str(folder / "rows.csv")
    fed_back = (folder / "rows.csv").read_text().splitlines()
    assert fed_back == ["id,x,name,count,tract", *BAD]  # as in the file: fix and feed back
    source = tmp_path / "data" / "part.csv"
    why = (folder / "why.txt").read_text().splitlines()
    assert why == [
        f"{source}:5: x: 'N/A' is not a number (FLOAT in the accepted schema)",
        f"{source}:6: id has no value, and the accepted schema's shape requires one",
        f"{source}:7: count: '7.5' is not an integer (INT in the accepted schema)",
        f"{source}:8: 6 field(s), the header has 5",
        f"{source}:9: x: '1,000' is not a number (FLOAT in the accepted schema)",
    ]
    # 'abc' in tract, whose INT type was only a guess (it held no values): no bad row
    [tract] = [e for e in kept if e.features.feature["id"].int64_list.value == [20]]
    assert tract.features.feature["tract"].bytes_list.value == [b"abc"]


def test_more_bad_rows_than_allowed_fail_naming_the_first(tmp_path):
    from tfxd.errors import TfxdError

    history = gate_history(tmp_path)
    with pytest.raises(TfxdError) as raised:
        run(tmp_path, GOOD + BAD, accepted_schema=history)  # the default: 1 % (1 row here)
    text = str(raised.value)
    assert "5 of 105 CSV rows are bad (4.8%), max_bad_rows allows 0.01 (1 rows)" in text
    assert f"{tmp_path / 'data' / 'part.csv'}:102: x: 'N/A' is not a number" in text
    assert "BadRows/rows.csv" in text and "raise max_bad_rows" in text


def test_without_an_accepted_schema_only_unreadable_rows_are_bad(tmp_path):
    examples = run(tmp_path, GOOD + BAD, max_bad_rows=0.05)  # the first span: nothing accepted
    assert examples.get_int_custom_property("tfxd_bad_rows") == 1  # the row with 6 fields
    kept = records(examples.uri, "train") + records(examples.uri, "eval")
    assert len(kept) == len(GOOD) + len(BAD) - 1


def read_by_pyarrow(path: Path, width: int, facts: dict | None = None) -> tuple[int, int]:
    """(rows pyarrow parsed, good rows) of a file read alone."""
    from tfxd.components.example_gen.columnar import FileRows, read_file

    found = FileRows()
    for _ in read_file(str(path), [f"c{i}" for i in range(width)], facts or {}, found):
        pass
    return found.fast, found.rows


def plain_csv() -> bytes:
    """A file pyarrow reads (no quote): CRLF endings, blank lines, no newline at the end, and
    cells in the forms real exports have: padded and signed ints, an int too long for int64,
    floats as 1e5, -.5, 7., nan and 2.5e-3, an empty column, a text column of digits and words."""
    rows = ["id,x,name,pad,empty,big,when"]
    for i in range(400):
        x = ["", f"{i * 1.37:.3f}", "1e5", "-.5", "7.", "nan", "2.5e-3", "3"][i % 8]
        pad = [" 2 ", "+3", "-4", "5", "", "0012"][i % 6]
        big = "99999999999999999999" if i == 7 else str(i * 1_000_003)
        name = ["cash", "", "card", "1234", "Crédit"][i % 5]
        rows.append(f"{i},{x},{name},{pad},,{big},2013-0{i % 9 + 1}-01 00:{i % 60:02d}")
        if i % 97 == 0:
            rows.append("")
    return "\r\n".join(rows).encode()


def serialized(uri: str, split: str) -> list[bytes]:
    """A split's Examples as their deterministic bytes, sorted (NaN == NaN, unlike protos)."""
    return sorted(e.SerializeToString(deterministic=True) for e in records(uri, split))


@pytest.mark.parametrize(
    "config",
    ["hash", "partition_feature", "input_splits"],
)
def test_plain_files_make_the_examples_and_splits_tfx_makes(tmp_path, config):
    from tfx.components import CsvExampleGen as TfxCsvExampleGen
    from tfx.components.example_gen.csv_example_gen.executor import Executor as TfxCsv
    from tfx.proto import example_gen_pb2 as pb

    from tfxd.components.example_gen.component import CsvExampleGen
    from tfxd.components.example_gen.executor import CsvExecutor

    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "b").mkdir()
    (data / "a" / "part.csv").write_bytes(plain_csv())
    (data / "b" / "part.csv").write_bytes(plain_csv().replace(b",cash,", b",bank,"))
    assert read_by_pyarrow(data / "a" / "part.csv", 7) == (400, 400)  # not the record reader
    kwargs: dict = {"input_config": pb.Input(splits=[pb.Input.Split(name="all", pattern="*/*")])}
    splits = ["train", "eval"]
    if config == "partition_feature":
        kwargs["output_config"] = pb.Output(
            split_config=pb.SplitConfig(
                splits=[
                    pb.SplitConfig.Split(name=n, hash_buckets=b)
                    for n, b in (("train", 3), ("eval", 1))
                ],
                partition_feature_name="name",
            )
        )
    if config == "input_splits":
        kwargs["input_config"] = pb.Input(
            splits=[
                pb.Input.Split(name="one", pattern="a/*"),
                pb.Input.Split(name="two", pattern="b/*"),
            ]
        )
        splits = ["one", "two"]
    base = str(data)
    ours = execute(CsvExecutor, CsvExampleGen(input_base=base, **kwargs), tmp_path / "ours")
    theirs = execute(TfxCsv, TfxCsvExampleGen(input_base=base, **kwargs), tmp_path / "theirs")
    for split in splits:
        assert serialized(ours.uri, split) == serialized(theirs.uri, split), split
    assert ours.split_names == theirs.split_names
    assert ours.get_string_custom_property("payload_format") == "FORMAT_TF_EXAMPLE"
    first = [e for split in splits for e in records(ours.uri, split)]
    example = next(e for e in first if e.features.feature["id"].int64_list.value == [0])
    assert example.features.feature["pad"].int64_list.value == [2]  # int(b" 2 "), as TFX reads it
    assert not example.features.feature["empty"].HasField("kind")
    assert example.features.feature["big"].bytes_list.value == [b"0"]  # the long int made it text


def test_plain_rows_against_the_accepted_schema_are_set_aside_by_file_line(tmp_path):
    history = gate_history(tmp_path)
    bad = [row for row in BAD if '"' not in row and "extra" not in row]  # keep the file plain
    rows = GOOD[:3] + [""] + bad[:1] + ["", ""] + bad[1:] + GOOD[3:]
    examples = run(tmp_path, rows, accepted_schema=history, max_bad_rows=0.05)
    source = tmp_path / "data" / "part.csv"
    assert read_by_pyarrow(source, 5) == (len(rows) - 3, len(rows) - 3)  # 3 blank lines
    assert examples.get_int_custom_property("tfxd_rows") == len(GOOD)
    folder = Path(examples.uri) / "BadRows"
    assert (folder / "rows.csv").read_text().splitlines() == ["id,x,name,count,tract", *bad]
    assert (folder / "why.txt").read_text().splitlines() == [
        f"{source}:6: x: 'N/A' is not a number (FLOAT in the accepted schema)",
        f"{source}:9: id has no value, and the accepted schema's shape requires one",
        f"{source}:10: count: '7.5' is not an integer (INT in the accepted schema)",
    ]


def test_a_named_beam_runner_reads_through_beam_to_the_same_examples(tmp_path):
    from tfxd.components.example_gen.component import CsvExampleGen
    from tfxd.components.example_gen.executor import CsvExecutor

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "data.csv").write_bytes(plain_csv())
    component = CsvExampleGen(input_base=str(tmp_path / "data"))
    here = execute(CsvExecutor, component, tmp_path / "here")
    beam = execute(CsvExecutor, component, tmp_path / "beam", ["--runner=BundleBasedDirectRunner"])
    assert sorted(p.name for p in Path(here.uri).iterdir()) == ["Split-eval", "Split-train"]
    for split in ("train", "eval"):
        assert serialized(here.uri, split) == serialized(beam.uri, split), split
    # Beam's WriteToTFRecord names its shards; the in-process writer names its one as TFX does
    assert [p.name for p in Path(here.uri, "Split-train").iterdir()] == [
        "data_tfrecord-00000-of-00001.gz"
    ]


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31, 2**62, 2**63 - 1, -1, -(2**63)])
def test_varints_are_protobuf_s(value):
    import numpy as np
    import tensorflow as tf

    from tfxd.components.example_gen.encoding import varints

    packed = tf.train.Int64List(value=[value]).SerializeToString()  # 0a, length, the varint
    assert varints(np.array([value], np.int64))[0].as_py() == packed[2:]


@pytest.mark.parametrize(
    "data", [b"a,b\n", b"a,b", b"a,b\n1,x", b"a,b\r\n\r\n\r\n1,2\r\n,\r\n"], ids=repr
)
def test_short_files_make_what_tfx_makes(tmp_path, data):
    from tfx.components import CsvExampleGen as TfxCsvExampleGen
    from tfx.components.example_gen.csv_example_gen.executor import Executor as TfxCsv

    from tfxd.components.example_gen.component import CsvExampleGen
    from tfxd.components.example_gen.executor import CsvExecutor

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "data.csv").write_bytes(data)
    base = str(tmp_path / "data")
    ours = execute(CsvExecutor, CsvExampleGen(input_base=base), tmp_path / "ours")
    theirs = execute(TfxCsv, TfxCsvExampleGen(input_base=base), tmp_path / "theirs")
    for split in ("train", "eval"):
        assert serialized(ours.uri, split) == serialized(theirs.uri, split), split


def test_a_large_split_is_written_in_a_shard_per_core(tmp_path, monkeypatch):
    from tfx.components import CsvExampleGen as TfxCsvExampleGen
    from tfx.components.example_gen.csv_example_gen.executor import Executor as TfxCsv

    from tfxd.components.example_gen import ingest
    from tfxd.components.example_gen.component import CsvExampleGen
    from tfxd.components.example_gen.executor import CsvExecutor

    monkeypatch.setattr(ingest, "SHARD_ROWS", 100)  # 400 rows: train 266, eval 133
    monkeypatch.setattr(ingest, "usable_cpus", lambda: 2)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "data.csv").write_bytes(plain_csv())
    base = str(tmp_path / "data")
    ours = execute(CsvExecutor, CsvExampleGen(input_base=base), tmp_path / "ours")
    theirs = execute(TfxCsv, TfxCsvExampleGen(input_base=base), tmp_path / "theirs")
    train = sorted(p.name for p in Path(ours.uri, "Split-train").iterdir())
    assert train == ["data_tfrecord-00000-of-00002.gz", "data_tfrecord-00001-of-00002.gz"]
    [eval_file] = Path(ours.uri, "Split-eval").iterdir()
    assert eval_file.name == "data_tfrecord-00000-of-00001.gz"
    for split in ("train", "eval"):
        assert serialized(ours.uri, split) == serialized(theirs.uri, split), split
    import tensorflow as tf

    counts = [
        sum(1 for _ in tf.data.TFRecordDataset(str(Path(ours.uri, "Split-train", f)), "GZIP"))
        for f in train
    ]
    assert abs(counts[0] - counts[1]) <= 1, counts  # each shard its half of every batch


def test_numbers_parse_as_python_parses_them(tmp_path):
    """pyarrow's parse of the common forms against Python's float/int (TFX's), on random values
    written with all their digits, with exponents, and in the odd forms only Python reads."""
    import numpy as np
    import pyarrow as pa
    import tensorflow as tf

    from tfxd.components.example_gen.columnar import Kind
    from tfxd.components.example_gen.encoding import feature_values

    rng = np.random.default_rng(7)
    floats = [
        repr(float(v)) for v in rng.standard_normal(3000) * 10.0 ** rng.integers(-30, 30, 3000)
    ]
    floats += [f"{v:.9e}" for v in rng.random(500)] + ["1_0.5", " 3.25 ", "-0", "inf", "1e-50", ""]
    ints = [str(int(v)) for v in rng.integers(-(2**63), 2**63 - 1, 3000, dtype=np.int64)]
    ints += ["+7", " 8 ", "1_000", "-0", "007", ""]
    for kind, cells, parse in ((Kind.FLOAT, floats, float), (Kind.INT, ints, int)):
        values, sizes = feature_values(pa.array([c.encode() for c in cells], pa.binary()), kind)
        for cell, value, size in zip(cells, values.to_pylist(), sizes, strict=True):
            feature = tf.train.Feature.FromString(value)
            assert len(value) == size
            got = list(feature.float_list.value if kind == Kind.FLOAT else feature.int64_list.value)
            want = [parse(cell.encode())] if cell else []
            if kind == Kind.FLOAT:
                want = list(np.array(want, np.float32))
            assert got == want, cell


def nasty_csv() -> bytes:
    """Plain lines around every kind of record the plain check refuses: quoted commas, a field
    over lines, a NUL, bytes that are not UTF-8, a field too few, a lone CR, a blank line, CRLF,
    and a quote never closed at the end."""
    lines = [b"id,x,name"] + [f"{i},{i / 2},n{i}".encode() for i in range(1, 30)]
    lines[5:5] = [b'100,"3,5",quoted', b'101,4.5,"multi', b'line"', b"", b"102,x\x00y,nul"]
    lines[12:12] = [b"103,\xff\xfe,latin", b"104,1.0", b"105,1.0,lone\rcr", b"106,2.0,crlf\r"]
    return b"\n".join([*lines, b'107,"open,never', b"108,1,closed"]) + b"\n"


@pytest.mark.parametrize("chunk", [8 << 20, 37], ids=["one chunk", "37-byte chunks"])
def test_the_chunked_reader_sets_aside_what_the_record_reader_does(tmp_path, monkeypatch, chunk):
    from tfxd.components.example_gen import columnar
    from tfxd.components.example_gen.component import CsvExampleGen
    from tfxd.components.example_gen.executor import CsvExecutor, CsvSettings

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "data.csv").write_bytes(nasty_csv())
    monkeypatch.setattr(columnar, "SCAN_BYTES", chunk)  # records across chunks, too
    fast, rows = read_by_pyarrow(tmp_path / "data" / "data.csv", 3)
    assert (fast, rows) == (30, 32)  # 29 plain + the CRLF line; 2 quoted by the record reader
    component = CsvExampleGen(
        input_base=str(tmp_path / "data"), custom_config=CsvSettings(max_bad_rows=1.0).pack()
    )
    here = execute(CsvExecutor, component, tmp_path / "here")
    beam = execute(CsvExecutor, component, tmp_path / "beam", ["--runner=BundleBasedDirectRunner"])
    for split in ("train", "eval"):
        assert serialized(here.uri, split) == serialized(beam.uri, split), split
    for name in ("why.txt", "rows.csv"):
        assert (
            Path(here.uri, "BadRows", name).read_bytes()
            == Path(beam.uri, "BadRows", name).read_bytes()
        )
    why = Path(here.uri, "BadRows", "why.txt").read_text()
    assert ":10: line contains NUL" in why and ":13: not UTF-8" in why, why
    assert ":14: 2 field(s), the header has 3" in why and "a quoted field is never closed" in why
