"""The fast CSV ExampleGen against TFX's own CsvExampleGen executor, on the same files.

Each test runs TFX 1.15.1's executor (Beam, row by row) and this project's executor on
one data folder and compares what they wrote: split names, and per split the examples
field by field (as deterministic serializations, so kinds, values and empty lists all
count), which makes split membership part of the comparison.
"""

import gzip
import os
import shutil

import pyarrow as pa
import pytest
import tensorflow as tf
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv_executor
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import proto_utils
from tfx_bsl.coders import csv_decoder

from components import checked_csv_example_gen
from components import csv_check
from components import csv_columns
from components import csv_to_examples
from components import example_bytes
from components import example_gen
from components.csv_check import CsvFormatError

# Every cell pyarrow's own inference reads otherwise than TFX: empty cells, NA, nan,
# true, dates, integers beyond int64, with a column of empty cells only.
ODD_CSV = (
    "id,count,ratio,flag,day,big,na,nan_col,none,signed,text\n"
    '1,10,0.5,true,2024-01-31,12345678901234567890,NA,nan,,+7,"a, b"\n'
    "2,,1.25,false,2024-02-01,1,1,1.5,,-3,plain\n"
    "3,7,,,2024-02-02,,,inf,,0012,\n"
    "4,-2,3,TRUE,,-99999999999999999999,2,-nan,,  5  , spaced \n"
    "5,0,1e3,1,2024-03-01 10:00,9223372036854775807,,1e400,,7,x\n"
    '6,3,.5,0,,-9223372036854775808,NA,2,,8,""\n'
)


def _exec_properties(input_base, buckets=example_gen.DEFAULT_SPLIT_BUCKETS, config=None):
    properties = {
        standard_component_specs.INPUT_BASE_KEY: str(input_base),
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="single_split", pattern="*")]
            )
        ),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen.split_config(buckets)
        ),
        standard_component_specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
    }
    if config is not None:
        properties[standard_component_specs.CUSTOM_CONFIG_KEY] = proto_utils.proto_to_json(config)
    return properties


def _run(executor_class, input_base, output_dir, **kwargs):
    """Runs an executor; returns (artifact, {split: sorted deterministic examples})."""
    examples = standard_artifacts.Examples()
    examples.uri = str(output_dir)
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=[], tmp_dir=str(output_dir / "tmp")
    )
    executor_class(context).Do(
        {},
        {standard_component_specs.EXAMPLES_KEY: [examples]},
        _exec_properties(input_base, **kwargs),
    )
    return examples, _read_splits(examples)


def _read_splits(examples):
    splits = {}
    for name in artifact_utils.decode_split_names(examples.split_names):
        files = tf.io.gfile.glob(os.path.join(examples.uri, f"Split-{name}", "*"))
        splits[name] = sorted(
            tf.train.Example.FromString(record.numpy()).SerializeToString(deterministic=True)
            for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
        )
    return splits


def _no_checks():
    return checked_csv_example_gen.custom_config((), ())


def _assert_same_as_tfx(folder, tmp_path, config, **kwargs):
    tfx_artifact, tfx_splits = _run(tfx_csv_executor.Executor, folder, tmp_path / "tfx", **kwargs)
    ours, our_splits = _run(
        checked_csv_example_gen.Executor, folder, tmp_path / "ours", config=config, **kwargs
    )
    assert ours.split_names == tfx_artifact.split_names
    assert ours.get_string_custom_property("payload_format") == "FORMAT_TF_EXAMPLE"
    assert {name: len(values) for name, values in our_splits.items()} == {
        name: len(values) for name, values in tfx_splits.items()
    }
    assert our_splits == tfx_splits
    return our_splits


def _feature(serialized, name):
    feature = tf.train.Example.FromString(serialized).features.feature[name]
    kind = feature.WhichOneof("kind")
    return kind, (list(getattr(feature, kind).value) if kind else None)


