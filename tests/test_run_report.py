"""The run report's parts on small committed artifacts (tests/data/run_report/).

The artifacts come from real runs on data/taxi/sample: statistics of the sample, the
anomalies of a copy whose `company` column is empty and whose `payment_type` holds an
unseen value, the evaluation of a one-step candidate against a blessed baseline (not
blessed), and the scalar summaries of a 201-step training.
"""

import html
import json
import os
import re
import shutil

import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

import report_pages
from components.data_gate import report as gate_report
from components.run_report import charts
from components.run_report import component
from components.run_report import executor
from components.run_report import render
from components.run_report import sections
from components.run_report.readers import ReportInputError
from components.run_report.readers import anomalies as anomalies_reader
from components.run_report.readers import evaluation as evaluation_reader
from components.run_report.readers import statistics
from components.run_report.readers import tuning
from modules.taxi import contract as taxi
from pipeline.results import facts as report_facts
from pipeline.serving import client as serving

DATA = report_pages.DATA
URIS = {
    name: os.path.join(DATA, name)
    for name in ("statistics", "anomalies", "model_run", "tuner_results", "evaluation", "blessing")
}
FACTS = report_facts.family_facts(taxi.CONTRACT, {"learning_rate": 0.01}, 201)


@pytest.fixture(scope="module")
def data():
    return statistics.data_section(URIS["statistics"])


@pytest.fixture(scope="module")
def evaluation():
    return evaluation_reader.evaluation_section(
        URIS["evaluation"], URIS["blessing"], taxi.CONTRACT.task.facts()
    )


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A small SavedModel with a serving signature shaped like the pushed model's."""

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples):
            return {"probability": tf.zeros([tf.shape(examples)[0], 1])}

    path = str(tmp_path_factory.mktemp("pushed") / "1700000000")
    model = Model()
    tf.saved_model.save(model, path, signatures={"serving_default": model.serve})
    return path


# --- the data ------------------------------------------------------------------------------


def test_data_section_has_every_column_for_both_splits(data, schema):
    assert data["splits"] == {"train": 1334, "eval": 666}
    names = [f["name"] for f in data["features"]]
    assert names == sorted(f.name for f in schema.feature)
    for feature in data["features"]:
        assert list(feature["splits"]) == ["train", "eval"]


def test_numeric_feature_has_range_and_a_histogram_of_its_values(data):
    fare = next(f for f in data["features"] if f["name"] == "fare")["splits"]["train"]
    assert fare["kind"] == "numeric"
    assert fare["count"] + fare["missing"] == 1334
    assert fare["min"] <= fare["mean"] <= fare["max"]
    assert sum(bucket[2] for bucket in fare["histogram"]) == pytest.approx(fare["count"])
    assert fare["histogram"][0][0] == fare["min"] and fare["histogram"][-1][1] == fare["max"]


def test_categorical_feature_has_its_top_values(data):
    payment = next(f for f in data["features"] if f["name"] == "payment_type")
    train = payment["splits"]["train"]
    assert train["kind"] == "categorical"
    frequencies = [count for _, count in train["top_values"]]
    assert frequencies == sorted(frequencies, reverse=True)
    assert sum(frequencies) <= train["count"]
    assert train["top_values"][0][0] == "Cash"


def test_a_column_missing_everywhere_counts_as_missing(data):
    tract = next(f for f in data["features"] if f["name"] == "pickup_census_tract")
    assert tract["splits"]["train"]["missing_share"] == 1.0
    assert "pickup_census_tract" not in statistics.typical_row(data)


def test_typical_row_is_a_raw_row_the_serving_parser_takes(data, schema):
    row = statistics.typical_row(data, leave_out=FACTS["label_sources"])
    assert "tips" not in row
    assert row["payment_type"] == "Cash"
    assert row["trip_start_hour"].isdigit()
    serialized = serving.example_from_row(row, serving.feature_types(schema))
    example = tf.train.Example.FromString(serialized)
    assert set(example.features.feature) == set(row)


# --- anomalies -------------------------------------------------------------------------------


def test_anomalies_mark_the_kinds_that_stop_a_run_first():
    found = anomalies_reader.anomalies_section(
        URIS["anomalies"], FACTS["blocking_kinds"], stopped=True
    )
    kinds = [(f["column"], f["kind"], f["blocking"]) for f in found["findings"]]
    assert kinds[:2] == [("company", "FEATURE_TYPE_NOT_PRESENT", True)] * 2
    assert ("payment_type", "ENUM_TYPE_UNEXPECTED_STRING_VALUES", False) in kinds
    assert found["blocking"] == 2
    assert found["advice"] == gate_report.WHAT_TO_DO


