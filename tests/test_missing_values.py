"""Missing-value tokens: every reader of raw CSV cells reads them as empty cells.

ExampleGen's fast path (pyarrow) and its Python-csv path are compared with TFX's own
CsvExampleGen executor reading the same file with the tokens already emptied; the CSV
checks, the scaffold's reading and the serving client are checked on their own.
"""

import os

import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv_executor
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import checked_csv_example_gen
from components import csv_check
from components import csv_to_examples
from components import example_gen
from components.csv_check import CsvFormatError
from components.missing_values import MissingValues
from modules.common import tasks
from modules.common.contract import FamilyContract
from pipeline.scaffold import table as table_lib
from pipeline.serving import client as serving

HEADER = "fare,trips,region,label\n"
# `NA` and `?` mean missing in the numbers; in `region`, NA (North America) is a class.
ROWS = [
    "1.5,3,EU,A",
    "NA,4,NA,B",
    "2.5, ? ,US,A",
    "NA,NA,NA,B",
    "3,7,NA,A",
    "4.5,1,EU,B",
]
TOKENS = MissingValues(("NA", "?"), {"region": ()})
NUMERIC = ("fare", "trips")


def _folder(tmp_path, rows, name="data"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "a.csv").write_text(HEADER + "\n".join(rows) + "\n")
    return folder


def _read(uris):
    """The examples of the split folders, serialized deterministically, sorted."""
    found = []
    for uri in uris:
        files = tf.io.gfile.glob(os.path.join(uri, "*"))
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
            example = tf.train.Example.FromString(record.numpy())
            found.append(example.SerializeToString(deterministic=True))
    return sorted(found)


def _ours(folder, out, missing):
    uris = [str(out / f"Split-{name}") for name in example_gen.SPLIT_NAMES]
    result = csv_to_examples.write_examples(
        [str(folder / "a.csv")], (), NUMERIC, uris, [2, 3], workers=0, missing=missing
    )
    return result, _read(uris)


def _tfx(folder, out):
    """TFX's own executor, row by row in Beam."""
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=[], tmp_dir=str(out / "tmp")
    )
    tfx_csv_executor.Executor(context).Do(
        {},
        {standard_component_specs.EXAMPLES_KEY: [examples]},
        {
            standard_component_specs.INPUT_BASE_KEY: str(folder),
            standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(
                example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="s", pattern="*")])
            ),
            standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
                example_gen.split_config((2, 1))
            ),
            standard_component_specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
        },
    )
    return _read([str(out / f"Split-{name}") for name in example_gen.SPLIT_NAMES])


def _emptied(rows):
    """The rows as they read with TOKENS: NA and ? emptied but in region."""
    out = []
    for row in rows:
        cells = [c.strip() for c in row.split(",")]
        out.append(
            ",".join(c if c not in ("NA", "?") or i == 2 else "" for i, c in enumerate(cells))
        )
    return out