@pytest.mark.parametrize(
    "cell",
    [
        b"",
        b"0",
        b"-7",
        b"+7",
        b"  5  ",
        b"1_000",
        b"0012",
        b"9223372036854775807",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"12345678901234567890",
        b"1.5",
        b".5",
        b"5.",
        b"1e3",
        b"1E-3",
        b"nan",
        b"-nan",
        b"inf",
        b"Infinity",
        b"1e400",
        b"NA",
        b"true",
        b"2024-01-31",
        b" ",
        b"0x10",
        b"1,5",
        "\u0661".encode(),
        b"--1",
    ],
)
def test_cell_types_are_tfx_bsl_s(cell):
    expected = csv_decoder._InferValueType(cell)  # pylint: disable=protected-access
    assert csv_columns.infer_value_type(cell) == int(expected.value)
    column = pa.chunked_array([pa.array([cell.decode("utf-8")], pa.string())])
    assert csv_columns.column_type(column) == int(expected.value)


@pytest.mark.parametrize(
    "names",
    [
        None,  # The taxi sample's header.
        ["na", "nan_col", "none", "a", "ab", "b", "a_b", "aa", "B", "\u00e9", "e"],
    ],
)
def test_the_examples_are_written_in_the_bytes_tfx_hashes(sample_csv, names):
    with open(sample_csv, "rb") as data:
        content = data.read()
    header = content[: content.index(b"\n")].decode().split(",")
    table = csv_columns.read_chunk(content[content.index(b"\n") + 1 :], header)
    if names is not None:  # The sample's first columns, renamed.
        table = table.select(list(range(len(names)))).rename_columns(names)
    types = [csv_columns.column_type(column) for column in table.columns]
    order = csv_to_examples.key_order(table.column_names)
    for serialized in example_bytes.encode(table, types, order):
        assert serialized == tf.train.Example.FromString(serialized).SerializeToString(
            deterministic=True
        )


