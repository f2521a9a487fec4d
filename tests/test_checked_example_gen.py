"""The checked CSV ExampleGen run for real: which files it reads, and what it makes of them."""

import gzip
import os

import pytest
import tensorflow as tf
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import checked_csv_example_gen
from components import csv_check
from components import data_files
from components import example_gen
from components.csv_check import CsvFormatError

HEADER = b"fare,tips,company\n"
REQUIRED = ("fare", "tips", "company")
NUMERIC = ("fare", "tips")


def _run(input_base, output_dir, config=None):
    """Runs the executor on `input_base` with pattern '*'; returns every example written."""
    examples = standard_artifacts.Examples()
    examples.uri = str(output_dir)
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=[], tmp_dir=str(output_dir / "tmp")
    )
    exec_properties = {
        standard_component_specs.INPUT_BASE_KEY: str(input_base),
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="single_split", pattern="*")]
            )
        ),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen.split_config()
        ),
    }
    if config is not None:
        exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY] = proto_utils.proto_to_json(
            config
        )
    checked_csv_example_gen.Executor(context).Do(
        {}, {standard_component_specs.EXAMPLES_KEY: [examples]}, exec_properties
    )
    files = tf.io.gfile.glob(str(output_dir / "Split-*" / "*"))
    return [
        tf.train.Example.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
    ]


def _values(example, key):
    feature = example.features.feature[key]
    kind = feature.WhichOneof("kind")
    return list(getattr(feature, kind).value) if kind else []


@pytest.fixture
def mixed_folder(tmp_path):
    """A data folder with two data files (one gzipped) among things that are not data."""
    folder = tmp_path / "data"
    (folder / "old").mkdir(parents=True)
    (folder / "data.csv").write_bytes(HEADER + b"1.5,0,A\n2.5,1,B\n3.5,0,C\n")
    (folder / "data2.csv.gz").write_bytes(gzip.compress(HEADER + b"10,2,D\n20,4,E\n"))
    (folder / ".gitkeep").write_bytes(b"")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "README.md").write_bytes(b"# not data\n")
    (folder / "old" / "data.csv").write_bytes(HEADER + b"99,9,Z\n")
    os.symlink(folder / "gone.csv", folder / "link.csv")
    return folder


def test_the_folder_selection_names_what_it_skips(mixed_folder):
    selected = data_files.in_folder(str(mixed_folder))
    assert [os.path.basename(p) for p in selected.files] == ["data.csv", "data2.csv.gz"]
    assert dict(selected.skipped) == {
        ".DS_Store": "hidden",
        ".gitkeep": "hidden",
        "README.md": "not .csv or .csv.gz",
        "link.csv": "a broken symbolic link",
        "old": "a folder; subfolders are not read",
    }


def test_examplegen_reads_exactly_the_data_files_gzip_included(mixed_folder, tmp_path):
    config = checked_csv_example_gen.custom_config(REQUIRED, NUMERIC)
    examples = _run(mixed_folder, tmp_path / "out", config)
    assert sorted(_values(e, "company")[0] for e in examples) == [b"A", b"B", b"C", b"D", b"E"]
    assert sorted(_values(e, "fare")[0] for e in examples) == [1.5, 2.5, 3.5, 10, 20]


def test_a_bom_and_a_quoted_line_break_are_read_as_data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "excel.csv").write_bytes(b"\xef\xbb\xbf" + HEADER + b'1,0,"two\nlines"\r\n2,1,B\r\n')
    examples = _run(
        folder, tmp_path / "out", checked_csv_example_gen.custom_config(REQUIRED, NUMERIC)
    )
    # The first column keeps its name (TFX's own executor calls it '\ufefffare').
    assert sorted(examples[0].features.feature) == ["company", "fare", "tips"]
    assert sorted(_values(e, "company")[0] for e in examples) == [b"B", b"two\nlines"]


