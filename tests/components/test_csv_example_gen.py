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