def test_the_taxi_sample_is_read_as_tfx_reads_it(sample_csv, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(sample_csv, folder / "data.csv")
    splits = _assert_same_as_tfx(folder, tmp_path, _no_checks())
    # Empty cells are empty lists of the column's kind, not kind-less features.
    features = [_feature(e, "pickup_community_area") for e in splits["train"]]
    assert ("int64_list", []) in features
    assert all(kind == "int64_list" for kind, _ in features)


def test_odd_cells_are_read_as_tfx_reads_them(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "odd.csv").write_text(ODD_CSV)
    splits = _assert_same_as_tfx(folder, tmp_path, _no_checks(), buckets=(1, 1))
    examples = {_feature(e, "id")[1][0]: e for split in splits.values() for e in split}
    assert _feature(examples[2], "count") == ("int64_list", [])  # An empty cell.
    assert _feature(examples[1], "big") == ("bytes_list", [b"12345678901234567890"])
    assert _feature(examples[1], "na") == ("bytes_list", [b"NA"])
    assert _feature(examples[1], "flag") == ("bytes_list", [b"true"])
    assert _feature(examples[1], "day") == ("bytes_list", [b"2024-01-31"])
    assert _feature(examples[5], "nan_col") == ("float_list", [float("inf")])
    assert _feature(examples[4], "signed") == ("int64_list", [5])
    assert _feature(examples[1], "none") == (None, None)  # A column of empty cells only.


def test_worker_processes_and_chunks_write_the_same_examples(sample_csv, tmp_path):
    # TFX's executor cannot read gzip: it reads the same rows twice from plain files.
    plain, folder = tmp_path / "plain", tmp_path / "data"
    for name in ("data.csv", "more.csv"):
        plain.mkdir(exist_ok=True)
        shutil.copy(sample_csv, plain / name)
    folder.mkdir()
    shutil.copy(sample_csv, folder / "data.csv")
    with open(sample_csv, "rb") as data:
        (folder / "more.csv.gz").write_bytes(gzip.compress(data.read()))
    _, tfx_splits = _run(tfx_csv_executor.Executor, plain, tmp_path / "tfx")
    uris = [str(tmp_path / "ours" / f"Split-{name}") for name in example_gen.SPLIT_NAMES]
    result = csv_to_examples.write_examples(
        [str(folder / "data.csv"), str(folder / "more.csv.gz")],
        (),
        (),
        uris,
        [2, 3],
        workers=2,
        chunk_bytes=50_000,
    )
    assert result["rows"] == 4000 and result["python_files"] == []
    files = sorted(os.listdir(uris[0]))
    assert len(files) > 3 and files[0] == f"data_tfrecord-00000-of-{len(files):05d}.gz"
    ours = {}
    for name, uri in zip(example_gen.SPLIT_NAMES, uris):
        ours[name] = sorted(
            tf.train.Example.FromString(r.numpy()).SerializeToString(deterministic=True)
            for r in tf.data.TFRecordDataset(tf.io.gfile.glob(uri + "/*"), "GZIP")
        )
    assert ours == tfx_splits


def test_quotes_and_line_breaks_fall_back_to_python_s_csv_and_still_match(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "q.csv").write_bytes(
        b'id,text,n\n1,"say ""hi""",2\n2,"two\nlines",3\n3,"cr\rin quotes",4\n4,plain,5\n'
    )
    our_splits = _assert_same_as_tfx(folder, tmp_path, _no_checks())
    assert sum(len(split) for split in our_splits.values()) == 4


def test_a_bad_cell_in_a_worker_s_chunk_is_named_with_file_line_and_column(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    lines = ["fare,tips,company"] + [f"{i}.5,1,C{i}" for i in range(3000)]
    lines[2500] = "12.5,n/a,X"
    (folder / "big.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(
        CsvFormatError,
        match=r"big\.csv: line 2501, column 'tips': 'n/a' "
        r"is not a number",
    ):
        csv_to_examples.write_examples(
            [str(folder / "big.csv")],
            ("fare",),
            ("fare", "tips"),
            [str(tmp_path / "out")],
            None,
            workers=2,
            chunk_bytes=10_000,
        )


def test_a_row_with_a_missing_field_is_named(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    lines = ["fare,tips,company"] + [f"{i}.5,1,C{i}" for i in range(300)]
    lines[120] = "12.5,1"
    (folder / "a.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CsvFormatError, match=r"a\.csv: line 121 has 2 fields; the header has 3"):
        csv_to_examples.write_examples(
            [str(folder / "a.csv")], (), (), [str(tmp_path / "out")], None, workers=0
        )


def test_headers_without_data_rows_say_so(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_text("fare,tips\n")
    with pytest.raises(CsvFormatError, match="hold a header but no data row"):
        csv_to_examples.write_examples(
            [str(folder / "a.csv")], (), (), [str(tmp_path / "out")], None, workers=0
        )


@pytest.mark.parametrize(
    "data, rows",
    [
        (b'"a, b",1\n"c",2\n', 2),  # Quoted fields at the start of the chunk: pyarrow reads it.
        (b"\n\n", 0),
    ],
)
def test_chunks_pyarrow_reads_as_python_s_csv(data, rows):
    assert csv_columns.read_chunk(data, ["text", "n"]).num_rows == rows


@pytest.mark.parametrize(
    "data",
    [
        b'ab"c,1\n',
        b'"a"b,1\n',
        b'"say ""hi""",1\n',
        b"a\rb,1\n",
        b' "a",1\n',
    ],
)
def test_chunks_pyarrow_may_read_otherwise_go_to_python_s_csv(data):
    with pytest.raises(csv_columns.Suspicious):
        csv_columns.check_table(csv_columns.read_chunk(data, ["text", "n"]), [])


def _taxi_rows(sample_csv, rows=300):
    with open(sample_csv, encoding="utf-8") as data:
        lines = data.read().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1 : rows + 1]]


def _lines(header, rows):
    return "\n".join(",".join(row) for row in [header] + rows) + "\n"


# The bad inputs of tests/test_robustness.py that ExampleGen stops, with their messages.
def _too_many_columns(folder, header, rows):
    rows[3].append("surplus")
    (folder / "data.csv").write_text(_lines(header, rows))
    return r"data\.csv: line 5 has 19 fields; the header has 18"


def _text_in_numeric_column(folder, header, rows):
    rows[7][header.index("fare")] = "twelve dollars"
    (folder / "data.csv").write_text(_lines(header, rows))
    return r"data\.csv: line 9, column 'fare': 'twelve dollars' is not a number"


def _empty_file(folder, header, rows):
    (folder / "data.csv").write_text("")
    return r"data\.csv: the file is empty"


def _missing_label_column(folder, header, rows):
    tips = header.index("tips")
    (folder / "data.csv").write_text(
        _lines(
            [c for c in header if c != "tips"],
            [[v for i, v in enumerate(row) if i != tips] for row in rows],
        )
    )
    return r"data\.csv: the header has no column 'tips'"


def _non_utf8_byte(folder, header, rows):
    data = _lines(header, rows).encode().split(b"\n")
    data[6] = data[6].replace(b"Cash", b"Ca\xffsh", 1).replace(b",,", b",\xff,", 1)
    (folder / "data.csv").write_bytes(b"\n".join(data))
    return r"data\.csv: line 7: byte 0xff is not UTF-8"


def _second_file_other_header(folder, header, rows):
    (folder / "a.csv").write_text(_lines(header, rows[:150]))
    (folder / "b.csv").write_text(
        _lines(list(reversed(header)), [list(reversed(r)) for r in rows[150:]])
    )
    return r"b\.csv: the header differs from .*a\.csv"


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize(
    "make_case",
    [
        _too_many_columns,
        _text_in_numeric_column,
        _empty_file,
        _missing_label_column,
        _non_utf8_byte,
        _second_file_other_header,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_bad_taxi_files_keep_their_messages(make_case, workers, sample_csv, tmp_path):
    from pipeline.definition import families

    contract = families.load("taxi").contract
    folder = tmp_path / "data"
    folder.mkdir()
    header, rows = _taxi_rows(sample_csv)
    message = make_case(folder, header, rows)
    with pytest.raises(CsvFormatError, match=message):
        csv_to_examples.write_examples(
            sorted(str(path) for path in folder.iterdir()),
            contract.raw_columns,
            contract.numeric_columns,
            [str(tmp_path / "out")],
            None,
            workers=workers,
            chunk_bytes=8_000,
        )


def test_input_splits_without_output_splits_are_kept_as_tfx_keeps_them(tmp_path):
    for split, rows in (("train", "1,a\n2,b\n3,c\n"), ("eval", "4,d\n")):
        (tmp_path / "data" / split).mkdir(parents=True)
        (tmp_path / "data" / split / "data.csv").write_text("n,s\n" + rows)
    properties = {
        standard_component_specs.INPUT_BASE_KEY: str(tmp_path / "data"),
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen_pb2.Input(
                splits=[
                    example_gen_pb2.Input.Split(name="train", pattern="train/*"),
                    example_gen_pb2.Input.Split(name="eval", pattern="eval/*"),
                ]
            )
        ),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen_pb2.Output()
        ),
    }
    results = []
    for name, executor_class in (
        ("tfx", tfx_csv_executor.Executor),
        ("ours", checked_csv_example_gen.Executor),
    ):
        examples = standard_artifacts.Examples()
        examples.uri = str(tmp_path / name)
        context = base_beam_executor.BaseBeamExecutor.Context(
            beam_pipeline_args=[], tmp_dir=str(tmp_path / name / "tmp")
        )
        config = (
            {standard_component_specs.CUSTOM_CONFIG_KEY: proto_utils.proto_to_json(_no_checks())}
            if name == "ours"
            else {}
        )
        executor_class(context).Do(
            {}, {standard_component_specs.EXAMPLES_KEY: [examples]}, {**properties, **config}
        )
        results.append((examples.split_names, _read_splits(examples)))
    assert results[0] == results[1]
    assert [len(results[1][1][name]) for name in ("train", "eval")] == [3, 1]


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    (tmp_path / "a.csv").write_text("fare,tips,fare\n1,2,3\n")
    with pytest.raises(
        CsvFormatError,
        match=r"a\.csv: the header names column 'fare' more "
        r"than once",
    ):
        csv_to_examples.write_examples(
            [str(tmp_path / "a.csv")], (), (), [str(tmp_path / "out")], None, workers=0
        )


def _label_lines(rows=3000):
    """fare,tips,company,note: a label (company) in classes C0..C2, a number in tips."""
    return ["fare,tips,company,note"] + [f"{i}.5,{i % 7},C{i % 3},{i}" for i in range(rows)]


@pytest.mark.parametrize(
    "rule, line, message",
    [
        (
            csv_check.LabelRule("company", classes=("C0", "C1", "C2")),
            "12.5,1,C9,1",
            r"big\.csv: line 2501, column 'company': the label 'C9' is not one of the classes "
            r"'C0', 'C1', 'C2' of the family's task",
        ),
        (
            csv_check.LabelRule("company", classes=("C0", "C1", "C2")),
            "12.5,1, ,1",
            r"big\.csv: line 2501, column 'company': the label is empty; fill it",
        ),
        (
            csv_check.LabelRule("tips", numeric=True),
            "12.5,lots,C1,1",
            r"big\.csv: line 2501, column 'tips': the label 'lots' is not a number\. A "
            r"regression's label must be a number\.",
        ),
    ],
)
def test_a_label_the_task_cannot_use_deep_in_a_worker_s_chunk_is_named(
    rule, line, message, tmp_path
):
    lines = _label_lines()
    lines[2500] = line  # In the second of the chunks (about 20 kB of 80 kB each).
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CsvFormatError, match=message):
        csv_to_examples.write_examples(
            [str(tmp_path / "big.csv")],
            ("company",),
            ("fare", "tips"),
            [str(tmp_path / "out")],
            None,
            workers=2,
            chunk_bytes=20_000,
            label=rule,
        )


def test_rows_with_an_empty_label_drop_in_workers_as_if_they_were_not_there(tmp_path):
    lines = _label_lines()
    for index in range(5, len(lines), 97):  # Empty labels, one with a word in 'note'.
        lines[index] = f"{index}.5,1,{' ' if index % 2 else ''},{index}"
    lines[200] = "1.5,1,\u3000,no number"  # Python's strip() takes the ideographic space.
    # A quote inside a value: the file is read by Python's csv module.
    quoted = ["fare,tips,company,note", "1.5,1,C1,4", '2.5,2,,"a ""b"""', "3.5,3,C2,5"]
    data, plain = tmp_path / "data", tmp_path / "plain"
    data.mkdir()
    plain.mkdir()
    (data / "big.csv").write_text("\n".join(lines) + "\n")
    (data / "quoted.csv").write_text("\n".join(quoted) + "\n")
    for name, file_lines in (("big.csv", lines), ("quoted.csv", quoted)):
        kept = [file_lines[0]] + [row for row in file_lines[1:] if row.split(",")[2].strip()]
        (plain / name).write_text("\n".join(kept) + "\n")
    _, tfx_splits = _run(tfx_csv_executor.Executor, plain, tmp_path / "tfx")
    uris = [str(tmp_path / "ours" / f"Split-{name}") for name in example_gen.SPLIT_NAMES]
    rule = csv_check.LabelRule("company", classes=("C0", "C1", "C2"), drop_empty=True)
    result = csv_to_examples.write_examples(
        [str(data / "big.csv"), str(data / "quoted.csv")],
        ("company",),
        ("fare", "tips"),
        uris,
        [2, 3],
        workers=2,
        chunk_bytes=20_000,
        label=rule,
    )
    assert result["python_files"] == [str(data / "quoted.csv")]
    assert result["rows"] == sum(result["counts"]) == 3000 - 31 - 1 + 2
    assert result["types"]["note"] == "INT"  # Typed without the rows that drop.
    ours = {}
    for name, uri in zip(example_gen.SPLIT_NAMES, uris):
        ours[name] = sorted(
            tf.train.Example.FromString(r.numpy()).SerializeToString(deterministic=True)
            for r in tf.data.TFRecordDataset(tf.io.gfile.glob(uri + "/*"), "GZIP")
        )
    assert ours == tfx_splits


def test_the_label_is_stripped_as_python_strips_it():
    assert csv_columns.PYTHON_SPACE == "".join(c for c in map(chr, range(0x110000)) if c.isspace())