def test_anomalies_of_kinds_let_through_carry_no_advice():
    found = anomalies_reader.anomalies_section(URIS["anomalies"], blocking_kinds=())
    assert found["blocking"] == 0
    assert not any(f["blocking"] for f in found["findings"])
    assert found["advice"] == ""


# --- training --------------------------------------------------------------------------------


def test_hyperparameters_say_where_each_came_from():
    training = sections.training_section(
        URIS["model_run"], {"learning_rate": 0.003, "dropout": 0.1}, {"learning_rate": 0.01}
    )
    assert training["hparams"] == [
        {"name": "dropout", "value": "0.1", "source": "family default"},
        {"name": "learning_rate", "value": "0.01", "source": "pipeline setting"},
    ]
    assert training["trials"] is None


def test_tuned_values_come_between_the_defaults_and_the_pipeline_settings():
    training = sections.training_section(
        URIS["model_run"],
        {"learning_rate": 0.003, "dropout": 0.1, "lstm_units": 32},
        {"learning_rate": 0.01},
        hparam_tuned={"learning_rate": 0.002, "lstm_units": 64},
        tuned_source="tuned in run 20261126-101500",
    )
    assert training["hparams"] == [
        {"name": "dropout", "value": "0.1", "source": "family default"},
        {"name": "learning_rate", "value": "0.01", "source": "pipeline setting"},
        {"name": "lstm_units", "value": "64", "source": "tuned in run 20261126-101500"},
    ]


def test_tuning_trials_are_read_from_the_tuners_one_trials_file():
    rows = tuning.trial_rows(tuning.read_trials(URIS["tuner_results"]))
    assert [r["trial_id"] for r in rows] == ["03", "01", "02"]
    assert rows[0] == {
        "trial_id": "03",
        "score": pytest.approx(0.9431),
        "learning_rate": 0.003,
        "dropout": 0.1,
        "status": "COMPLETED",
        "error": "",
    }
    assert rows[2]["score"] is None and rows[2]["error"] == "ValueError: NaN loss"


def test_a_broken_trials_file_is_named_with_line_and_column(tmp_path):
    (tmp_path / "trials.json").write_text('[{"trial_id": "01",\n "score": }]')
    with pytest.raises(ReportInputError, match=r"trials\.json: line 2, column 11: Expecting value"):
        tuning.read_trials(str(tmp_path))


def _model_run_that_recorded(tmp_path, hparams):
    """The committed model run, with the record a Trainer writes of what it trained with."""
    model_run = tmp_path / "model_run"
    shutil.copytree(URIS["model_run"], model_run)
    (model_run / tuning.TRAINING_RECORD_FILE).write_text(json.dumps({"hparams": hparams}))
    return str(model_run)


def test_the_values_shown_are_what_the_trainer_recorded_it_trained_with(tmp_path):
    model_run = _model_run_that_recorded(
        tmp_path, {"learning_rate": 0.01, "dropout": 0.25, "lstm_units": 48}
    )
    training = sections.training_section(
        model_run,
        {"learning_rate": 0.003, "dropout": 0.1, "lstm_units": 32},
        {"learning_rate": 0.01},
        hparam_tuned={"dropout": 0.25, "lstm_units": 48},
        tuned_source="tuned in this run",
    )
    assert training["hparams"] == [
        {"name": "dropout", "value": "0.25", "source": "tuned in this run"},
        {"name": "learning_rate", "value": "0.01", "source": "pipeline setting"},
        {"name": "lstm_units", "value": "48", "source": "tuned in this run"},
    ]


def _page_training_line(model_run, facts):
    page = sections.collect_page("t", {"components": []}, facts, {"model_run": model_run})
    found = re.search(r'<p id="training-length">(.*?)</p>', render.render_page(page))
    return html.unescape(found.group(1)) if found else None


def test_the_training_length_shows_from_the_summary_or_the_trainers_record(tmp_path):
    model_run = tmp_path / "model_run"
    model_run.mkdir()
    record = model_run / tuning.TRAINING_RECORD_FILE
    # By steps: steps x batch; epochs from a local run's summary (its row count).
    record.write_text(json.dumps({"train_steps": 40, "hparams": {"train_batch_size": 32}}))
    assert tuning.training_length(str(model_run)) == {"trained_examples": 1280, "epochs": None}
    line = _page_training_line(str(model_run), {**FACTS, "epochs": 6.4})
    assert line == "Trained on 1,280 examples, about 6.4 epochs of the training split."
    # By epochs (Kubeflow, no step count): the epochs the Trainer was given.
    record.write_text(
        json.dumps({"train_steps": None, "train_epochs": 3, "hparams": {"train_batch_size": 32}})
    )
    assert _page_training_line(str(model_run), FACTS) == (
        "Trained on about 3 epochs of the training split."
    )
    record.write_text(json.dumps({"hparams": {}}))
    assert _page_training_line(str(model_run), FACTS) is None