@pytest.fixture(scope="module")
def tfx_examples(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("tfx")
    return _tfx(_folder(tmp_path, _emptied(ROWS)), tmp_path / "out")


def test_the_fast_path_reads_tokens_as_empty_cells_as_tfx_reads_empty_cells(tmp_path, tfx_examples):
    result, ours = _ours(_folder(tmp_path, ROWS), tmp_path / "out", TOKENS)
    assert result["python_files"] == []  # pyarrow read every chunk.
    # FLOAT and INT columns (an NA left in would make them STRING); NA stays a class.
    assert result["types"] == {
        "fare": "FLOAT",
        "trips": "INT",
        "region": "STRING",
        "label": "STRING",
    }
    assert ours == tfx_examples


def test_the_python_csv_path_reads_them_alike(tmp_path, tfx_examples):
    # A quote inside a value sends the file to the line-by-line check and Python's csv.
    quoted = ROWS[:-1] + ['4.5,1,"E""U",B']
    result, ours = _ours(_folder(tmp_path, quoted), tmp_path / "out", TOKENS)
    assert result["python_files"] == [str(tmp_path / "data" / "a.csv")]
    assert result["types"]["fare"] == "FLOAT" and result["types"]["trips"] == "INT"
    expected = _tfx(_folder(tmp_path, _emptied(quoted), "plain"), tmp_path / "tfx")
    assert ours == expected and len(ours) == len(ROWS)


def test_without_tokens_an_na_in_a_number_column_stops_the_run_saying_how_to_declare_it(
    tmp_path,
):
    folder = _folder(tmp_path, ROWS)
    with pytest.raises(CsvFormatError) as error:
        _ours(folder, tmp_path / "out", MissingValues())
    message = str(error.value)
    assert "a.csv: line 3, column 'fare': 'NA' is not a number." in message
    assert "missing_values=(..., 'NA')" in message
    assert "missing_values_by_column={'fare': ('NA',)}" in message


def test_the_checks_read_tokens_as_empty_and_per_column_tokens_override(tmp_path):
    path = str(_folder(tmp_path, ROWS) / "a.csv")
    assert csv_check.check_files([path], (), NUMERIC, missing=TOKENS) == len(ROWS)
    # `?` is not declared for trips here: its own message, naming line and column.
    only_na = MissingValues(("NA",))
    with pytest.raises(CsvFormatError, match=r"line 4, column 'trips': '\?' is not a number"):
        csv_check.check_files([path], (), NUMERIC, missing=only_na)
    # A label token is an empty label: dropped where the task drops such rows.
    label = csv_check.LabelRule("label", classes=("A", "B"), drop_empty=True)
    rows = ROWS + ["1,1,EU,NA"]
    path = str(_folder(tmp_path, rows, "labels") / "a.csv")
    assert csv_check.check_files([path], (), NUMERIC, label, TOKENS) == len(ROWS)


def test_the_tokens_survive_the_json_the_executor_receives():
    config = checked_csv_example_gen.custom_config(NUMERIC, NUMERIC, None, TOKENS)
    properties = {standard_component_specs.CUSTOM_CONFIG_KEY: proto_utils.proto_to_json(config)}
    assert checked_csv_example_gen.missing_from_exec_properties(properties) == TOKENS
    plain = checked_csv_example_gen.custom_config(NUMERIC, NUMERIC)
    properties = {standard_component_specs.CUSTOM_CONFIG_KEY: proto_utils.proto_to_json(plain)}
    assert not checked_csv_example_gen.missing_from_exec_properties(properties)


def _contract(**fields):
    return FamilyContract(
        name="t",
        pipeline_name="t",
        raw_columns=("fare", "region", "label"),
        numeric_columns=("fare",),
        label_source_columns=("label",),
        label_key="label_xf",
        task=tasks.multiclass(("A", "B", "C"), bound=0.5, max_change=0.1),
        model_input_keys=("fare_xf",),
        slice_columns=(),
        prediction_key="p",
        exporter_name="t",
        train_steps=10,
        default_hparams={},
        default_data="",
        **fields,
    )


def test_the_contract_declares_tokens_and_refuses_bad_ones():
    contract = _contract(missing_values=("NA",), missing_values_by_column={"region": ()})
    assert MissingValues.of_contract(contract) == MissingValues(("NA",), {"region": ()})
    with pytest.raises(ValueError, match=r"missing_values_by_column names \['nope'\]"):
        _contract(missing_values_by_column={"nope": ("NA",)})
    with pytest.raises(ValueError, match=r"missing_values must be a tuple of non-empty strings"):
        _contract(missing_values="NA")
    with pytest.raises(ValueError, match=r"missing_values must be a tuple of non-empty strings"):
        _contract(missing_values=("NA", " "))


def test_the_serving_client_reads_tokens_as_empty(tmp_path):
    schema = schema_pb2.Schema()
    for name, kind in (
        ("fare", schema_pb2.FLOAT),
        ("trips", schema_pb2.INT),
        ("region", schema_pb2.BYTES),
    ):
        schema.feature.add(name=name, type=kind)
    path = tmp_path / "rows.csv"
    path.write_text("fare,trips,region\n1.5,NA,NA\n?,2,EU\n")
    with pytest.raises(ValueError, match=r"line 2: column 'trips' holds 'NA', which is not"):
        serving.examples_from_csv(str(path), schema)
    examples = [
        tf.train.Example.FromString(e)
        for e in serving.examples_from_csv(str(path), schema, missing=TOKENS)
    ]
    first, second = (e.features.feature for e in examples)
    assert "trips" not in first and first["region"].bytes_list.value == [b"NA"]
    assert "fare" not in second and second["trips"].int64_list.value == [2]
    # Tokens of every column, given as a tuple: NA in region is missing too.
    first = tf.train.Example.FromString(
        serving.examples_from_csv(str(path), schema, missing=("NA", "?"))[0]
    ).features.feature
    assert "region" not in first and first["fare"].float_list.value == [1.5]


def test_the_scaffold_lists_tokens_reads_them_empty_and_drops_a_row_index(tmp_path):
    # As R's write.csv writes it: quoted strings and header, NA, row names 1..n.
    def group(i):
        return "NA" if i % 7 == 0 else f'"g{i % 3}"'

    lines = ['"","x","group","y"'] + [
        f'"{i}",{"NA" if i % 5 == 0 else i / 2},{group(i)},{i % 2}' for i in range(1, 31)
    ]
    path = tmp_path / "r.csv"
    path.write_text("\n".join(lines) + "\n")
    table = table_lib.read(str(path))
    assert table.dropped_index == "" and list(table.columns) == ["x", "group", "y"]
    assert table.missing_found == {"x": ("NA",), "group": ("NA",)}
    assert table.columns["x"].empty_cells == 6 and table.columns["x"].kind == table_lib.FLOAT
    assert table.columns["group"].empty_cells == 4
    # pandas' index: 0..n-1 under "Unnamed: 0" (as read back), NaN written empty.
    lines = ["Unnamed: 0,x,y"] + [f"{i},{'' if i % 4 else i},{i % 2}" for i in range(30)]
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines) + "\n")
    table = table_lib.read(str(path))
    assert table.dropped_index == "Unnamed: 0" and list(table.columns) == ["x", "y"]
    assert table.missing_found == {}
    # An unnamed first column that is not 1..n is not an index: refused.
    lines = ['"","x","y"'] + [f"{i * 2},{i},{i % 2}" for i in range(30)]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(table_lib.ScaffoldError, match="column 1: the column has no name"):
        table_lib.read(str(path))
