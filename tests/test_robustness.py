"""Bad data, malformed requests and worse models, against a pipeline that has pushed.

Each case runs the real pipeline in the build folder of `pipeline_run`, where a good
model is already being served, and checks both what the run did and that the served
model is still there and still answers. Cases run in file order; the ones that may
push a new model come last.
"""

import csv
import dataclasses
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import conftest
from components import versioned_pusher
from components.csv_check import CsvFormatError
from components.data_gate.executor import DataValidationError
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.local import runner as local_runner
from pipeline.serving import client as serving

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

ROWS = 300  # Rows per bad-data case: enough for every split, quick to read.


@pytest.fixture(scope="module")
def pipeline_run(pipeline_run, tmp_path_factory):
    """A copy of the session's run: this module's runs change no other module's state."""
    return conftest.copy_of_run(pipeline_run, tmp_path_factory.mktemp("robustness_build"))


def _sample(sample_csv, rows=ROWS):
    with open(sample_csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [row for _, row in zip(range(rows), reader)]


def _write(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


def _set(header, rows, column, value, every=1):
    index = header.index(column)
    for i, row in enumerate(rows):
        if i % every == 0:
            row[index] = value


# Each case writes a data folder and names the error and the message it must give.
def too_many_columns(folder, header, rows):
    rows[3].append("surplus")
    _write(f"{folder}/data.csv", header, rows)
    return CsvFormatError, r"data\.csv: line 5 has 19 fields; the header has 18"


def too_few_columns(folder, header, rows):
    rows[3].pop()
    _write(f"{folder}/data.csv", header, rows)
    return CsvFormatError, r"data\.csv: line 5 has 17 fields; the header has 18"


def text_in_numeric_column(folder, header, rows):
    rows[7][header.index("fare")] = "twelve dollars"
    _write(f"{folder}/data.csv", header, rows)
    return CsvFormatError, r"data\.csv: line 9, column 'fare': 'twelve dollars' is not a number"


def empty_file(folder, header, rows):
    _write(f"{folder}/data.csv", None, [])
    return CsvFormatError, r"data\.csv: the file is empty"


def header_only(folder, header, rows):
    _write(f"{folder}/data.csv", header, [])
    return CsvFormatError, r"hold a header but no data row"


def missing_label_column(folder, header, rows):
    tips = header.index("tips")
    _write(
        f"{folder}/data.csv",
        [c for c in header if c != "tips"],
        [[v for i, v in enumerate(row) if i != tips] for row in rows],
    )
    return CsvFormatError, r"data\.csv: the header has no column 'tips'"


def non_utf8_byte(folder, header, rows):
    _write(f"{folder}/data.csv", header, rows)
    with open(f"{folder}/data.csv", "rb") as f:
        lines = f.read().split(b"\n")
    lines[6] = lines[6].replace(b"Cash", b"Ca\xffsh", 1).replace(b",,", b",\xff,", 1)
    with open(f"{folder}/data.csv", "wb") as f:
        f.write(b"\n".join(lines))
    return CsvFormatError, r"data\.csv: line 7: byte 0xff is not UTF-8"


def second_file_other_header(folder, header, rows):
    _write(f"{folder}/a.csv", header, rows[:150])
    _write(f"{folder}/b.csv", list(reversed(header)), [list(reversed(r)) for r in rows[150:]])
    return CsvFormatError, r"b\.csv: the header differs from .*a\.csv"


def column_entirely_empty(folder, header, rows):
    _set(header, rows, "company", "")
    _write(f"{folder}/data.csv", header, rows)
    return DataValidationError, r"\[STOP\] column 'company'.*FEATURE_TYPE_NOT_PRESENT"


def extreme_values(folder, header, rows):
    _set(header, rows, "trip_miles", "1e9", every=50)
    _write(f"{folder}/data.csv", header, rows)
    return DataValidationError, r"\[STOP\] column 'trip_miles'.*FLOAT_TYPE_BIG_FLOAT"


BAD_INPUTS = [
    too_many_columns,
    too_few_columns,
    text_in_numeric_column,
    empty_file,
    header_only,
    missing_label_column,
    non_utf8_byte,
    second_file_other_header,
    column_entirely_empty,
    extreme_values,
]


@pytest.fixture(scope="module")
def served(pipeline_run, schema, sample_csv):
    """What is being served before the cases run, and examples to ask it about."""
    examples = serving.examples_from_csv(sample_csv, schema)[:20]
    return pipeline_run.config, examples


def _assert_still_serving(config, versions_before, examples):
    assert versioned_pusher.versions(config.serving_model_dir) == versions_before
    probabilities = serving.predict(
        serving.latest_version_dir(config.serving_model_dir), examples
    ).scores
    assert probabilities.shape == (len(examples),)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def _run(pipeline_run, data_root, **overrides):
    config = dataclasses.replace(pipeline_run.config, data_root=str(data_root), **overrides)
    return local_runner.run(config, pipeline_run.metadata, pipeline_run.summary_path)


@pytest.mark.parametrize("make_case", BAD_INPUTS, ids=lambda f: f.__name__)
def test_bad_input_stops_with_a_clear_error_and_keeps_the_served_model(
    make_case, pipeline_run, served, sample_csv, tmp_path
):
    config, examples = served
    versions_before = versioned_pusher.versions(config.serving_model_dir)
    header, rows = _sample(sample_csv)
    error_type, message = make_case(str(tmp_path / "data"), header, rows)
    with pytest.raises(error_type, match=message):
        _run(pipeline_run, tmp_path / "data")
    _assert_still_serving(config, versions_before, examples)


def test_gate_report_is_written_under_the_run_outputs(pipeline_run, sample_csv, tmp_path):
    header, rows = _sample(sample_csv)
    extreme_values(str(tmp_path / "data"), header, rows)
    with pytest.raises(DataValidationError) as error:
        _run(pipeline_run, tmp_path / "data")
    report_dir = str(error.value).split("The report is in ")[1].split(". ")[0]
    with open(os.path.join(report_dir, "report.txt")) as report:
        assert "column 'trip_miles'" in report.read()


def test_serving_answers_unseen_categories_and_missing_optional_features(served):
    config, _ = served
    model_dir = serving.latest_version_dir(config.serving_model_dir)
    types = {
        "payment_type": tf.string,
        "company": tf.string,
        "fare": tf.float32,
        "trip_start_hour": tf.int64,
        "trip_miles": tf.float32,
    }
    rows = [
        {
            "payment_type": "Bitcoin",
            "company": "Never Seen Cab Co",
            "fare": "12.5",
            "trip_start_hour": "30",
            "trip_miles": "3.1",
        },
        {"payment_type": "Cash"},  # Every optional feature missing.
    ]
    examples = [serving.example_from_row(row, types) for row in rows]
    probabilities = serving.predict(model_dir, examples).scores
    assert probabilities.shape == (2,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_serving_rejects_malformed_examples_with_clear_errors(served):
    config, examples = served
    model_dir = serving.latest_version_dir(config.serving_model_dir)
    with pytest.raises(ValueError, match="Example 1 is not a serialized tf.Example"):
        serving.predict(model_dir, [examples[0], b"\x0a\xff\xff not a tf.Example"])
    wrong_type = serving.example_from_row({"fare": "cheap"}, {"fare": tf.string})
    with pytest.raises(tf.errors.InvalidArgumentError, match="fare"):
        serving.predict(model_dir, [wrong_type])
    # The process, and the model, are fine afterwards.
    assert serving.predict(model_dir, examples[:1]).scores.shape == (1,)


def test_a_worse_candidate_is_not_blessed_nor_pushed(pipeline_run, served, sample_dir):
    config, examples = served
    versions_before = versioned_pusher.versions(config.serving_model_dir)
    summary = _run(pipeline_run, sample_dir, train_steps=1)
    assert summary["blessed"] is False and not summary["pushed"]
    metrics = summary["metrics"]
    assert metrics["candidate"]["auc"] < metrics["baseline"]["auc"]
    assert any("against the baseline" in r for r in summary["blessing_reasons"])
    _assert_still_serving(config, versions_before, examples)


def test_an_operator_can_force_a_push(pipeline_run, served, sample_dir):
    config, _ = served
    versions_before = versioned_pusher.versions(config.serving_model_dir)
    summary = _run(pipeline_run, sample_dir, train_steps=1, force_push=True)
    assert summary["blessed"] is False
    assert summary["pushed"] and summary["forced_push"]
    assert versioned_pusher.versions(config.serving_model_dir) == versions_before + [
        os.path.basename(summary["pushed_model"])
    ]


def test_unseen_categories_are_handled_as_data(pipeline_run, sample_csv, tmp_path):
    header, rows = _sample(sample_csv, rows=2000)
    _set(header, rows, "payment_type", "Bitcoin", every=40)
    _write(str(tmp_path / "data" / "data.csv"), header, rows)
    summary = _run(pipeline_run, tmp_path / "data")
    notes = [f for f in summary["data_anomalies"] if f["column"] == "payment_type"]
    assert notes and all(not f["blocking"] for f in notes)
    assert {f["kind"] for f in notes} == {"ENUM_TYPE_UNEXPECTED_STRING_VALUES"}
    assert "Bitcoin" in notes[0]["description"]
    assert summary["pushed"] == summary["blessed"]


def test_a_first_run_is_judged_on_the_absolute_threshold_alone(sample_dir, tmp_path):
    """A pipeline with no blessed model yet: an AUC below its bound is not shipped."""
    config = config_lib.local_config(
        str(tmp_path), sample_dir, train_steps=1, blessing_bound=0.99, pipeline_name="first-run"
    )
    summary = local_runner.run(
        config, config_lib.metadata_path(str(tmp_path)), str(tmp_path / "run_summary.json")
    )
    assert "baseline" not in summary["metrics"]
    assert summary["blessed"] is False and not summary["pushed"]
    assert summary["blessing_reasons"] == [
        f"auc {summary['metrics']['candidate']['auc']:.4f} is below the threshold 0.9900"
    ]
    assert versioned_pusher.versions(config.serving_model_dir) == []


def test_an_edited_schema_is_read_again_and_changes_the_gates_verdict(
    pipeline_run, sample_csv, tmp_path
):
    """The gate says to edit the schema; the edit must reach the cache key."""
    header, rows = _sample(sample_csv)
    extreme_values(str(tmp_path / "data"), header, rows)
    schema = tmp_path / "schema.pbtxt"
    shutil.copy(families.load("taxi").schema_file, schema)

    def run():
        config = config_lib.local_config(
            pipeline_run.build_dir,
            str(tmp_path / "data"),
            schema_file=str(schema),
            train_steps=200,
            blessing_bound=0.8,
        )
        return local_runner.run(config, pipeline_run.metadata, pipeline_run.summary_path)

    with pytest.raises(DataValidationError, match=r"\[STOP\] column 'trip_miles'"):
        run()
    # Trips of a billion miles are now legitimate.
    schema.write_text(schema.read_text().replace("max: 5000.0", "max: 2000000000.0"))
    summary = run()
    states = {c["id"]: c["state"] for c in summary["components"]}
    assert states["CuratedSchema"] == "executed"
    assert states["DataGate"] == "executed"
    assert summary["status"] == "finished"
    assert not [f for f in summary["data_anomalies"] if f["blocking"]]