# --- evaluation ------------------------------------------------------------------------------


def test_metrics_per_slice_for_candidate_and_baseline(evaluation):
    assert evaluation["models"] == ["candidate", "baseline"]
    assert evaluation["has_baseline"]
    assert evaluation["metric_names"] == list(taxi.CONTRACT.task.metric_names)
    overall = evaluation["slices"][0]
    assert overall["slice"] == "Overall"
    assert overall["models"]["candidate"]["auc"] == pytest.approx(0.5422, abs=1e-4)
    assert overall["models"]["baseline"]["auc"] == pytest.approx(0.9379, abs=1e-4)
    assert overall["models"]["candidate"]["example_count"] == 666
    names = [row["slice"] for row in evaluation["slices"]]
    hours = [n for n in names if n.startswith("trip_start_hour")]
    assert hours == [f"trip_start_hour = {h}" for h in range(24)]  # In numeric order.
    assert any(n.startswith("payment_type = ") for n in names)


def test_the_verdict_and_its_reason(evaluation):
    assert evaluation["blessed"] is False
    (reason,) = evaluation["reasons"]
    assert re.fullmatch(
        r"auc changed by -0\.3957 against the baseline, more than the "
        r"allowed -0\.0100",
        reason,
    )


def test_thresholds_are_read_from_the_eval_config(evaluation):
    assert evaluation["thresholds"] == [
        "AUC at least 0.5 (overall slice)",
        "AUC no more than 0.01 below the baseline's (overall slice; checked once a "
        "baseline exists)",
    ]


def test_reliability_bins_cover_every_eval_example(evaluation):
    calibration = evaluation["calibration"]
    assert set(calibration) == {"candidate", "baseline"}
    for bins in calibration.values():
        assert sum(b["examples"] for b in bins) == pytest.approx(666)
        for b in bins:
            assert b["low"] - 1e-9 <= b["mean_prediction"] <= b["high"] + 1e-9
            assert 0.0 <= b["observed_rate"] <= 1.0


# --- the pushed model ----------------------------------------------------------------------


def test_pushed_model_signature_and_scoring_example(saved_model, data):
    section = sections.pushed_section(
        True,
        saved_model,
        "1700000000",
        example_template=FACTS["example_template"],
        row=statistics.typical_row(data, leave_out=FACTS["label_sources"]),
    )
    signature = section["signatures"]["serving_default"]
    assert signature["inputs"] == {
        "examples": {"name": "serving_default_examples:0", "dtype": "string", "shape": "[None]"}
    }
    assert signature["outputs"]["probability"]["dtype"] == "float32"
    assert signature["outputs"]["probability"]["shape"] == "[None, 1]"
    assert json.dumps(saved_model) in section["example"]
    compile(section["example"], "example", "exec")  # Valid Python.
    assert '"payment_type": "Cash"' in section["example"]


def test_nothing_pushed_has_no_signature_or_example():
    section = sections.pushed_section(False, None, None, example_template="{model_dir}")
    assert section == {
        "pushed": False,
        "destination": None,
        "version": None,
        "forced": False,
        "signatures": {},
        "example": "",
    }


# --- the outcome -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "components, evaluation_, pushed, anomalies, error, kind, text",
    [
        (
            [],
            {"blessed": True, "reasons": []},
            {"pushed": True, "version": "7"},
            None,
            "",
            "ok",
            "Blessed and pushed as version 7.",
        ),
        (
            [],
            {"blessed": False, "reasons": ["auc 0.6 is below the threshold 0.9"]},
            {"pushed": False},
            None,
            "",
            "warn",
            "Not blessed: auc 0.6 is below the threshold 0.9; nothing was pushed, the serving "
            "folder keeps its previous model.",
        ),
        (
            [],
            {"blessed": False, "reasons": ["r"]},
            {"pushed": True, "forced": True, "version": "8"},
            None,
            "",
            "warn",
            "Not blessed (r), but pushed anyway by an operator's override as version 8.",
        ),
        (
            [{"id": "DataGate", "state": "failed"}],
            None,
            None,
            {"stopped": True, "blocking": 2},
            "report text",
            "stop",
            "Stopped at the data gate: 2 anomalies of kinds that stop a "
            "run; nothing was trained or pushed.",
        ),
        (
            [{"id": "CsvExampleGen", "state": "failed"}],
            None,
            None,
            None,
            "a.csv: line 9 has 19 fields; the header has 18. "
            "[while running 'Run[CsvExampleGen]']\nmore",
            "stop",
            "Stopped in CsvExampleGen: a.csv: line 9 has 19 fields; the header has 18.; "
            "nothing after it ran.",
        ),
    ],
)
def test_outcome_in_one_sentence(components, evaluation_, pushed, anomalies, error, kind, text):
    assert sections.outcome(components, evaluation_, pushed, anomalies, error) == {
        "kind": kind,
        "text": text,
    }