def test_a_bad_file_stops_the_executor_with_file_and_line(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_bytes(HEADER + b"1,0,A\n1,nan,B\n")
    with pytest.raises(CsvFormatError, match=r"a\.csv: line 3, column 'tips': 'nan'"):
        _run(folder, tmp_path / "out", checked_csv_example_gen.custom_config(REQUIRED, NUMERIC))


def test_a_folder_without_data_files_says_what_it_skipped(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(b"fare\n1\n")
    with pytest.raises(CsvFormatError, match=r"no data file .*notes\.txt \(not \.csv"):
        _run(folder, tmp_path / "out", checked_csv_example_gen.custom_config(REQUIRED, NUMERIC))


def test_the_columns_must_come_in_custom_config(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_bytes(HEADER + b"1,0,A\n")
    with pytest.raises(ValueError, match=r"needs custom_config="):
        _run(folder, tmp_path / "out")


def test_the_columns_survive_the_json_the_executor_receives():
    config = checked_csv_example_gen.custom_config(REQUIRED, NUMERIC)
    properties = {standard_component_specs.CUSTOM_CONFIG_KEY: proto_utils.proto_to_json(config)}
    assert checked_csv_example_gen.columns_from_exec_properties(properties) == (
        list(REQUIRED),
        list(NUMERIC),
        None,
    )
    label = csv_check.LabelRule("company", classes=("A", "B", "C"), drop_empty=True)
    config = checked_csv_example_gen.custom_config(REQUIRED, NUMERIC, label)
    properties = {standard_component_specs.CUSTOM_CONFIG_KEY: proto_utils.proto_to_json(config)}
    assert checked_csv_example_gen.columns_from_exec_properties(properties)[2] == label


def test_the_local_runner_prints_what_it_skipped_and_stops_on_bad_data(
    tmp_path, capsys, sample_csv
):
    from pipeline.local import runner as local_runner

    with open(sample_csv, "rb") as sample:
        lines = sample.readlines()[:40]
    fare = lines[0].decode().strip().split(",").index("fare")
    bad = lines[30].decode().split(",")
    bad[fare] = "inf"
    lines[30] = ",".join(bad).encode()
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "README.md").write_bytes(b"# not data\n")
    (folder / ".gitkeep").write_bytes(b"")
    (folder / "a.csv.gz").write_bytes(gzip.compress(b"".join(lines)))
    code = local_runner.main(["--data", str(folder), "--build-dir", str(tmp_path / "build")])
    out, err = capsys.readouterr()
    assert (
        f"[pipeline] skipped in {folder}: .gitkeep (hidden), README.md (not .csv or .csv.gz)"
    ) in out
    assert "(about 39 rows" in out  # Counted through gzip, the README left out.
    assert code == 1
    assert "STOPPED: " in err
    assert "a.csv.gz: line 31, column 'fare': 'inf' is not a finite number" in err
    assert "Traceback" not in err


def test_rows_with_an_empty_label_are_left_out_when_the_family_drops_them(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_bytes(HEADER + b"1,0,A\n2,0,\n3,0,C\n")
    label = csv_check.LabelRule("company", classes=("A", "C"), drop_empty=True)
    examples = _run(
        folder, tmp_path / "out", checked_csv_example_gen.custom_config(REQUIRED, NUMERIC, label)
    )
    assert sorted(_values(e, "company")[0] for e in examples) == [b"A", b"C"]


def test_the_executor_reads_the_tokens_of_its_custom_config_as_empty(tmp_path):
    from components.missing_values import MissingValues

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv.gz").write_bytes(gzip.compress(HEADER + b"NA,0,NA\n2,?,B\n3,1,NA\n"))
    # NA and ? mean missing but in company, where NA is a company's name.
    missing = MissingValues(("NA", "?"), {"company": ()})
    config = checked_csv_example_gen.custom_config(REQUIRED, NUMERIC, None, missing)
    examples = _run(folder, tmp_path / "out", config)
    rows = sorted((_values(e, "fare"), _values(e, "tips"), _values(e, "company")) for e in examples)
    assert rows == [([], [0], [b"NA"]), ([2], [], [b"B"]), ([3], [1], [b"NA"])]