# --- the page ----------------------------------------------------------------------------------


def test_a_full_page_has_every_section_and_embedded_images_only(saved_model):
    page = sections.collect_page(
        "t",
        {
            "components": [
                {"id": "Trainer", "state": "executed", "seconds": 2.0, "start": 1.0, "end": 3.0}
            ]
        },
        FACTS,
        URIS,
        pushed={"pushed": True, "destination": saved_model, "version": "1"},
    )
    assert page["errors"] == []
    page_html = render.render_page(page)
    for key, _ in render.SECTIONS:
        assert f'<section id="{key}">' in page_html
    assert "<script" not in page_html and "<link" not in page_html
    assert not re.search(r'(src|href)="(?!data:|#)', page_html)
    images = report_pages.images(page_html)
    # The timeline, a chart per column but the empty one, 3 training charts, 2 evaluation.
    assert len(images) == 1 + 17 + 3 + 2
    for uri in images:
        assert report_pages.decode(uri).size[0] > 100
    assert "Not blessed: auc changed by -0.3957" in html.unescape(page_html)
    assert "Tuning" in page_html and "03" in page_html


def test_a_run_stopped_at_the_gate_shows_only_what_it_reached():
    uris = {"statistics": URIS["statistics"], "anomalies": URIS["anomalies"]}
    page = sections.collect_page(
        "t",
        {"components": [{"id": "DataGate", "state": "failed"}]},
        FACTS,
        uris,
        gate_stopped=True,
        error="the gate's report",
    )
    page_html = html.unescape(render.render_page(page))
    assert '<section id="data">' in page_html and '<section id="anomalies">' in page_html
    for key in ("training", "evaluation", "pushed"):
        assert f'<section id="{key}">' not in page_html
    assert "Stopped at the data gate: 2 anomalies" in page_html
    assert gate_report.WHAT_TO_DO in page_html


def test_an_unreadable_artifact_is_named_on_the_page(tmp_path):
    page = sections.collect_page("t", {"components": []}, FACTS, {"statistics": str(tmp_path)})
    (error,) = page["errors"]
    assert error == f"statistics: {tmp_path}: no Split-*/FeatureStats.pb in this folder."
    assert page["data"] is None
    assert "could not read statistics" in html.unescape(render.render_page(page))


def test_charts_are_pngs():
    uri = charts.training_curves({"loss": [[0, 0.7], [100, 0.2]]}, {"loss": [[100, 0.3]]})
    assert [c["metric"] for c in uri] == ["loss"]
    assert report_pages.decode(uri[0]["image"]).format == "PNG"
    assert charts.timeline([]) is None
    assert charts.reliability_diagram({}) is None


# --- the component's executor ----------------------------------------------------------------


def test_executor_writes_the_page_and_kfp_ui_metadata(tmp_path, saved_model):
    spec = component.RunReport(
        family="taxi",
        data_root="gs://data/taxi",
        blocking_kinds=FACTS["blocking_kinds"],
        hparam_defaults=FACTS["hparam_defaults"],
        hparam_overrides={},
        train_steps=201,
        task=FACTS["task"],
        label_sources=FACTS["label_sources"],
        example_template=FACTS["example_template"],
        ui_metadata_path=str(tmp_path / "mlpipeline-ui-metadata.json"),
    )
    exec_properties = dict(spec.exec_properties)
    types = {
        "statistics": standard_artifacts.ExampleStatistics,
        "anomalies": standard_artifacts.ExampleAnomalies,
        "model_run": standard_artifacts.ModelRun,
        "evaluation": standard_artifacts.ModelEvaluation,
        "blessing": standard_artifacts.ModelBlessing,
    }
    inputs = {role: [report_pages.artifact(kind, URIS[role])] for role, kind in types.items()}
    inputs["pushed_model"] = [
        report_pages.artifact(
            standard_artifacts.PushedModel,
            str(tmp_path / "push"),
            pushed=1,
            forced=1,
            pushed_destination=saved_model,
            pushed_version="1700000000",
        )
    ]
    output = report_pages.artifact(component.RunReportPage, str(tmp_path / "report"))
    executor.Executor().Do(inputs, {"report": [output]}, exec_properties)

    with open(tmp_path / "report" / executor.PAGE_FILE) as page_file:
        page_html = page_file.read()
    assert "Run report: taxi" in page_html and "gs://data/taxi" in page_html
    assert 'id="pushed"' in page_html and "1700000000" in page_html
    assert output.get_string_custom_property("outcome").startswith(
        "Not blessed (auc changed by -0.3957 against the baseline, more than the allowed "
        "-0.0100), but pushed anyway by an operator's override as version 1700000000."
    )
    with open(tmp_path / "mlpipeline-ui-metadata.json") as ui_file:
        ui = json.load(ui_file)
    assert ui["outputs"] == [{"type": "web-app", "storage": "inline", "source": page_html}]


@pytest.mark.parametrize("tuned_in_this_run", [True, False])
def test_a_tuned_kubeflow_runs_page_shows_the_values_trained_with_and_the_trials(
    tmp_path, tuned_in_this_run
):
    """The RunReport step reads what the Trainer took (its HyperParameters input and its
    own record) and, when the Tuner ran in this run, the Tuner's trials."""
    spec = component.RunReport(
        family="taxi",
        data_root="gs://data/taxi",
        blocking_kinds=FACTS["blocking_kinds"],
        hparam_defaults={"learning_rate": 0.003, "dropout": 0.1},
        hparam_overrides={},
        train_steps=201,
        task=FACTS["task"],
        label_sources=FACTS["label_sources"],
        example_template=FACTS["example_template"],
    )
    best = tmp_path / "best"
    best.mkdir()
    (best / tuning.BEST_HYPERPARAMETERS_FILE).write_text(
        json.dumps({"values": {"learning_rate": 0.01, "dropout": 0.2}})
    )
    inputs = {
        "model_run": [
            report_pages.artifact(
                standard_artifacts.ModelRun,
                _model_run_that_recorded(tmp_path, {"learning_rate": 0.01, "dropout": 0.2}),
            )
        ],
        "hyperparameters": [report_pages.artifact(standard_artifacts.HyperParameters, str(best))],
    }
    if tuned_in_this_run:
        inputs["tuner_results"] = [
            report_pages.artifact(standard_artifacts.TunerResults, URIS["tuner_results"])
        ]
    output = report_pages.artifact(component.RunReportPage, str(tmp_path / "report"))
    executor.Executor().Do(inputs, {"report": [output]}, dict(spec.exec_properties))

    with open(tmp_path / "report" / executor.PAGE_FILE) as page_file:
        text = re.sub(r"<[^>]+>", " ", page_file.read())
    source = executor.TUNED_IN_THIS_RUN if tuned_in_this_run else executor.TUNED_EARLIER
    for name, value in (("learning_rate", "0.01"), ("dropout", "0.2")):
        assert re.search(rf"{name}\s+{value}\s+{source}", text), name
    assert "family default" not in text
    assert ("ValueError: NaN loss" in text) == tuned_in_this_run
    assert ("No Tuner ran" in text) != tuned_in_this_run


def test_the_page_artifact_type_is_importable_by_its_type_name():
    from tfx.utils import import_utils

    assert (
        import_utils.import_class_by_path(component.RunReportPage.TYPE_NAME)
        is component.RunReportPage
    )


def test_local_report_facts_name_the_family_and_its_schema():
    template = report_facts.family_facts(taxi.CONTRACT)["example_template"]
    assert 'load_schema("data/taxi/schema.pbtxt")' in template
    assert "from pipeline.serving import client as serving" in template


def test_a_local_report_takes_the_training_length_of_its_own_runs_summary(tmp_path):
    from pipeline.results import report

    path = tmp_path / report.SUMMARY_FILE
    path.write_text(json.dumps({"run_id": "r1", "trained_examples": 640, "epochs": 2.1}))
    assert report.training_length(str(path), "r1") == {"trained_examples": 640, "epochs": 2.1}
    assert report.training_length(str(path), "r2") == {}  # Another run's summary.
    assert report.training_length(str(tmp_path / "none.json"), "r1") == {}
